//! HTTP-level tests of the API, in process (`tower::ServiceExt::oneshot`) against a real
//! store: SQLite always, PostgreSQL too when `AIGOV_TEST_DATABASE_URL` is set (for the
//! end-to-end flows).

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod api;
mod auth;
mod config;
mod lifecycle;
mod openapi;
mod permissions;
mod reports;
mod ui;

use std::sync::Arc;

use aigov_core::Timestamp;
use aigov_core::access::Role;
use aigov_core::clock::ManualClock;
use aigov_server::config::Config;
use aigov_server::{AppState, router};
use aigov_store::users::NewUser;
use aigov_store::{OpenOptions, PasswordCost};
use axum::Router;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

pub const PASSWORD: &str = "a long enough password";

/// A running app over a fresh store, with one user and token per role.
#[allow(missing_debug_implementations)]
pub struct App {
    pub router: Router,
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    pub tokens: Vec<(Role, String)>,
    _dir: tempfile::TempDir,
}

pub async fn app() -> App {
    app_with(None).await
}

pub async fn app_with(database_url: Option<String>) -> App {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-21T09:00:00Z").unwrap(),
    ));
    let opts = OpenOptions {
        data_dir: dir.path().to_path_buf(),
        database_url,
        clock: clock.clone(),
        secret_key: None,
        password_cost: PasswordCost::Low,
        create: true,
        max_connections: 4,
    };
    let store = aigov_store::open(&opts).await.unwrap();
    let mut tokens = Vec::new();
    for r in Role::ALL {
        let u = store
            .create_user(
                "test",
                NewUser {
                    username: r.as_str().replace('_', "-"),
                    display_name: None,
                    role: r,
                    password: PASSWORD.into(),
                },
            )
            .await
            .unwrap();
        let (_, secret) = store
            .create_token(
                "test",
                &u,
                "test",
                r,
                clock_now(&clock).plus_seconds(86_400 * 30),
            )
            .await
            .unwrap();
        tokens.push((r, secret));
    }
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        max_body_bytes: 64 * 1024,
        max_import_bytes: 256 * 1024,
        ..Config::default()
    };
    let state = AppState::new(store, config).await.unwrap();
    App {
        router: router(state.clone()),
        state,
        clock,
        tokens,
        _dir: dir,
    }
}

fn clock_now(c: &ManualClock) -> Timestamp {
    use aigov_core::Clock;
    c.now()
}

/// Postgres-backed app when configured.
pub async fn pg_app() -> Option<App> {
    let url = std::env::var("AIGOV_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    use sqlx_lite::schema_url;
    Some(app_with(Some(schema_url(&url).await)).await)
}

/// Per-test PostgreSQL schemas (not dropped here: the CI database is dropped after the run).
mod sqlx_lite {
    pub async fn schema_url(url: &str) -> String {
        let mut r = [0u8; 6];
        getrandom::fill(&mut r).unwrap();
        let schema = format!(
            "aigov_srv_{}",
            r.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}options=-c%20search_path%3D{schema}")
    }
}

impl App {
    pub fn token(&self, r: Role) -> &str {
        &self.tokens.iter().find(|(x, _)| *x == r).unwrap().1
    }

    pub async fn send(&self, req: Request<Body>) -> Response<Body> {
        self.router.clone().oneshot(req).await.unwrap()
    }

    /// A request as `role` (bearer token).
    pub async fn call(
        &self,
        role: Role,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(role, method, uri, body, &[]).await
    }

    pub async fn call_with(
        &self,
        role: Role,
        method: &str,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut b = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token(role)));
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = match body {
            Some(v) => b
                .header("content-type", "application/json")
                .body(Body::from(v.to_string()))
                .unwrap(),
            None => b.body(Body::empty()).unwrap(),
        };
        let r = self.send(req).await;
        let status = r.status();
        (status, json_body(r).await)
    }
}

/// The body as JSON (Null when empty, a string when not JSON).
pub async fn json_body(r: Response<Body>) -> Value {
    let b = r.into_body().collect().await.unwrap().to_bytes();
    if b.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(&b)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&b).into_owned()))
}

pub async fn text_body(r: Response<Body>) -> String {
    String::from_utf8(r.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap()
}
