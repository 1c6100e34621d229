//! Connections, migrations, and the write transaction that appends audit events.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Once};

use aigov_core::audit::{AuditEvent, EventBody, GENESIS, chain_hash, digest};
use aigov_core::{Clock, Timestamp};
use serde_json::Value;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

use crate::crypto::SecretKey;
use crate::error::{StoreError, StoreResult};

/// Which database the store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An embedded SQLite file under the data directory.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How hard password hashing works (argon2id). `Low` exists for tests only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordCost {
    /// OWASP-recommended argon2id parameters (19 MiB, 2 passes).
    #[default]
    Standard,
    /// Cheap parameters for test suites that create many users.
    Low,
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// The data directory (the SQLite file, the secret key and, later, blobs live here).
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL; `None` for the embedded SQLite file.
    pub database_url: Option<String>,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Base64 key for encrypting stored credentials; when `None`, `<data-dir>/secret.key`
    /// is used (created on first need).
    pub secret_key: Option<String>,
    /// Password hashing cost.
    pub password_cost: PasswordCost,
    /// Create the data directory and database if missing (false for read-only commands).
    pub create: bool,
    /// Most pooled connections.
    pub max_connections: u32,
}

impl OpenOptions {
    /// Options for `data_dir` with the system clock and standard settings.
    pub fn new(data_dir: impl Into<PathBuf>) -> OpenOptions {
        OpenOptions {
            data_dir: data_dir.into(),
            database_url: None,
            clock: Arc::new(aigov_core::SystemClock),
            secret_key: None,
            password_cost: PasswordCost::Standard,
            create: true,
            max_connections: 8,
        }
    }
}

/// What both backends share: the pool, the clock, keys and settings.
#[derive(Debug)]
pub struct SqlCore {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) data_dir: PathBuf,
    pub(crate) key: SecretKey,
    pub(crate) password_cost: PasswordCost,
}

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "aigov.db";

/// The schema versions this build knows, per backend: `(version, name, sql)`.
fn migrations(b: Backend) -> &'static [(i64, &'static str, &'static str)] {
    match b {
        Backend::Sqlite => &[
            (
                1,
                "init",
                include_str!("../migrations/sqlite/0001_init.sql"),
            ),
            (
                2,
                "governance",
                include_str!("../migrations/sqlite/0002_governance.sql"),
            ),
            (
                3,
                "overdue",
                include_str!("../migrations/sqlite/0003_overdue.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "init",
                include_str!("../migrations/postgres/0001_init.sql"),
            ),
            (
                2,
                "governance",
                include_str!("../migrations/postgres/0002_governance.sql"),
            ),
            (
                3,
                "overdue",
                include_str!("../migrations/postgres/0003_overdue.sql"),
            ),
        ],
    }
}

/// The newest schema version this build knows.
pub fn latest_schema_version() -> i64 {
    migrations(Backend::Sqlite)
        .iter()
        .map(|m| m.0)
        .max()
        .unwrap_or(0)
}

static DRIVERS: Once = Once::new();

impl SqlCore {
    /// Connects (creating the SQLite file when allowed), applies pending migrations, and
    /// refuses a schema newer than this build.
    pub async fn connect(opts: &OpenOptions) -> StoreResult<SqlCore> {
        DRIVERS.call_once(sqlx::any::install_default_drivers);
        let (backend, url) = match &opts.database_url {
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                (Backend::Postgres, u.clone())
            }
            Some(u) => {
                return Err(StoreError::Config(format!(
                    "unsupported database URL {:?}: use postgres://… or leave it unset for the embedded SQLite file",
                    redact_url(u)
                )));
            }
            None => {
                let path = opts.data_dir.join(SQLITE_FILE);
                if opts.create {
                    std::fs::create_dir_all(&opts.data_dir).map_err(|e| {
                        StoreError::Io(format!(
                            "cannot create data directory {}: {e}",
                            opts.data_dir.display()
                        ))
                    })?;
                } else if !path.exists() {
                    return Err(StoreError::NoDatabase(path.display().to_string()));
                }
                let mode = if opts.create { "rwc" } else { "rw" };
                (
                    Backend::Sqlite,
                    format!("sqlite://{}?mode={mode}", path.display()),
                )
            }
        };
        let mut po = AnyPoolOptions::new().max_connections(opts.max_connections.max(1));
        if backend == Backend::Sqlite {
            po = po.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").await?;
                    Ok(())
                })
            });
        }
        let pool = po
            .connect(&url)
            .await
            .map_err(|e| StoreError::Connect(format!("{}: {e}", redact_url(&url))))?;
        let key = SecretKey::new(opts.secret_key.clone(), opts.data_dir.join("secret.key"));
        let core = SqlCore {
            pool,
            backend,
            clock: opts.clock.clone(),
            data_dir: opts.data_dir.clone(),
            key,
            password_cost: opts.password_cost,
        };
        core.migrate().await?;
        core.optimize().await?;
        Ok(core)
    }

    /// Applies pending migrations, each in its own transaction.
    async fn migrate(&self) -> StoreResult<()> {
        self.pool
            .execute("CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TEXT NOT NULL)")
            .await?;
        let rows = sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&self.pool)
            .await?;
        let applied: Vec<(i64, String)> = rows
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let known = migrations(self.backend);
        let latest = known.iter().map(|m| m.0).max().unwrap_or(0);
        if let Some((v, _)) = applied.iter().find(|(v, _)| *v > latest) {
            return Err(StoreError::SchemaTooNew {
                found: *v,
                supported: latest,
            });
        }
        for (version, name, sql) in known {
            let checksum = aigov_core::audit::sha256_hex(sql.as_bytes());
            if let Some((_, c)) = applied.iter().find(|(v, _)| v == version) {
                if *c != checksum {
                    tracing::warn!(
                        version,
                        "migration {version} ({name}) differs from the one applied to this database"
                    );
                }
                continue;
            }
            let mut tx = self.pool.begin().await?;
            for stmt in split_sql(sql) {
                tx.execute(self::sql(stmt)).await.map_err(|e| {
                    StoreError::Migration(format!("migration {version} ({name}): {e}"))
                })?;
            }
            sqlx::query("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)")
                .bind(*version)
                .bind(*name)
                .bind(checksum)
                .bind(self.clock.now().to_rfc3339())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            tracing::info!(
                version,
                name,
                backend = self.backend.as_str(),
                "applied migration"
            );
        }
        Ok(())
    }

    /// Refreshes the query planner's statistics where they are stale (SQLite: `PRAGMA
    /// optimize`, bounded by `analysis_limit`; PostgreSQL's autovacuum does this itself). Run at
    /// open and periodically by the server.
    pub async fn optimize(&self) -> StoreResult<()> {
        if self.backend == Backend::Sqlite {
            let mut c = self.pool.acquire().await?;
            c.execute("PRAGMA analysis_limit = 1000; PRAGMA optimize = 0x10002;")
                .await?;
        }
        Ok(())
    }

    /// The schema version of the database.
    pub async fn schema_version(&self) -> StoreResult<i64> {
        let r = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(r.try_get::<i64, _>(0)?)
    }

    /// Now.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Begins a transaction that writes and appends audit events. On SQLite it takes the
    /// write lock at once (`BEGIN IMMEDIATE`), so a transaction never fails to upgrade a stale
    /// read; on PostgreSQL it locks the audit chain head, which serialises writers across
    /// processes.
    pub(crate) async fn begin_write(&self, actor: &str) -> StoreResult<WriteTx> {
        let mut tx = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        let lock = match self.backend {
            Backend::Sqlite => "SELECT seq, hash FROM audit_head WHERE id = 1",
            Backend::Postgres => "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE",
        };
        let r = sqlx::query(lock).fetch_one(&mut *tx).await?;
        let head = (r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?);
        Ok(WriteTx {
            tx,
            actor: actor.to_string(),
            now: self.clock.now(),
            start: head.clone(),
            head,
            core_ids: IdGen {
                clock: self.clock.clone(),
            },
        })
    }
}

/// Marks SQL composed in this crate as reviewed: only constant fragments and whitelisted
/// column names are ever interpolated; every value is a bound parameter.
pub(crate) fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(s)
}

/// Splits a migration into statements at semicolons outside `$$ … $$` bodies (our SQL has no
/// semicolons inside string literals).
fn split_sql(sql: &str) -> Vec<String> {
    let no_comments: String = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_body = false;
    let mut rest = no_comments.as_str();
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("$$") {
            in_body = !in_body;
            cur.push_str("$$");
            rest = &rest[2..];
            continue;
        }
        if c == ';' && !in_body {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Hides a password in a connection URL for messages and logs.
pub fn redact_url(u: &str) -> String {
    match (u.find("://"), u.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &u[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &u[..s + 3], &u[at..]),
                None => u.to_string(),
            }
        }
        _ => u.to_string(),
    }
}

#[derive(Debug)]
pub(crate) struct IdGen {
    clock: Arc<dyn Clock>,
}

/// The last (millisecond, counter) handed out, so that ids made in the same millisecond
/// still sort in creation order (RFC 9562 §6.2, method 1: a 12-bit counter in `rand_a`).
static LAST_ID: std::sync::Mutex<(i64, u16)> = std::sync::Mutex::new((0, 0));

impl IdGen {
    pub(crate) fn next(&self) -> String {
        let mut r = [0u8; 10];
        crate::crypto::fill_random(&mut r);
        let mut ms = self.clock.now().unix_millis();
        if let Ok(mut last) = LAST_ID.lock() {
            if ms <= last.0 {
                // Same (or an earlier) millisecond: count on; on overflow borrow the next one.
                if last.1 >= 0x0fff {
                    ms = last.0 + 1;
                    *last = (ms, 0);
                } else {
                    ms = last.0;
                    last.1 += 1;
                }
            } else {
                *last = (ms, 0);
            }
            let c = last.1;
            r[0] = (c >> 8) as u8 & 0x0f;
            r[1] = (c & 0xff) as u8;
        }
        aigov_core::ids::uuid_v7(aigov_core::Timestamp::from_unix_millis(ms), r)
    }
}

/// A write transaction. Every change made through it is recorded with [`WriteTx::audit`]
/// in the same transaction; [`WriteTx::commit`] moves the chain head and commits.
#[derive(Debug)]
pub(crate) struct WriteTx {
    pub(crate) tx: Transaction<'static, Any>,
    pub(crate) actor: String,
    /// The transaction's time, shared by all its rows and events.
    pub(crate) now: Timestamp,
    start: (i64, String),
    head: (i64, String),
    core_ids: IdGen,
}

impl WriteTx {
    /// The audit head's sequence number when this transaction took the write lock (no other
    /// write can land before it commits or rolls back).
    pub(crate) fn start_seq(&self) -> i64 {
        self.start.0
    }

    /// A new id.
    pub(crate) fn new_id(&self) -> String {
        self.core_ids.next()
    }

    /// Appends an audit event for a change to `object`.
    pub(crate) async fn audit(
        &mut self,
        action: &str,
        object_type: &str,
        object_id: &str,
        before: Option<&Value>,
        after: Option<&Value>,
        details: Value,
    ) -> StoreResult<AuditEvent> {
        let seq = self.head.0 + 1;
        let id = self.new_id();
        let at = self.now.to_rfc3339();
        let before_digest = before.map(digest);
        let after_digest = after.map(digest);
        let body = EventBody {
            seq,
            id: &id,
            at: &at,
            actor: &self.actor,
            action,
            object_type,
            object_id,
            before_digest: before_digest.as_deref(),
            after_digest: after_digest.as_deref(),
            details: &details,
        };
        let hash = chain_hash(&self.head.1, &body);
        sqlx::query(
            "INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(seq)
        .bind(&id)
        .bind(&at)
        .bind(&self.actor)
        .bind(action)
        .bind(object_type)
        .bind(object_id)
        .bind(before_digest.clone())
        .bind(after_digest.clone())
        .bind(aigov_core::audit::canonical_json(&details))
        .bind(&self.head.1)
        .bind(&hash)
        .execute(&mut *self.tx)
        .await?;
        let ev = AuditEvent {
            seq,
            id,
            at,
            actor: self.actor.clone(),
            action: action.to_string(),
            object_type: object_type.to_string(),
            object_id: object_id.to_string(),
            before_digest,
            after_digest,
            details,
            prev_hash: self.head.1.clone(),
            hash: hash.clone(),
        };
        self.head = (seq, hash);
        Ok(ev)
    }

    /// Moves the chain head and commits. A transaction that changed data without an audit
    /// event is a defect, refused here rather than committed silently.
    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        if self.head == self.start {
            let _ = self.tx.rollback().await;
            return Err(StoreError::Internal(
                "write transaction without an audit event".into(),
            ));
        }
        sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(self.head.0)
            .bind(&self.head.1)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }

    /// Allocates the next human-ref number of `kind` (never reused).
    pub(crate) async fn next_ref(&mut self, kind: &str) -> StoreResult<i64> {
        let r = sqlx::query("SELECT next FROM counters WHERE kind = $1")
            .bind(kind)
            .fetch_optional(&mut *self.tx)
            .await?;
        let n = match r {
            Some(r) => r.try_get::<i64, _>(0)?,
            None => {
                sqlx::query("INSERT INTO counters (kind, next) VALUES ($1, 1)")
                    .bind(kind)
                    .execute(&mut *self.tx)
                    .await?;
                1
            }
        };
        sqlx::query("UPDATE counters SET next = $1 WHERE kind = $2")
            .bind(n + 1)
            .bind(kind)
            .execute(&mut *self.tx)
            .await?;
        Ok(n)
    }
}

/// Reads an `Option<String>` column.
pub(crate) fn opt_str(r: &AnyRow, col: &str) -> StoreResult<Option<String>> {
    Ok(r.try_get::<Option<String>, _>(col)?)
}

/// Reads a `String` column.
pub(crate) fn str_col(r: &AnyRow, col: &str) -> StoreResult<String> {
    Ok(r.try_get::<String, _>(col)?)
}

/// Reads an `i64` column.
pub(crate) fn int_col(r: &AnyRow, col: &str) -> StoreResult<i64> {
    Ok(r.try_get::<i64, _>(col)?)
}

/// The chain head as stored.
pub(crate) async fn audit_head(pool: &AnyPool) -> StoreResult<(i64, String)> {
    match sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(pool)
        .await?
    {
        Some(r) => Ok((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?)),
        None => Ok((0, GENESIS.to_string())),
    }
}
