//! aigov's system of record.
//!
//! One [`Store`] trait with two implementations, [`SqliteStore`] (the default: a file under
//! the data directory, WAL mode) and [`PostgresStore`] (selected by a `postgres://` URL). The
//! backends share their SQL through sqlx's `Any` driver and differ where the databases do:
//! connection set-up, how a writer takes the lock, their migration files, and backups.
//!
//! Every change is one transaction that also appends its audit event(s) to the sha256 hash
//! chain ([`aigov_core::audit`]), so a failure leaves nothing half-written and nothing
//! unaudited.
//!
//! Module map:
//! - [`db`] — connections, migrations and schema-version check, the write transaction.
//! - [`users`] — users, sessions, API tokens, login throttling.
//! - [`inventory`] — systems, models, datasets, vendors, endpoints, stage changes, links, imports.
//! - [`audit_log`] — listing, verifying and exporting the audit chain.
//! - [`catalogs`] — built-in and imported catalogs and mapping sets.
//! - [`crypto`] — randomness, password hashing, encryption of stored credentials.
//! - [`governance`] — methodologies, framework adoption and checklists, crosswalk
//!   suggestions, risk identification, settings, lifecycle stage gates.
//! - [`risks`] — the risk register, assessments, treatment, controls, actions, acceptances,
//!   overdue work, dashboard aggregates.
//! - [`incidents`] — incidents, timelines, reporting deadlines, close-out.
//! - [`evidence`] — evidence files (content-addressed blobs) and links, attachments.
//! - [`reports`] — the `report.generated` audit event and finding it again (report verify).

pub mod audit_log;
pub mod catalogs;
pub mod crypto;
pub mod db;
pub mod error;
pub mod evidence;
pub mod governance;
pub mod incidents;
pub mod inventory;
pub mod reports;
pub mod risks;
pub mod users;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

pub use db::{Backend, OpenOptions, PasswordCost, SqlCore, latest_schema_version};
pub use error::{StoreError, StoreResult};

/// A boxed future, so the trait can be used as `dyn Store`.
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = StoreResult<T>> + Send + 'a>>;

/// The system of record. Implemented once per database; everything the backends share is on
/// [`SqlCore`], reachable through [`Store::core`] (and by deref on `dyn Store`).
pub trait Store: Send + Sync + std::fmt::Debug {
    /// The shared implementation.
    fn core(&self) -> &SqlCore;

    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Where the data lives, for messages (a file path, or a URL without its password).
    fn location(&self) -> String;

    /// Writes a consistent snapshot of the whole database to `dest` while it is in use.
    fn backup_to<'a>(&'a self, dest: &'a Path) -> BoxFut<'a, ()>;
}

impl std::ops::Deref for dyn Store {
    type Target = SqlCore;
    fn deref(&self) -> &SqlCore {
        self.core()
    }
}

/// The embedded SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    core: SqlCore,
    path: std::path::PathBuf,
}

impl Store for SqliteStore {
    fn core(&self) -> &SqlCore {
        &self.core
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn backup_to<'a>(&'a self, dest: &'a Path) -> BoxFut<'a, ()> {
        Box::pin(async move {
            if dest.exists() {
                return Err(StoreError::Io(format!(
                    "{} exists; choose a new file name",
                    dest.display()
                )));
            }
            if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(|e| {
                    StoreError::Io(format!("cannot create {}: {e}", parent.display()))
                })?;
            }
            // VACUUM INTO writes a transactionally consistent copy without blocking readers.
            sqlx::query("VACUUM INTO $1")
                .bind(dest.display().to_string())
                .execute(&self.core.pool)
                .await?;
            Ok(())
        })
    }
}

/// The PostgreSQL store.
#[derive(Debug)]
pub struct PostgresStore {
    core: SqlCore,
    url: String,
}

impl Store for PostgresStore {
    fn core(&self) -> &SqlCore {
        &self.core
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    fn location(&self) -> String {
        db::redact_url(&self.url)
    }

    fn backup_to<'a>(&'a self, _dest: &'a Path) -> BoxFut<'a, ()> {
        Box::pin(async move {
            Err(StoreError::Unsupported(
                "on PostgreSQL, take backups with the database's own tools: `pg_dump --format=custom --file aigov.dump <url>` (restore with pg_restore into an empty database), and keep the secret key (AIGOV_SECRET_KEY or <data-dir>/secret.key) and the evidence files (<data-dir>/blobs) with it".into(),
            ))
        })
    }
}

/// Opens (and migrates) the store the options describe.
pub async fn open(opts: &OpenOptions) -> StoreResult<Arc<dyn Store>> {
    let core = SqlCore::connect(opts).await?;
    Ok(match core.backend {
        Backend::Sqlite => {
            let path = opts.data_dir.join(db::SQLITE_FILE);
            Arc::new(SqliteStore { core, path })
        }
        Backend::Postgres => Arc::new(PostgresStore {
            core,
            url: opts.database_url.clone().unwrap_or_default(),
        }),
    })
}
