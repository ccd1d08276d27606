//! The OpenAPI operations of a resource, built from its types and its
//! [`Docs`], in the words the API uses for every record.

use neuracrm_actions::Access;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
    Paths, PathsBuilder,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder, Schema};
use utoipa::{IntoParams, ToSchema};

use super::Resource;
use crate::http::openapi::error_response;

/// The words of a resource's OpenAPI entries; everything else in them
/// follows from the types. Built with [`Docs::new`] from the record's names;
/// the rest has defaults in the API's usual words ("Lists the organization's
/// leads.", "One lead.", a 400 "Bad query", 422s "Invalid field or
/// reference", no 409), which a resource overrides where it differs.
#[derive(Debug, Clone, Copy)]
pub struct Docs {
    singular: &'static str,
    plural: &'static str,
    place: Option<(&'static str, &'static str, &'static str)>,
    summaries: Summaries,
    bad_query: &'static str,
    invalid: [&'static str; 2],
    conflicts: Conflicts,
}

/// Summaries of the five operations; `None` keeps the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summaries {
    /// Of the list.
    pub list: Option<&'static str>,
    /// Of the creation.
    pub create: Option<&'static str>,
    /// Of the read of one.
    pub get: Option<&'static str>,
    /// Of the change.
    pub update: Option<&'static str>,
    /// Of the deletion.
    pub delete: Option<&'static str>,
}

/// When a write answers 409, and why.
#[derive(Debug, Clone, Copy, Default)]
pub struct Conflicts {
    /// Of a creation.
    pub create: Option<&'static str>,
    /// Of a change.
    pub update: Option<&'static str>,
    /// Of a deletion.
    pub delete: Option<&'static str>,
}

impl Docs {
    /// The docs of a record called `singular` (in operation ids and "No such
    /// …"), served at `/api/{plural}` under the tag `plural`.
    pub const fn new(singular: &'static str, plural: &'static str) -> Docs {
        Docs {
            singular,
            plural,
            place: None,
            summaries: SUMMARIES,
            bad_query: "Bad query",
            invalid: ["Invalid field or reference"; 2],
            conflicts: Conflicts {
                create: None,
                update: None,
                delete: None,
            },
        }
    }

    /// Served at `path` under `tag`, its path id described as `id`.
    pub const fn at(self, path: &'static str, tag: &'static str, id: &'static str) -> Docs {
        Docs {
            place: Some((path, tag, id)),
            ..self
        }
    }

    /// Summaries that differ from the defaults.
    pub const fn summaries(self, summaries: Summaries) -> Docs {
        Docs { summaries, ..self }
    }

    /// The list's 400.
    pub const fn bad_query(self, bad_query: &'static str) -> Docs {
        Docs { bad_query, ..self }
    }

    /// The 422s of creation and change.
    pub const fn invalid(self, create: &'static str, update: &'static str) -> Docs {
        Docs {
            invalid: [create, update],
            ..self
        }
    }

    /// The 409s.
    pub const fn conflicts(self, conflicts: Conflicts) -> Docs {
        Docs { conflicts, ..self }
    }

    /// Path, tag and the path id's description.
    fn place(&self) -> (String, &'static str, String) {
        match self.place {
            Some((path, tag, id)) => (path.into(), tag, id.into()),
            None => {
                let mut c = self.singular.chars();
                let first: String = c
                    .next()
                    .map(|f| f.to_uppercase().collect())
                    .unwrap_or_default();
                (
                    format!("/api/{}", self.plural),
                    self.plural,
                    format!("{first}{} id", c.as_str()),
                )
            }
        }
    }
}

/// The schemas `R` refers to, its collection path and its item path.
pub(super) fn operations<R: Resource>() -> (Vec<(String, RefOr<Schema>)>, Paths, Paths) {
    let d = R::DOCS;
    let (path, tag, id_doc) = d.place();
    let (one, many, sum) = (d.singular, d.plural, d.summaries);
    let mut schemas = Vec::new();
    collect::<R::Out>(&mut schemas);
    collect::<R::Page>(&mut schemas);
    collect::<R::Create>(&mut schemas);
    collect::<R::PatchDoc>(&mut schemas);
    let no_such = format!("No such {one}");
    let read_403 = forbidden(R::READ);
    let write_403 = forbidden(R::WRITE).or(read_403);
    let op = |id: String, summary: Option<&str>, default: String| Op {
        b: OperationBuilder::new()
            .tag(tag)
            .summary(Some(summary.map_or(default, str::to_string)))
            .operation_id(Some(id))
            .security(SecurityRequirement::new::<_, _, String>("bearer", [])),
        id_doc: id_doc.clone(),
    };

    let list = op(
        format!("list_{many}"),
        sum.list,
        format!("Lists the organization's {many}."),
    )
    .params(R::Query::into_params(|| Some(ParameterIn::Query)))
    .ok(200, ref_of::<R::Page>())
    .error(400, d.bad_query)
    .error(401, "No valid token")
    .maybe(403, read_403);
    let create = op(
        format!("create_{one}"),
        sum.create,
        format!("Creates a {one}."),
    )
    .body(ref_of::<R::Create>())
    .ok(201, ref_of::<R::Out>())
    .error(400, "Malformed body")
    .error(401, "No valid token")
    .maybe(403, write_403)
    .maybe(409, d.conflicts.create)
    .error(422, d.invalid[0]);
    let get = op(format!("get_{one}"), sum.get, format!("One {one}."))
        .id()
        .ok(200, ref_of::<R::Out>())
        .error(400, "Bad id")
        .error(401, "No valid token")
        .maybe(403, read_403)
        .error(404, &no_such);
    let update = op(
        format!("update_{one}"),
        sum.update,
        format!("Changes a {one} (absent fields stay, `null` clears)."),
    )
    .id()
    .body(ref_of::<R::PatchDoc>())
    .ok(200, ref_of::<R::Out>())
    .error(400, "Malformed body or id")
    .error(401, "No valid token")
    .maybe(403, write_403)
    .error(404, &no_such)
    .maybe(409, d.conflicts.update)
    .error(422, d.invalid[1]);
    let delete = op(
        format!("delete_{one}"),
        sum.delete,
        format!("Deletes a {one}."),
    )
    .id()
    .response(204, ResponseBuilder::new().description("Deleted").build())
    .error(400, "Bad id")
    .error(401, "No valid token")
    .maybe(403, write_403)
    .error(404, &no_such)
    .maybe(409, d.conflicts.delete);

    let item_path = format!("{path}/{{id}}");
    let collection = item_of([(HttpMethod::Get, list), (HttpMethod::Post, create)]);
    let item = item_of([
        (HttpMethod::Get, get),
        (HttpMethod::Patch, update),
        (HttpMethod::Delete, delete),
    ]);
    (
        schemas,
        PathsBuilder::new().path(path, collection).build(),
        PathsBuilder::new().path(item_path, item).build(),
    )
}

/// One path's operations.
fn item_of<const N: usize>(ops: [(HttpMethod, Op); N]) -> PathItem {
    let mut item: Option<PathItem> = None;
    for (method, op) in ops {
        let next = PathItem::new(method, op.build());
        match &mut item {
            Some(i) => i.merge_operations(next),
            None => item = Some(next),
        }
    }
    item.unwrap_or_default()
}

/// The 403 an access level can answer with, in the words the API uses.
fn forbidden(access: Access) -> Option<&'static str> {
    match access {
        Access::Anyone => None,
        Access::Managers => Some("A rep"),
        Access::Admins => Some("Not an admin"),
    }
}

/// Registers `T`'s schema and those it refers to.
fn collect<T: ToSchema>(schemas: &mut Vec<(String, RefOr<Schema>)>) {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
}

fn ref_of<T: ToSchema>() -> Ref {
    Ref::from_schema_name(T::name())
}

/// One operation being described.
struct Op {
    b: OperationBuilder,
    id_doc: String,
}

impl Op {
    fn with(self, f: impl FnOnce(OperationBuilder) -> OperationBuilder) -> Op {
        Op {
            b: f(self.b),
            id_doc: self.id_doc,
        }
    }

    fn params(self, params: Vec<Parameter>) -> Op {
        self.with(|b| b.parameters(Some(params)))
    }

    fn id(self) -> Op {
        let id = ParameterBuilder::new()
            .name("id")
            .parameter_in(ParameterIn::Path)
            .description(Some(self.id_doc.clone()))
            .required(Required::True)
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64))),
            ))
            .build();
        self.with(|b| b.parameter(id))
    }

    fn body(self, schema: Ref) -> Op {
        let body = RequestBodyBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .required(Some(Required::True))
            .build();
        self.with(|b| b.request_body(Some(body)))
    }

    fn response(self, status: u16, response: Response) -> Op {
        self.with(|b| b.response(status.to_string(), response))
    }

    fn ok(self, status: u16, schema: Ref) -> Op {
        let res = ResponseBuilder::new()
            .content(
                "application/json",
                ContentBuilder::new().schema(Some(schema)).build(),
            )
            .build();
        self.response(status, res)
    }

    fn error(self, status: u16, description: &str) -> Op {
        self.response(status, error_response(description))
    }

    fn maybe(self, status: u16, description: Option<&str>) -> Op {
        match description {
            Some(d) => self.error(status, d),
            None => self,
        }
    }

    fn build(self) -> Operation {
        self.b.build()
    }
}

/// Every summary at its default, for `Summaries { delete: Some(..), ..SUMMARIES }`.
pub const SUMMARIES: Summaries = Summaries {
    list: None,
    create: None,
    get: None,
    update: None,
    delete: None,
};
