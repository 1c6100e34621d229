//! The store's contract tests: every scenario runs on SQLite, and on PostgreSQL when
//! `AIGOV_TEST_DATABASE_URL` is set (each test in a schema of its own, dropped afterwards).

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod audit;
mod catalogs;
mod governance;
mod identity;
mod inventory;
mod reports;

use std::sync::Arc;

use aigov_core::Timestamp;
use aigov_core::access::Role;
use aigov_core::clock::ManualClock;
use aigov_core::records::User;
use aigov_store::users::NewUser;
use aigov_store::{OpenOptions, PasswordCost, Store};

/// A store under test, with its clock and whatever keeps it alive.
#[allow(missing_debug_implementations)]
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub name: &'static str,
    pg_schema: Option<(String, String)>,
}

impl Harness {
    pub fn clock_now(&self) -> Timestamp {
        use aigov_core::Clock;
        self.clock.now()
    }

    pub async fn admin(&self) -> User {
        self.store
            .create_user(
                "cli:test",
                NewUser {
                    username: "admin".into(),
                    display_name: None,
                    role: Role::Admin,
                    password: "correct horse battery".into(),
                },
            )
            .await
            .unwrap()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some((url, schema)) = self.pg_schema.take() {
            // Best effort: drop the schema on a fresh runtime (we may be inside one).
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut c) = sqlx::PgConnection::connect(&url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                            "DROP SCHEMA IF EXISTS {schema} CASCADE"
                        )))
                        .execute(&mut c)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

pub fn start() -> Timestamp {
    Timestamp::parse("2026-11-21T09:00:00Z").unwrap()
}

fn options(dir: &std::path::Path, clock: Arc<ManualClock>) -> OpenOptions {
    OpenOptions {
        data_dir: dir.to_path_buf(),
        database_url: None,
        clock,
        secret_key: None,
        password_cost: PasswordCost::Low,
        create: true,
        max_connections: 4,
    }
}

pub async fn sqlite() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let store = aigov_store::open(&options(dir.path(), clock.clone()))
        .await
        .unwrap();
    Harness {
        store,
        clock,
        dir,
        name: "sqlite",
        pg_schema: None,
    }
}

pub async fn postgres() -> Option<Harness> {
    let url = std::env::var("AIGOV_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    use sqlx::Connection;
    let mut c = sqlx::PgConnection::connect(&url)
        .await
        .expect("AIGOV_TEST_DATABASE_URL is set but PostgreSQL does not answer");
    let mut r = [0u8; 6];
    getrandom::fill(&mut r).unwrap();
    let schema = format!(
        "aigov_t_{}",
        r.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut c)
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(start()));
    let mut o = options(dir.path(), clock.clone());
    o.database_url = Some(scoped);
    let store = aigov_store::open(&o).await.unwrap();
    Some(Harness {
        store,
        clock,
        dir,
        name: "postgres",
        pg_schema: Some((url, schema)),
    })
}

/// SQLite, plus PostgreSQL when configured.
pub async fn backends() -> Vec<Harness> {
    let mut v = vec![sqlite().await];
    if let Some(p) = postgres().await {
        v.push(p);
    }
    v
}
