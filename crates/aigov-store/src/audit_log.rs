//! Reading, verifying and exporting the audit log. Reads go in pages by sequence number, so
//! memory stays flat however long the log grows.

use aigov_core::audit::{AuditEvent, BrokenLink, EventBody, RawEvent, Verifier};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, audit_head, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};

/// Rows fetched per page while verifying or exporting.
const CHUNK: i64 = 5_000;

/// Filters for listing events.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Exact actor (`user:alice`).
    pub actor: Option<String>,
    /// Action, or an action prefix ending in `.` (`system.`).
    pub action: Option<String>,
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// At or after (RFC 3339).
    pub since: Option<String>,
    /// Before (RFC 3339).
    pub until: Option<String>,
    /// Newest first.
    pub desc: bool,
    /// Page size.
    pub limit: i64,
    /// Items skipped.
    pub offset: i64,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events checked.
    pub events: u64,
    /// The recorded head sequence number.
    pub head_seq: i64,
    /// The recorded head hash (anchor it elsewhere to detect a rewritten chain).
    pub head_hash: String,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

const COLS: &str = "seq, id, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash";

fn event_from_row(r: &AnyRow) -> StoreResult<AuditEvent> {
    let details = str_col(r, "details")?;
    Ok(AuditEvent {
        seq: int_col(r, "seq")?,
        id: str_col(r, "id")?,
        at: str_col(r, "at")?,
        actor: str_col(r, "actor")?,
        action: str_col(r, "action")?,
        object_type: str_col(r, "object_type")?,
        object_id: str_col(r, "object_id")?,
        before_digest: opt_str(r, "before_digest")?,
        after_digest: opt_str(r, "after_digest")?,
        // A details column that is not JSON is kept as a string, so verification reports the
        // mismatch instead of failing to read.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: str_col(r, "prev_hash")?,
        hash: str_col(r, "hash")?,
    })
}

impl SqlCore {
    /// Lists events. Without filters, the count and the page come from the chain head and
    /// sequence numbers (events are numbered 1..=head without gaps), so deep pages cost no
    /// more than the first.
    pub async fn audit_list(&self, q: &AuditQuery) -> StoreResult<(Vec<AuditEvent>, i64)> {
        let unfiltered = q.actor.is_none()
            && q.action.is_none()
            && q.object_type.is_none()
            && q.object_id.is_none()
            && q.since.is_none()
            && q.until.is_none();
        if unfiltered {
            let (head, _) = audit_head(&self.pool).await?;
            let rows = if q.desc {
                sqlx::query(sql(format!(
                    "SELECT {COLS} FROM audit_events WHERE seq <= $1 ORDER BY seq DESC LIMIT $2"
                )))
                .bind(head - q.offset)
                .bind(q.limit)
                .fetch_all(&self.pool)
                .await?
            } else {
                sqlx::query(sql(format!(
                    "SELECT {COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
                )))
                .bind(q.offset)
                .bind(q.limit)
                .fetch_all(&self.pool)
                .await?
            };
            let items = rows
                .iter()
                .map(event_from_row)
                .collect::<StoreResult<Vec<_>>>()?;
            return Ok((items, head));
        }
        let mut wh = vec!["1 = 1".to_string()];
        let mut args: Vec<String> = Vec::new();
        let mut add = |cond: String, v: String, args: &mut Vec<String>| {
            args.push(v);
            wh.push(cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(a) = &q.actor {
            add("actor = ?".into(), a.clone(), &mut args);
        }
        if let Some(a) = &q.action {
            if let Some(prefix) = a.strip_suffix('.') {
                add("action LIKE ?".into(), format!("{prefix}.%"), &mut args);
            } else {
                add("action = ?".into(), a.clone(), &mut args);
            }
        }
        if let Some(t) = &q.object_type {
            add("object_type = ?".into(), t.clone(), &mut args);
        }
        if let Some(o) = &q.object_id {
            add("object_id = ?".into(), o.clone(), &mut args);
        }
        if let Some(s) = &q.since {
            add("at >= ?".into(), s.clone(), &mut args);
        }
        if let Some(u) = &q.until {
            add("at < ?".into(), u.clone(), &mut args);
        }
        let where_sql = wh.join(" AND ");
        let mut cq = sqlx::query_scalar::<_, i64>(sql(format!(
            "SELECT COUNT(*) FROM audit_events WHERE {where_sql}"
        )));
        let list_sql = format!(
            "SELECT {COLS} FROM audit_events WHERE {where_sql} ORDER BY seq {} LIMIT ${} OFFSET ${}",
            if q.desc { "DESC" } else { "ASC" },
            args.len() + 1,
            args.len() + 2
        );
        let mut lq = sqlx::query(sql(list_sql));
        for a in &args {
            cq = cq.bind(a.as_str());
            lq = lq.bind(a.as_str());
        }
        let total = cq.fetch_one(&self.pool).await?;
        let rows = lq
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        let items = rows
            .iter()
            .map(event_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((items, total))
    }

    /// Up to `limit` events after sequence number `after`, in order (keyset paging).
    pub async fn audit_page(&self, after: i64, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let rows = sqlx::query(sql(format!(
            "SELECT {COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
        )))
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event_from_row).collect()
    }

    /// Calls `f` with every event in sequence order.
    pub async fn audit_each(
        &self,
        mut f: impl FnMut(&AuditEvent) -> StoreResult<()>,
    ) -> StoreResult<u64> {
        let mut after = 0i64;
        let mut n = 0u64;
        loop {
            let page = self.audit_page(after, CHUNK).await?;
            let Some(last) = page.last() else {
                return Ok(n);
            };
            after = last.seq;
            for e in &page {
                n += 1;
                f(e)?;
            }
        }
    }

    /// Recomputes the whole chain and compares it with the recorded head. Rows are hashed as
    /// stored (no JSON parsing), a page at a time.
    pub async fn audit_verify(&self) -> StoreResult<VerifyReport> {
        let (head_seq, head_hash) = audit_head(&self.pool).await?;
        let mut v = Verifier::new();
        let mut seen = 0u64;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(sql(format!(
                "SELECT {COLS} FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2"
            )))
            .bind(after)
            .bind(CHUNK)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for r in &rows {
                let get = |c: &str| -> StoreResult<&str> { Ok(r.try_get::<&str, _>(c)?) };
                let opt =
                    |c: &str| -> StoreResult<Option<&str>> { Ok(r.try_get::<Option<&str>, _>(c)?) };
                let seq = r.try_get::<i64, _>("seq")?;
                let ev = RawEvent {
                    body: EventBody {
                        seq,
                        id: get("id")?,
                        at: get("at")?,
                        actor: get("actor")?,
                        action: get("action")?,
                        object_type: get("object_type")?,
                        object_id: get("object_id")?,
                        before_digest: opt("before_digest")?,
                        after_digest: opt("after_digest")?,
                        details: &serde_json::Value::Null,
                    },
                    details: get("details")?,
                    prev_hash: get("prev_hash")?,
                    hash: get("hash")?,
                };
                v.push_raw(&ev);
                seen += 1;
                after = seq;
            }
        }
        let broken = v.finish(head_seq, &head_hash).err();
        Ok(VerifyReport {
            events: seen,
            head_seq,
            head_hash,
            broken,
        })
    }

    /// One event.
    pub async fn audit_get(&self, seq: i64) -> StoreResult<AuditEvent> {
        let r = sqlx::query(sql(format!(
            "SELECT {COLS} FROM audit_events WHERE seq = $1"
        )))
        .bind(seq)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref()
            .map(event_from_row)
            .unwrap_or_else(|| Err(StoreError::not_found("audit event", seq.to_string())))
    }
}

#[cfg(feature = "seed")]
impl SqlCore {
    /// Benchmarks only: appends `n` synthetic events (`bench.event`) through the real chain
    /// code, `batch` per transaction.
    pub async fn seed_audit_events(&self, n: u64, batch: u64) -> StoreResult<()> {
        let mut left = n;
        while left > 0 {
            let k = left.min(batch.max(1));
            let mut tx = self.begin_write("bench").await?;
            for i in 0..k {
                tx.audit(
                    "bench.event",
                    "bench",
                    &format!("b{i}"),
                    None,
                    None,
                    serde_json::json!({"i": i, "note": "synthetic event for benchmarks"}),
                )
                .await?;
            }
            tx.commit().await?;
            left -= k;
        }
        Ok(())
    }
}
