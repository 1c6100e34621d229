//! Evidence (`EV-n`): uploaded files kept as content-addressed blobs (sha256) under the data
//! directory, or links; each with an effective date and an optional expiry, attached to
//! checklist items, controls, risks and incidents. Expired evidence is flagged wherever it is
//! shown.

use std::io::Write;
use std::path::PathBuf;

use aigov_core::records::{EvidenceRecord, EvidenceSummary};
use aigov_core::risk::EvidenceInput;
use aigov_core::{FieldError, Invalid};
use serde_json::json;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, int_col, opt_str, str_col};
use crate::error::{StoreError, StoreResult};
use crate::risks::parse_ref;

/// The default limit on an uploaded evidence file.
pub const DEFAULT_MAX_EVIDENCE_BYTES: u64 = 25 * 1024 * 1024;

/// What evidence can be attached to.
pub const TARGET_TYPES: [&str; 4] = ["checklist-item", "control", "risk", "incident"];

/// An uploaded file.
#[derive(Debug, Clone)]
pub struct Upload<'a> {
    /// The original file name (kept for downloads; path parts are dropped).
    pub file_name: &'a str,
    /// The media type as sent (defaults to `application/octet-stream`).
    pub media_type: Option<&'a str>,
    /// The content.
    pub bytes: &'a [u8],
}

/// Only the last path component of a client-supplied file name, without control characters.
fn clean_file_name(n: &str) -> String {
    let last = n.rsplit(['/', '\\']).next().unwrap_or("");
    let s: String = last.chars().filter(|c| !c.is_control()).take(255).collect();
    if s.is_empty() || s == "." || s == ".." {
        "file".into()
    } else {
        s
    }
}

impl SqlCore {
    fn today(&self) -> String {
        self.now().to_rfc3339()[..10].to_string()
    }

    /// Where the blob with this sha256 lives.
    pub fn blob_path(&self, sha256: &str) -> PathBuf {
        self.data_dir
            .join("blobs")
            .join("sha256")
            .join(&sha256[..2.min(sha256.len())])
            .join(sha256)
    }

    async fn evidence_from_row(&self, r: &AnyRow) -> StoreResult<EvidenceRecord> {
        let id = str_col(r, "id")?;
        let expires = opt_str(r, "expires_on")?;
        let links = sqlx::query("SELECT target_type, target_id FROM evidence_links WHERE evidence_id = $1 ORDER BY target_type, target_id").bind(&id).fetch_all(&self.pool).await?;
        let attached_to = links
            .iter()
            .map(|l| {
                Ok(format!(
                    "{}:{}",
                    str_col(l, "target_type")?,
                    str_col(l, "target_id")?
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(EvidenceRecord {
            r#ref: format!("EV-{}", int_col(r, "ref_num")?),
            kind: str_col(r, "kind")?,
            title: str_col(r, "title")?,
            description: str_col(r, "description")?,
            sha256: opt_str(r, "sha256")?,
            size: r_opt_i64(r, "size")?,
            media_type: opt_str(r, "media_type")?,
            file_name: opt_str(r, "file_name")?,
            url: opt_str(r, "url")?,
            effective_date: str_col(r, "effective_date")?,
            expired: expires
                .as_deref()
                .is_some_and(|e| e < self.today().as_str()),
            expires_on: expires,
            attached_to,
            created_at: str_col(r, "created_at")?,
            created_by: str_col(r, "created_by")?,
            id,
        })
    }

    /// An evidence record by id or `EV-n`.
    pub async fn get_evidence(&self, key: &str) -> StoreResult<EvidenceRecord> {
        let r = match parse_ref("EV", key) {
            Some(n) => {
                sqlx::query("SELECT * FROM evidence WHERE ref_num = $1")
                    .bind(n)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT * FROM evidence WHERE id = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        match r {
            Some(r) => self.evidence_from_row(&r).await,
            None => Err(StoreError::not_found("evidence", key)),
        }
    }

    /// Evidence records, newest first; `expired` keeps only expired ones.
    pub async fn list_evidence(
        &self,
        expired: bool,
        limit: i64,
        offset: i64,
    ) -> StoreResult<(Vec<EvidenceRecord>, i64)> {
        let today = self.today();
        let (wh, bind) = if expired {
            (
                "WHERE expires_on IS NOT NULL AND expires_on < $1",
                Some(today),
            )
        } else {
            ("", None)
        };
        let mut cq = sqlx::query(crate::db::sql(format!(
            "SELECT COUNT(*) AS n FROM evidence {wh}"
        )));
        if let Some(b) = &bind {
            cq = cq.bind(b.clone());
        }
        let total = int_col(&cq.fetch_one(&self.pool).await?, "n")?;
        let limit = if limit <= 0 { 50 } else { limit.min(500) };
        let mut lq = sqlx::query(crate::db::sql(format!(
            "SELECT * FROM evidence {wh} ORDER BY ref_num DESC LIMIT {limit} OFFSET {}",
            offset.max(0)
        )));
        if let Some(b) = &bind {
            lq = lq.bind(b.clone());
        }
        let rows = lq.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            out.push(self.evidence_from_row(r).await?);
        }
        Ok((out, total))
    }

    /// The evidence attached to one object, with expiry flags.
    pub async fn evidence_for(
        &self,
        target_type: &str,
        target_id: &str,
    ) -> StoreResult<Vec<EvidenceSummary>> {
        let rows = sqlx::query("SELECT e.id, e.ref_num, e.title, e.expires_on FROM evidence e JOIN evidence_links l ON l.evidence_id = e.id WHERE l.target_type = $1 AND l.target_id = $2 ORDER BY e.ref_num")
            .bind(target_type)
            .bind(target_id)
            .fetch_all(&self.pool)
            .await?;
        let today = self.today();
        rows.iter()
            .map(|r| {
                Ok(EvidenceSummary {
                    id: str_col(r, "id")?,
                    r#ref: format!("EV-{}", int_col(r, "ref_num")?),
                    title: str_col(r, "title")?,
                    expired: opt_str(r, "expires_on")?.is_some_and(|e| e < today),
                })
            })
            .collect()
    }

    async fn insert_evidence(
        &self,
        actor: &str,
        input: &EvidenceInput,
        file: Option<(&str, u64, &str, String)>,
    ) -> StoreResult<EvidenceRecord> {
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let n = tx.next_ref("evidence").await?;
        let now = tx.now.to_rfc3339();
        let effective = input
            .effective_date
            .clone()
            .unwrap_or_else(|| now[..10].to_string());
        let (kind, sha, size, media, name) = match &file {
            Some((sha, size, media, name)) => (
                "file",
                Some(sha.to_string()),
                Some(*size as i64),
                Some(media.to_string()),
                Some(name.clone()),
            ),
            None => ("link", None, None, None, None),
        };
        sqlx::query(
            "INSERT INTO evidence (id, ref_num, kind, title, description, sha256, size, media_type, file_name, url, effective_date, expires_on, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(&id)
        .bind(n)
        .bind(kind)
        .bind(input.title.trim())
        .bind(input.description.trim())
        .bind(sha.clone())
        .bind(size)
        .bind(media)
        .bind(name.clone())
        .bind(input.url.clone())
        .bind(&effective)
        .bind(input.expires_on.clone())
        .bind(&now)
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "evidence.create",
            "evidence",
            &id,
            None,
            None,
            json!({"ref": format!("EV-{n}"), "kind": kind, "title": input.title.trim(), "sha256": sha, "size": size, "file_name": name, "url": input.url, "effective_date": effective, "expires_on": input.expires_on}),
        )
        .await?;
        tx.commit().await?;
        self.get_evidence(&id).await
    }

    /// Records a link as evidence.
    pub async fn create_evidence_link(
        &self,
        actor: &str,
        input: EvidenceInput,
    ) -> StoreResult<EvidenceRecord> {
        Invalid::check(input.validate(false))?;
        self.insert_evidence(actor, &input, None).await
    }

    /// Stores an uploaded file as a content-addressed blob and records it as evidence. The blob
    /// is written (atomically) before the row, so a failure leaves at most an unreferenced blob,
    /// never a row without its file.
    pub async fn create_evidence_file(
        &self,
        actor: &str,
        input: EvidenceInput,
        upload: Upload<'_>,
        max_bytes: u64,
    ) -> StoreResult<EvidenceRecord> {
        let mut errs = input.validate(true);
        if upload.bytes.is_empty() {
            errs.push(FieldError::new("file", "is empty"));
        }
        if upload.bytes.len() as u64 > max_bytes {
            errs.push(FieldError::new(
                "file",
                format!(
                    "is {} bytes; the limit is {max_bytes} bytes",
                    upload.bytes.len()
                ),
            ));
        }
        Invalid::check(errs)?;
        let sha = aigov_core::audit::sha256_hex(upload.bytes);
        let path = self.blob_path(&sha);
        if !path.exists() {
            write_blob(&path, upload.bytes)?;
        }
        let media = upload
            .media_type
            .filter(|m| !m.is_empty() && m.len() <= 200 && m.is_ascii())
            .unwrap_or("application/octet-stream");
        self.insert_evidence(
            actor,
            &input,
            Some((
                &sha,
                upload.bytes.len() as u64,
                media,
                clean_file_name(upload.file_name),
            )),
        )
        .await
    }

    /// The content of a file evidence record, checked against its sha256.
    pub async fn evidence_content(&self, key: &str) -> StoreResult<(EvidenceRecord, Vec<u8>)> {
        let ev = self.get_evidence(key).await?;
        let Some(sha) = ev.sha256.clone() else {
            return Err(StoreError::Conflict(format!(
                "{} is a link, not a file: {}",
                ev.r#ref,
                ev.url.clone().unwrap_or_default()
            )));
        };
        let path = self.blob_path(&sha);
        let bytes = std::fs::read(&path).map_err(|e| {
            StoreError::Io(format!(
                "the file of {} is missing from {}: {e}",
                ev.r#ref,
                path.display()
            ))
        })?;
        if aigov_core::audit::sha256_hex(&bytes) != sha {
            return Err(StoreError::Internal(format!(
                "the file of {} at {} does not match its sha256 {sha}; restore it from a backup",
                ev.r#ref,
                path.display()
            )));
        }
        Ok((ev, bytes))
    }

    /// Resolves an attachment target to its id, checking that it exists.
    async fn evidence_target(&self, target_type: &str, target: &str) -> StoreResult<String> {
        let missing = || StoreError::invalid("target", format!("no {target_type} {target}"));
        match target_type {
            "risk" => self.get_risk(target).await.map(|r| r.id).map_err(|e| {
                if matches!(e, StoreError::NotFound { .. }) {
                    missing()
                } else {
                    e
                }
            }),
            "incident" => self.get_incident_id(target).await.map_err(|e| {
                if matches!(e, StoreError::NotFound { .. }) {
                    missing()
                } else {
                    e
                }
            }),
            "control" => self.get_control(target).await.map(|c| c.id).map_err(|e| {
                if matches!(e, StoreError::NotFound { .. }) {
                    missing()
                } else {
                    e
                }
            }),
            "checklist-item" => match sqlx::query("SELECT id FROM checklist_items WHERE id = $1")
                .bind(target)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(r) => str_col(&r, "id"),
                None => Err(missing()),
            },
            other => Err(StoreError::invalid(
                "target_type",
                format!(
                    "cannot attach evidence to {other:?}; expected one of {}",
                    TARGET_TYPES.join(", ")
                ),
            )),
        }
    }

    /// Attaches evidence to a checklist item, control, risk or incident.
    pub async fn attach_evidence(
        &self,
        actor: &str,
        key: &str,
        target_type: &str,
        target: &str,
    ) -> StoreResult<EvidenceRecord> {
        let ev = self.get_evidence(key).await?;
        let tid = self.evidence_target(target_type, target).await?;
        if ev
            .attached_to
            .iter()
            .any(|a| *a == format!("{target_type}:{tid}"))
        {
            return Err(StoreError::Conflict(format!(
                "{} is already attached to that {target_type}",
                ev.r#ref
            )));
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        sqlx::query("INSERT INTO evidence_links (evidence_id, target_type, target_id, created_at, created_by) VALUES ($1, $2, $3, $4, $5)")
            .bind(&ev.id)
            .bind(target_type)
            .bind(&tid)
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("evidence.attach", "evidence", &ev.id, None, None, json!({"ref": ev.r#ref, "target_type": target_type, "target_id": tid, "expired": ev.expired})).await?;
        tx.commit().await?;
        self.get_evidence(&ev.id).await
    }

    /// Detaches evidence from an object.
    pub async fn detach_evidence(
        &self,
        actor: &str,
        key: &str,
        target_type: &str,
        target: &str,
    ) -> StoreResult<EvidenceRecord> {
        let ev = self.get_evidence(key).await?;
        let tid = self.evidence_target(target_type, target).await?;
        let mut tx = self.begin_write(actor).await?;
        let k = sqlx::query("DELETE FROM evidence_links WHERE evidence_id = $1 AND target_type = $2 AND target_id = $3").bind(&ev.id).bind(target_type).bind(&tid).execute(&mut *tx.tx).await?.rows_affected();
        if k == 0 {
            return Err(StoreError::not_found(
                "evidence attachment",
                format!("{} on {target_type} {target}", ev.r#ref),
            ));
        }
        tx.audit(
            "evidence.detach",
            "evidence",
            &ev.id,
            None,
            None,
            json!({"ref": ev.r#ref, "target_type": target_type, "target_id": tid}),
        )
        .await?;
        tx.commit().await?;
        self.get_evidence(&ev.id).await
    }

    /// Deletes an evidence record that is attached nowhere and not cited by an assessment;
    /// its blob goes too unless another record shares it.
    pub async fn delete_evidence(&self, actor: &str, key: &str) -> StoreResult<()> {
        let ev = self.get_evidence(key).await?;
        if !ev.attached_to.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} is attached to {}; detach it first",
                ev.r#ref,
                ev.attached_to.join(", ")
            )));
        }
        let pat = format!("%\"{}\"%", ev.r#ref);
        if sqlx::query("SELECT 1 FROM assessments WHERE evidence LIKE $1")
            .bind(&pat)
            .fetch_optional(&self.pool)
            .await?
            .is_some()
        {
            return Err(StoreError::Conflict(format!(
                "{} is cited as the basis of an assessment and is kept",
                ev.r#ref
            )));
        }
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("DELETE FROM evidence WHERE id = $1")
            .bind(&ev.id)
            .execute(&mut *tx.tx)
            .await?;
        let shared = match &ev.sha256 {
            Some(s) => sqlx::query("SELECT 1 FROM evidence WHERE sha256 = $1")
                .bind(s)
                .fetch_optional(&mut *tx.tx)
                .await?
                .is_some(),
            None => true,
        };
        tx.audit(
            "evidence.delete",
            "evidence",
            &ev.id,
            None,
            None,
            json!({"ref": ev.r#ref, "title": ev.title, "sha256": ev.sha256}),
        )
        .await?;
        tx.commit().await?;
        if !shared && let Some(s) = &ev.sha256 {
            // Best effort: a leftover blob is harmless and is reused if the same file returns.
            let _ = std::fs::remove_file(self.blob_path(s));
        }
        Ok(())
    }
}

fn r_opt_i64(r: &AnyRow, col: &str) -> StoreResult<Option<i64>> {
    use sqlx::Row;
    Ok(r.try_get::<Option<i64>, _>(col)?)
}

/// Writes a blob through a temporary file in the same directory, synced, then renamed.
fn write_blob(path: &std::path::Path, bytes: &[u8]) -> StoreResult<()> {
    let dir = path
        .parent()
        .ok_or_else(|| StoreError::Io("bad blob path".into()))?;
    std::fs::create_dir_all(dir)
        .map_err(|e| StoreError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| StoreError::Io(format!("cannot write in {}: {e}", dir.display())))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| StoreError::Io(format!("cannot write {}: {e}", path.display())))?;
    tmp.persist(path)
        .map_err(|e| StoreError::Io(format!("cannot write {}: {}", path.display(), e.error)))?;
    Ok(())
}
