//! Static assets embedded in the binary (`assets/`): our stylesheet and script, and htmx
//! (vendored; see `assets/README.md`). They are served as `/assets/<name>.<hash>.<ext>`, the
//! hash being the content's sha256 prefix, with a year-long immutable cache; a page always
//! names the current hash, so a new binary never serves a stale file.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Logical name (`app.css`).
    pub name: &'static str,
    /// Content type.
    pub content_type: &'static str,
    /// The bytes.
    pub body: &'static [u8],
    /// Hex sha256 prefix of the bytes.
    pub hash: String,
    /// The URL pages use (`/assets/app.3f2a….css`).
    pub url: String,
}

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/app.css"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/app.js"),
    ),
    (
        "htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/htmx.min.js"),
    ),
];

/// Every asset.
pub fn all() -> &'static [Asset] {
    static A: OnceLock<Vec<Asset>> = OnceLock::new();
    A.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, ct, body)| {
                let d = Sha256::digest(body);
                let hash: String = d[..6].iter().map(|b| format!("{b:02x}")).collect();
                let (stem, ext) = name.rsplit_once('.').unwrap_or((name, ""));
                Asset {
                    name,
                    content_type: ct,
                    body,
                    url: format!("/assets/{stem}.{hash}.{ext}"),
                    hash,
                }
            })
            .collect()
    })
}

/// The URL of an asset by logical name.
pub fn url(name: &str) -> &'static str {
    all()
        .iter()
        .find(|a| a.name == name)
        .map(|a| a.url.as_str())
        .unwrap_or("/assets/missing")
}

/// `GET /assets/{file}`: the hashed name is cached for a year; the bare name too, briefly.
pub async fn serve(Path(file): Path<String>, headers: HeaderMap) -> Response {
    let found = all().iter().find_map(|a| {
        if a.url.rsplit('/').next() == Some(file.as_str()) {
            Some((a, true))
        } else if a.name == file {
            Some((a, false))
        } else {
            None
        }
    });
    let Some((a, hashed)) = found else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{}\"", a.hash);
    let cache = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=300"
    };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut r = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        a.body.into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}
