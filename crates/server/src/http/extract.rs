//! Extractors whose rejections are [`ApiError`]s, so that a malformed body, a
//! wrong type, an unknown field, a bad id or a bad query string answers in the
//! one JSON error shape, naming the field, instead of axum's plain text.

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

/// Deserialises JSON: a syntax error is a malformed body; a value that does not
/// fit (type, unknown or missing field, bad enum word) is a validation error
/// naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Syntax first, so that a truncated body is "malformed" even when a field
    // before the cut would already fail validation.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::MalformedBody(format!("malformed JSON: {e}")))?;
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
            ApiError::Validation {
                field,
                message: text,
            }
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
                    .or_else(|| (path != "." && !path.is_empty()).then_some(path));
                ApiError::InvalidQuery {
                    field,
                    message: format!("invalid query string: {text}"),
                }
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
