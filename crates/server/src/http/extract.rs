//! Extractors whose rejections are [`ApiError`]s, so that a malformed body, a
//! wrong type, an unknown field, a bad id or a bad query string answers in the
//! one JSON error shape, naming the field, instead of axum's plain text.
//!
//! The messages are for people: serde's, which speak of Rust types
//! (`invalid type: map, expected u64`, `invalid length 2, expected struct
//! CreateContact with 9 elements`), are rewritten by [`in_words`] into a
//! sentence that names the field and says what was expected
//! (`value_cents must be a whole number (got "lots")`, `body must be a JSON
//! object`). The domain's own deserialisers say only the end of such a
//! sentence (`must fall between 1900-01-01 and 2200-12-31`), and the field is
//! put in front.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// A JSON body (`application/json`), deserialised with the path of the
/// offending field on error. Also a JSON response.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_content_type(req.headers(), "application/json", "JSON")?;
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(Json)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Checks that the body is declared as `mime` (parameters such as `charset`
/// allowed).
pub fn require_content_type(
    headers: &axum::http::HeaderMap,
    mime: &str,
    name: &'static str,
) -> Result<(), ApiError> {
    let ok = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(mime));
    if ok {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(name))
    }
}

/// Reads the whole body (bounded by the body-limit layer).
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::MalformedBody("the request body could not be read".into())
        }
    })
}

/// Deserialises JSON: a syntax error is a malformed body; a body that is not
/// a JSON object, or a value that does not fit (type, unknown or missing
/// field, bad enum word), is a validation error naming the field, in words.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so that a truncated body is "malformed" even when a field
    // before the cut would already fail validation.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
    // Every body of this API is a JSON object. serde would take an array for
    // a struct (its fields in order) and speak of Rust types about anything
    // else; a person is told what to send.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::validation("body", "body must be a JSON object"));
    }
    // PostgreSQL text cannot hold NUL; refuse it here, naming the field, on
    // every backend alike. Only bodies that spell it pay for the walk.
    if bytes.windows(6).any(|w| w == b"\\u0000") {
        let value: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
        if let Some(field) = nul_path(&value, String::new()) {
            return Err(ApiError::validation(
                if field.is_empty() {
                    "body".into()
                } else {
                    field
                },
                "text must not contain NUL characters",
            ));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        json_error(path, inner)
    })?;
    de.end()
        .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
    Ok(value)
}

fn json_error(path: String, e: serde_json::Error) -> ApiError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::MalformedBody(format!("malformed JSON: {e}"))
        }
        Category::Data => {
            let text = strip_position(&e.to_string());
            let at_root = path == "." || path.is_empty();
            let field = if let Some(f) = quoted_field(&text, "missing field `") {
                // The path names the object that lacks the field.
                if at_root { f } else { format!("{path}.{f}") }
            } else if !at_root {
                path
            } else {
                quoted_field(&text, "unknown field `").unwrap_or_else(|| "body".into())
            };
            let message = in_words(&field, &text);
            ApiError::Validation { field, message }
        }
    }
}

/// The path of the first string (or key) holding a NUL character.
fn nul_path(v: &serde_json::Value, path: String) -> Option<String> {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_string()
        } else {
            format!("{path}.{k}")
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(path),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, join(&i.to_string()))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            if k.contains('\0') {
                Some(join(k))
            } else {
                nul_path(x, join(k))
            }
        }),
        _ => None,
    }
}

/// serde_json appends " at line L column C"; the field says where already.
fn strip_position(s: &str) -> String {
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s.to_string(),
    }
}

/// serde's message `text` about `field` as a sentence in words, naming the
/// field and what was expected instead of a Rust type (see the module doc).
/// A message that is already a sentence (a domain error such as `email is
/// not a valid e-mail address`) is kept as it is.
pub fn in_words(field: &str, text: &str) -> String {
    let name = field.rsplit('.').next().unwrap_or(field);
    if let Some(rest) = text.strip_prefix("missing field `") {
        let missing = rest.split('`').next().unwrap_or(rest);
        return format!("{missing} is required (missing field)");
    }
    if let Some(rest) = text.strip_prefix("unknown field `") {
        let (unknown, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return match backticked_list(expected) {
            Some(list) => format!("{unknown} is an unknown field; expected one of: {list}"),
            None => format!("{unknown} is an unknown field"),
        };
    }
    if let Some(rest) = text.strip_prefix("duplicate field `") {
        let twice = rest.split('`').next().unwrap_or(rest);
        return format!("{twice} is given more than once");
    }
    if let Some(rest) = text.strip_prefix("unknown variant `") {
        let (word, expected) = rest.split_once('`').unwrap_or((rest, ""));
        return match backticked_list(expected) {
            Some(list) => format!("{name}: unknown value '{word}', expected one of: {list}"),
            None => format!("{name}: unknown value '{word}'"),
        };
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Some((given, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "{field} must be {} (got {})",
                expected_in_words(expected),
                given_in_words(given)
            );
        }
    }
    if let Some(rest) = text.strip_prefix("invalid length ")
        && let Some((_, expected)) = rest.split_once(", expected ")
    {
        return format!("{field} must be {}", expected_in_words(expected));
    }
    // Numbers and booleans of a query string (their parsers' own words).
    match text {
        "invalid digit found in string"
        | "cannot parse integer from empty string"
        | "number too large to fit in target type"
        | "number too small to fit in target type" => {
            return format!("{field} must be a whole number");
        }
        "invalid float literal" => return format!("{field} must be a number"),
        "provided string was not `true` or `false`" => {
            return format!("{field} must be true or false");
        }
        _ => {}
    }
    // The end of a sentence about the field (the domain's deserialisers).
    if text.starts_with("must ") || text.starts_with("is ") {
        return format!("{field} {text}");
    }
    text.to_string()
}

/// What serde's `expected ...` says, in words: `i64` is "a whole number",
/// `struct CreateDeal` "a JSON object"; words already meant for people
/// (`a date in the form YYYY-MM-DD`) are kept.
fn expected_in_words(expected: &str) -> String {
    let e = expected.trim();
    let words = match e {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a borrowed string" | "a character" | "string" => "text",
        "a sequence" | "sequence" => "a JSON array",
        "a map" | "map" => "a JSON object",
        "unit" => "null",
        "option" => "a value or null",
        "a formatted date string" => "a date in the form YYYY-MM-DD",
        "an RFC 3339 formatted date and time string" => {
            "a date and time in RFC 3339 form, like 2026-03-31T12:00:00Z"
        }
        _ if e.starts_with("struct ") || e.starts_with("a map") => "a JSON object",
        _ if e.starts_with("tuple") || e.starts_with("a tuple") => "a JSON array",
        _ if e.starts_with("enum ") || e.starts_with("variant ") => "one of the accepted words",
        _ if e.contains("::") || e.contains('<') => "a value of another type",
        _ => e,
    };
    words.to_string()
}

/// What serde's `invalid type: ...` says was given, in words.
fn given_in_words(given: &str) -> String {
    let g = given.trim();
    for prefix in ["integer `", "floating point `", "boolean `", "character `"] {
        if let Some(v) = g.strip_prefix(prefix) {
            return v.trim_end_matches('`').to_string();
        }
    }
    if let Some(v) = g.strip_prefix("string ") {
        return v.to_string();
    }
    match g {
        "map" => "an object".into(),
        "sequence" => "an array".into(),
        "unit" | "null" => "null".into(),
        other => other.to_string(),
    }
}

/// `` `a`, `b` or `c` `` after serde's "expected one of" (or "expected"), as
/// `a, b, c`; `None` when serde said there are none.
fn backticked_list(expected: &str) -> Option<String> {
    let words: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    (!words.is_empty()).then(|| words.join(", "))
}

fn quoted_field(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)? + prefix.len();
    let len = text[start..].find('`')?;
    Some(text[start..start + len].to_string())
}

/// Query parameters, deserialised with the offending parameter named on error.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let q = parts.uri.query().unwrap_or_default();
        if let Some((k, _)) =
            form_urlencoded::parse(q.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(ApiError::InvalidQuery {
                field: Some(k.replace('\0', "")),
                message: "query parameters must not contain NUL characters".into(),
            });
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let path = e.path().to_string();
                let text = e.into_inner().to_string();
                let field = quoted_field(&text, "unknown field `")
                    .or_else(|| quoted_field(&text, "missing field `"))
                    .or_else(|| (path != "." && !path.is_empty()).then_some(path));
                let message = in_words(field.as_deref().unwrap_or("the query string"), &text);
                ApiError::InvalidQuery { field, message }
            })
    }
}

/// One numeric id from the path (`/api/leads/{id}`), converted to a typed id.
#[derive(Debug, Clone, Copy)]
pub struct Id<T>(pub T);

impl<T, S> FromRequestParts<S> for Id<T>
where
    T: From<i64> + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::InvalidPath("the path is malformed".into()))?;
        raw.parse::<i64>()
            .map(|v| Id(T::from(v)))
            .map_err(|_| ApiError::InvalidPath("id must be an integer".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        title: String,
        count: Option<u64>,
        value_cents: Option<neuracrm_domain::Cents>,
        when: Option<neuracrm_domain::BoundedDate>,
        flag: Option<bool>,
        tags: Option<Vec<String>>,
    }

    fn message(json: &str) -> (String, String) {
        match parse_json::<Body>(json.as_bytes()) {
            Err(ApiError::Validation { field, message }) => (field, message),
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn serde_messages_are_rewritten_in_words_naming_the_field() {
        for (json, field, want) in [
            ("[1, 2]", "body", "body must be a JSON object"),
            ("5", "body", "body must be a JSON object"),
            ("null", "body", "body must be a JSON object"),
            (r#"{"title": 5}"#, "title", "title must be text (got 5)"),
            (
                r#"{"title": "t", "count": {}}"#,
                "count",
                "count must be a whole number, 0 or more (got an object)",
            ),
            (
                r#"{"title": "t", "count": -1}"#,
                "count",
                "count must be a whole number, 0 or more (got -1)",
            ),
            (
                r#"{"title": "t", "value_cents": "lots"}"#,
                "value_cents",
                r#"value_cents must be a whole number of cents (got "lots")"#,
            ),
            (
                r#"{"title": "t", "value_cents": 1000000000000001}"#,
                "value_cents",
                "value_cents must be at most 1000000000000000 cents (10^13 currency units)",
            ),
            (
                r#"{"title": "t", "when": "0001-01-01"}"#,
                "when",
                "when must fall between 1900-01-01 and 2200-12-31",
            ),
            (
                r#"{"title": "t", "when": "soon"}"#,
                "when",
                r#"when must be a date in the form YYYY-MM-DD (got "soon")"#,
            ),
            (
                r#"{"title": "t", "flag": "yes"}"#,
                "flag",
                r#"flag must be true or false (got "yes")"#,
            ),
            (
                r#"{"title": "t", "tags": "a"}"#,
                "tags",
                r#"tags must be a JSON array (got "a")"#,
            ),
            ("{}", "title", "title is required (missing field)"),
        ] {
            assert_eq!(
                message(json),
                (field.to_string(), want.to_string()),
                "{json}"
            );
        }
        let (field, m) = message(r#"{"title": "t", "nickname": 1}"#);
        assert_eq!(field, "nickname");
        assert!(
            m.starts_with("nickname is an unknown field; expected one of: title, count"),
            "{m}"
        );
    }

    #[test]
    fn query_parser_messages_are_in_words() {
        assert_eq!(
            in_words("limit", "invalid digit found in string"),
            "limit must be a whole number"
        );
        assert_eq!(
            in_words("order", "unknown variant `up`, expected `asc` or `desc`"),
            "order: unknown value 'up', expected one of: asc, desc"
        );
        assert_eq!(
            in_words("email", "email is not a valid e-mail address"),
            "email is not a valid e-mail address",
            "a sentence of the domain is kept"
        );
    }
}
