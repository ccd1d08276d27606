//! The web UI's static files, embedded in the binary and served under
//! content-hashed URLs (`/assets/app.3f9c2a1b.css`) with a year-long,
//! immutable cache lifetime: a changed file gets a new URL, so browsers
//! never hold a stale one. Responses are compressed by the web router's
//! compression layer.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its URL, with the content hash.
    pub url: String,
    body: &'static [u8],
    content_type: &'static str,
}

/// The files, by logical name (`app.css`).
const FILES: &[(&str, &[u8], &str)] = &[
    (
        "app.css",
        include_bytes!("../../assets/app.css"),
        "text/css; charset=utf-8",
    ),
    (
        "app.js",
        include_bytes!("../../assets/app.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "htmx.js",
        include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "htmx-sse.js",
        include_bytes!("../../assets/vendor/htmx-ext-sse-2.2.4.js"),
        "text/javascript; charset=utf-8",
    ),
    (
        "favicon.svg",
        include_bytes!("../../assets/favicon.svg"),
        "image/svg+xml",
    ),
];

/// The embedded files are constants of the binary: their table is built
/// once, on first use.
static ASSETS: LazyLock<Assets> = LazyLock::new(Assets::build);

/// Every embedded file, by name and by hashed URL.
#[derive(Debug)]
pub struct Assets {
    by_name: HashMap<&'static str, Asset>,
    by_file: HashMap<String, &'static str>,
}

impl Assets {
    fn build() -> Assets {
        let mut by_name = HashMap::new();
        let mut by_file = HashMap::new();
        for (name, body, content_type) in FILES {
            let mut h = DefaultHasher::new();
            body.hash(&mut h);
            let hash = format!("{:016x}", h.finish());
            let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
            let file = format!("{stem}.{}.{ext}", &hash[..10]);
            by_file.insert(file.clone(), *name);
            by_name.insert(
                *name,
                Asset {
                    url: format!("/assets/{file}"),
                    body,
                    content_type,
                },
            );
        }
        Assets { by_name, by_file }
    }
}

/// The hashed URL of the embedded file `name` (`app.css`); templates link
/// through this. An unknown name gives a URL that answers 404.
pub fn url(name: &str) -> &'static str {
    ASSETS
        .by_name
        .get(name)
        .map(|a| a.url.as_str())
        .unwrap_or("/assets/missing")
}

/// `GET /assets/{file}`: the file, cacheable for a year.
pub async fn serve(Path(file): Path<String>) -> Response {
    let Some(asset) = ASSETS
        .by_file
        .get(file.as_str())
        .and_then(|name| ASSETS.by_name.get(name))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut res = asset.body.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_has_a_hashed_url_that_maps_back() {
        for (name, body, _) in FILES {
            let u = url(name);
            assert!(u.starts_with("/assets/") && u != "/assets/missing", "{u}");
            let file = u.trim_start_matches("/assets/");
            assert_eq!(ASSETS.by_file.get(file), Some(name));
            assert!(!body.is_empty(), "{name} is empty");
        }
        assert_eq!(url("nope.css"), "/assets/missing");
    }
}
