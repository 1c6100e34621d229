//! Incidents (`INC-n`): times, severity, affected systems and risks, timeline, containment and
//! corrective actions, root cause linked to risks, reporting deadlines from configurable rules
//! with overdue flags, and the close-out review.

use aigov_catalog::Library;
use aigov_core::inventory::ObjectKind;
use aigov_core::records::{Incident, Risk, TimelineEntry};
use aigov_core::risk::{CloseOut, IncidentInput, IncidentStatus, RiskInput, Severity, check_time};
use aigov_core::rules::{ReportingRule, Rules};
use aigov_core::{FieldError, Invalid, Timestamp};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};
use crate::risks::parse_ref;

/// Incident list filters.
#[derive(Debug, Clone, Default)]
pub struct IncidentQuery {
    /// Only this state.
    pub status: Option<IncidentStatus>,
    /// Only incidents affecting this system (id or ref).
    pub system: Option<String>,
    /// Only incidents not closed.
    pub open: bool,
    /// Only incidents not reported and past their reporting deadline.
    pub reporting_overdue: bool,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// The link roles of an incident.
const AFFECTED: &str = "affected";
const ROOT_CAUSE: &str = "root-cause";

/// Resolved targets of an incident input: `(systems, risks, root-cause risks)` as `(id, ref)`.
type Targets = (
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

impl SqlCore {
    /// The reporting rules in force (stored setting, else the rules' defaults).
    pub async fn incident_reporting(&self, rules: &Rules) -> StoreResult<Vec<ReportingRule>> {
        match self.setting("incident_reporting").await? {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| StoreError::Internal(format!("stored incident reporting rules: {e}"))),
            None => Ok(rules.incident_reporting.clone()),
        }
    }

    /// Replaces the reporting rules (one per severity at most; hours 1 to 8760). Existing open
    /// incidents keep their deadline until they are edited.
    pub async fn set_incident_reporting(
        &self,
        actor: &str,
        rules: Vec<ReportingRule>,
    ) -> StoreResult<Vec<ReportingRule>> {
        let mut errs = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            if Severity::parse(&r.severity).is_none() {
                errs.push(FieldError::new(
                    format!("[{i}].severity"),
                    format!("must be one of {}", Severity::expected()),
                ));
            }
            if rules[..i].iter().any(|o| o.severity == r.severity) {
                errs.push(FieldError::new(
                    format!("[{i}].severity"),
                    format!("{} is listed twice", r.severity),
                ));
            }
            if let Some(h) = r.report_within_hours
                && !(1..=8760).contains(&h)
            {
                errs.push(FieldError::new(
                    format!("[{i}].report_within_hours"),
                    "must be 1 to 8760 hours",
                ));
            }
        }
        Invalid::check(errs)?;
        self.set_setting(
            actor,
            "incident_reporting",
            &serde_json::to_value(&rules).unwrap_or_default(),
        )
        .await?;
        Ok(rules)
    }

    async fn report_due(
        &self,
        rules: &Rules,
        input: &IncidentInput,
    ) -> StoreResult<Option<String>> {
        let hours = self
            .incident_reporting(rules)
            .await?
            .into_iter()
            .find(|r| r.severity == input.severity.as_str())
            .and_then(|r| r.report_within_hours);
        let detected = Timestamp::parse(&input.detected_at)
            .map_err(|m| StoreError::invalid("detected_at", m))?;
        Ok(hours.map(|h| detected.plus_seconds(h * 3600).to_rfc3339()))
    }

    /// The id of an incident given its id or `INC-n`.
    pub async fn get_incident_id(&self, key: &str) -> StoreResult<String> {
        let r = match parse_ref("INC", key) {
            Some(n) => {
                sqlx::query("SELECT id FROM incidents WHERE ref_num = $1")
                    .bind(n)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query("SELECT id FROM incidents WHERE id = $1")
                    .bind(key)
                    .fetch_optional(&self.pool)
                    .await?
            }
        };
        match r {
            Some(r) => str_col(&r, "id"),
            None => Err(StoreError::not_found("incident", key)),
        }
    }

    fn incident_from_row(
        &self,
        r: &AnyRow,
        timeline: Vec<TimelineEntry>,
        evidence: Vec<aigov_core::records::EvidenceSummary>,
    ) -> StoreResult<Incident> {
        let due = opt_str(r, "report_due")?;
        let reported = opt_str(r, "reported_at")?;
        let now = self.now();
        let overdue = reported.is_none()
            && due
                .as_deref()
                .and_then(|d| Timestamp::parse(d).ok())
                .is_some_and(|d| d < now);
        let mut data: Value = serde_json::from_str(&str_col(r, "data")?).unwrap_or(Value::Null);
        if let Some(o) = data.as_object_mut() {
            o.insert("status".into(), json!(str_col(r, "status")?));
        }
        Ok(Incident {
            id: str_col(r, "id")?,
            r#ref: format!("INC-{}", int_col(r, "ref_num")?),
            data,
            report_due: due,
            reporting_overdue: overdue,
            review: opt_str(r, "review")?.and_then(|s| serde_json::from_str(&s).ok()),
            timeline,
            evidence,
            version: int_col(r, "version")?,
            created_at: str_col(r, "created_at")?,
            created_by: str_col(r, "created_by")?,
            updated_at: str_col(r, "updated_at")?,
            updated_by: str_col(r, "updated_by")?,
        })
    }

    async fn timeline(&self, id: &str) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query("SELECT id, at, entry, actor FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id").bind(id).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                Ok(TimelineEntry {
                    id: str_col(r, "id")?,
                    at: str_col(r, "at")?,
                    entry: str_col(r, "entry")?,
                    actor: str_col(r, "actor")?,
                })
            })
            .collect()
    }

    /// An incident by id or `INC-n`, with its timeline and evidence.
    pub async fn get_incident(&self, key: &str) -> StoreResult<Incident> {
        let id = self.get_incident_id(key).await?;
        let r = sqlx::query("SELECT * FROM incidents WHERE id = $1")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        let tl = self.timeline(&id).await?;
        let ev = self.evidence_for("incident", &id).await?;
        self.incident_from_row(&r, tl, ev)
    }

    /// Incidents, newest detection first, with the total count.
    pub async fn list_incidents(&self, q: &IncidentQuery) -> StoreResult<(Vec<Incident>, i64)> {
        let mut wh = vec!["1 = 1".to_string()];
        let mut binds: Vec<String> = Vec::new();
        if let Some(s) = q.status {
            binds.push(s.as_str().into());
            wh.push(format!("n.status = ${}", binds.len()));
        }
        if q.open {
            wh.push("n.status <> 'closed'".into());
        }
        if let Some(s) = &q.system {
            let sys = self.get_object(ObjectKind::System, s).await?;
            binds.push(sys.id);
            wh.push(format!("n.id IN (SELECT incident_id FROM incident_links WHERE target_type = 'system' AND role = 'affected' AND target_id = ${})", binds.len()));
        }
        if q.reporting_overdue {
            binds.push(self.now().to_rfc3339());
            wh.push(format!(
                "n.reported_at IS NULL AND n.report_due IS NOT NULL AND n.report_due < ${}",
                binds.len()
            ));
        }
        let w = wh.join(" AND ");
        let mut cq = sqlx::query(sql(format!(
            "SELECT COUNT(*) AS n FROM incidents n WHERE {w}"
        )));
        for b in &binds {
            cq = cq.bind(b.clone());
        }
        let total = int_col(&cq.fetch_one(&self.pool).await?, "n")?;
        let limit = if q.limit <= 0 { 50 } else { q.limit.min(500) };
        let mut lq = sqlx::query(sql(format!(
            "SELECT n.* FROM incidents n WHERE {w} ORDER BY n.detected_at DESC, n.ref_num DESC LIMIT {limit} OFFSET {}",
            q.offset.max(0)
        )));
        for b in &binds {
            lq = lq.bind(b.clone());
        }
        let rows = lq.fetch_all(&self.pool).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let id = str_col(r, "id")?;
            let ev = self.evidence_for("incident", &id).await?;
            out.push(self.incident_from_row(r, Vec::new(), ev)?);
        }
        Ok((out, total))
    }

    async fn incident_targets(&self, input: &IncidentInput) -> StoreResult<Targets> {
        let mut errs = Vec::new();
        let mut systems = Vec::new();
        for (i, s) in input.systems.iter().enumerate() {
            match self.get_object(ObjectKind::System, s).await {
                Ok(r) if !systems.iter().any(|(id, _)| *id == r.id) => {
                    systems.push((r.id, r.r#ref))
                }
                Ok(_) => {}
                Err(StoreError::NotFound { .. }) => errs.push(FieldError::new(
                    format!("systems[{i}]"),
                    format!("no system {s}"),
                )),
                Err(e) => return Err(e),
            }
        }
        let mut resolve = Vec::new();
        for (field, list) in [
            ("risks", &input.risks),
            ("root_cause_risks", &input.root_cause_risks),
        ] {
            let mut got: Vec<(String, String)> = Vec::new();
            for (i, k) in list.iter().enumerate() {
                match self.get_risk(k).await {
                    Ok(r) if !got.iter().any(|(id, _)| *id == r.id) => got.push((r.id, r.r#ref)),
                    Ok(_) => {}
                    Err(StoreError::NotFound { .. }) => errs.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("no risk {k}"),
                    )),
                    Err(e) => return Err(e),
                }
            }
            resolve.push(got);
        }
        Invalid::check(errs)?;
        let root = resolve.pop().unwrap_or_default();
        let risks = resolve.pop().unwrap_or_default();
        Ok((systems, risks, root))
    }

    /// The input with its references normalised to refs.
    fn normalise(input: &mut IncidentInput, t: &Targets) {
        let (systems, risks, root) = t;
        input.systems = systems.iter().map(|(_, r)| r.clone()).collect();
        input.risks = risks.iter().map(|(_, r)| r.clone()).collect();
        input.root_cause_risks = root.iter().map(|(_, r)| r.clone()).collect();
    }

    /// Writes the links of an incident, replacing the old ones.
    async fn write_links(tx: &mut crate::db::WriteTx, id: &str, t: &Targets) -> StoreResult<()> {
        sqlx::query("DELETE FROM incident_links WHERE incident_id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        let (systems, risks, root) = t;
        for (ty, role, list) in [
            ("system", AFFECTED, systems),
            ("risk", AFFECTED, risks),
            ("risk", ROOT_CAUSE, root),
        ] {
            for (tid, _) in list {
                sqlx::query("INSERT INTO incident_links (incident_id, target_type, target_id, role) VALUES ($1, $2, $3, $4)").bind(id).bind(ty).bind(tid).bind(role).execute(&mut *tx.tx).await?;
            }
        }
        Ok(())
    }

    /// Records an incident. The reporting deadline comes from the rule for its severity.
    pub async fn create_incident(
        &self,
        actor: &str,
        rules: &Rules,
        mut input: IncidentInput,
    ) -> StoreResult<Incident> {
        Invalid::check(input.validate())?;
        let targets = self.incident_targets(&input).await?;
        let due = self.report_due(rules, &input).await?;
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let n = tx.next_ref("incident").await?;
        let now = tx.now.to_rfc3339();
        Self::normalise(&mut input, &targets);
        let data = serde_json::to_value(&input).unwrap_or_default();
        sqlx::query(
            "INSERT INTO incidents (id, ref_num, title, severity, status, detected_at, report_due, reported_at, data, version, created_at, created_by, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10, $11, $10, $11)",
        )
        .bind(&id)
        .bind(n)
        .bind(&input.title)
        .bind(input.severity.as_str())
        .bind(input.status.as_str())
        .bind(norm_time(&input.detected_at))
        .bind(due.clone())
        .bind(input.reported_at.as_deref().map(norm_time))
        .bind(data.to_string())
        .bind(&now)
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
        Self::write_links(&mut tx, &id, &targets).await?;
        tx.audit(
            "incident.create",
            "incident",
            &id,
            None,
            Some(&data),
            json!({"ref": format!("INC-{n}"), "title": input.title, "severity": input.severity.as_str(), "report_due": due, "systems": input.systems, "risks": input.risks}),
        )
        .await?;
        tx.commit().await?;
        self.get_incident(&id).await
    }

    /// Edits an open incident with a JSON merge patch over its fields. A change of severity or
    /// detection time recomputes the reporting deadline.
    pub async fn update_incident(
        &self,
        actor: &str,
        rules: &Rules,
        key: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Incident> {
        self.update_incident_with(actor, Some(rules), key, patch, expected_version)
            .await
    }

    /// As [`SqlCore::update_incident`]; without rules the deadline stays as it is.
    async fn update_incident_with(
        &self,
        actor: &str,
        rules: Option<&Rules>,
        key: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Incident> {
        let before = self.get_incident(key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "incident",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        if before.data.get("status").and_then(Value::as_str) == Some("closed") {
            return Err(StoreError::Conflict(format!(
                "{} is closed; reopen it (POST …/reopen with a reason) to change it",
                before.r#ref
            )));
        }
        let mut merged = before.data.clone();
        aigov_core::inventory::merge_patch(&mut merged, &patch);
        let mut input: IncidentInput = serde_path_to_error::deserialize(merged)
            .map_err(|e| StoreError::invalid(&e.path().to_string(), e.inner().to_string()))?;
        Invalid::check(input.validate())?;
        let targets = self.incident_targets(&input).await?;
        let due = match rules {
            Some(rules) => self.report_due(rules, &input).await?,
            None => before.report_due.clone(),
        };
        let mut tx = self.begin_write(actor).await?;
        Self::normalise(&mut input, &targets);
        Self::write_links(&mut tx, &before.id, &targets).await?;
        let data = serde_json::to_value(&input).unwrap_or_default();
        sqlx::query("UPDATE incidents SET title = $1, severity = $2, status = $3, detected_at = $4, report_due = $5, reported_at = $6, data = $7, version = version + 1, updated_at = $8, updated_by = $9 WHERE id = $10")
            .bind(&input.title)
            .bind(input.severity.as_str())
            .bind(input.status.as_str())
            .bind(norm_time(&input.detected_at))
            .bind(due.clone())
            .bind(input.reported_at.as_deref().map(norm_time))
            .bind(data.to_string())
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        let mut details = json!({"ref": before.r#ref, "status": input.status.as_str(), "severity": input.severity.as_str()});
        if due != before.report_due {
            details["report_due"] = json!(due);
        }
        tx.audit(
            "incident.update",
            "incident",
            &before.id,
            Some(&before.data),
            Some(&data),
            details,
        )
        .await?;
        tx.commit().await?;
        self.get_incident(&before.id).await
    }

    /// Adds a timeline entry (`at` defaults to now).
    pub async fn add_timeline(
        &self,
        actor: &str,
        key: &str,
        at: Option<&str>,
        entry: &str,
    ) -> StoreResult<Incident> {
        let inc = self.get_incident(key).await?;
        let mut errs = Vec::new();
        let n = entry.trim().chars().count();
        if n == 0 {
            errs.push(FieldError::new("entry", "must not be empty"));
        } else if n > 5000 {
            errs.push(FieldError::new(
                "entry",
                format!("must have at most 5000 characters (has {n})"),
            ));
        }
        check_time(&mut errs, "at", &at.map(str::to_string));
        Invalid::check(errs)?;
        let mut tx = self.begin_write(actor).await?;
        let tid = tx.new_id();
        let now = tx.now.to_rfc3339();
        let at = at.map(norm_time).unwrap_or_else(|| now.clone());
        sqlx::query("INSERT INTO incident_timeline (id, incident_id, at, entry, actor, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&tid)
            .bind(&inc.id)
            .bind(&at)
            .bind(entry.trim())
            .bind(&tx.actor)
            .bind(&now)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("UPDATE incidents SET version = version + 1, updated_at = $1, updated_by = $2 WHERE id = $3").bind(&now).bind(&tx.actor).bind(&inc.id).execute(&mut *tx.tx).await?;
        tx.audit(
            "incident.timeline",
            "incident",
            &inc.id,
            None,
            None,
            json!({"ref": inc.r#ref, "at": at, "entry": entry.trim()}),
        )
        .await?;
        tx.commit().await?;
        self.get_incident(&inc.id).await
    }

    /// Closes an incident with its close-out review. Whether the reporting obligation was met is
    /// computed from the reported time and the deadline unless the reviewer states it.
    pub async fn close_incident(
        &self,
        actor: &str,
        key: &str,
        mut review: CloseOut,
        expected_version: i64,
    ) -> StoreResult<Incident> {
        let inc = self.get_incident(key).await?;
        if inc.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "incident",
                id: inc.id,
                expected: expected_version,
                current: inc.version,
            });
        }
        if inc.data.get("status").and_then(Value::as_str) == Some("closed") {
            return Err(StoreError::Conflict(format!(
                "{} is already closed",
                inc.r#ref
            )));
        }
        let mut errs = Vec::new();
        if review.summary.trim().is_empty() {
            errs.push(FieldError::new(
                "summary",
                "the close-out review needs a summary of what happened and how it was handled",
            ));
        }
        if review.summary.chars().count() > 20_000 || review.lessons.chars().count() > 20_000 {
            errs.push(FieldError::new(
                "summary",
                "summary and lessons have at most 20000 characters each",
            ));
        }
        Invalid::check(errs)?;
        let reported = inc
            .data
            .get("reported_at")
            .and_then(Value::as_str)
            .map(str::to_string);
        if review.reporting_met.is_none() {
            review.reporting_met = match (&inc.report_due, &reported) {
                (None, _) => None,
                (Some(_), None) => Some(false),
                (Some(d), Some(r)) => Some(
                    Timestamp::parse(r)
                        .ok()
                        .zip(Timestamp::parse(d).ok())
                        .is_some_and(|(r, d)| r <= d),
                ),
            };
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let mut rv = serde_json::to_value(&review).unwrap_or_default();
        rv["closed_at"] = json!(now);
        rv["closed_by"] = json!(tx.actor);
        let mut data = inc.data.clone();
        data["status"] = json!("closed");
        sqlx::query("UPDATE incidents SET status = 'closed', review = $1, data = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE id = $5")
            .bind(rv.to_string())
            .bind(data.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .bind(&inc.id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "incident.close",
            "incident",
            &inc.id,
            Some(&inc.data),
            Some(&data),
            json!({"ref": inc.r#ref, "review": rv}),
        )
        .await?;
        tx.commit().await?;
        self.get_incident(&inc.id).await
    }

    /// Reopens a closed incident (the review is kept in the audit log and cleared here).
    pub async fn reopen_incident(
        &self,
        actor: &str,
        key: &str,
        reason: &str,
        expected_version: i64,
    ) -> StoreResult<Incident> {
        let inc = self.get_incident(key).await?;
        if inc.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "incident",
                id: inc.id,
                expected: expected_version,
                current: inc.version,
            });
        }
        if inc.data.get("status").and_then(Value::as_str) != Some("closed") {
            return Err(StoreError::Conflict(format!("{} is not closed", inc.r#ref)));
        }
        if reason.trim().is_empty() {
            return Err(StoreError::invalid(
                "reason",
                "say why the incident is reopened",
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        let mut data = inc.data.clone();
        data["status"] = json!("open");
        sqlx::query("UPDATE incidents SET status = 'open', review = NULL, data = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4")
            .bind(data.to_string())
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(&inc.id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "incident.reopen",
            "incident",
            &inc.id,
            Some(&inc.data),
            Some(&data),
            json!({"ref": inc.r#ref, "reason": reason.trim(), "review": inc.review}),
        )
        .await?;
        tx.commit().await?;
        self.get_incident(&inc.id).await
    }

    /// Registers a new risk on `system` as the root cause of an incident and links it.
    pub async fn root_cause_new_risk(
        &self,
        actor: &str,
        lib: &Library,
        key: &str,
        system: &str,
        input: RiskInput,
    ) -> StoreResult<(Incident, Risk)> {
        let inc = self.get_incident(key).await?;
        if inc.data.get("status").and_then(Value::as_str) == Some("closed") {
            return Err(StoreError::Conflict(format!(
                "{} is closed; reopen it first",
                inc.r#ref
            )));
        }
        let risk = self.create_risk(actor, lib, system, input).await?;
        let mut roots: Vec<Value> = inc
            .data
            .get("root_cause_risks")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        roots.push(json!(risk.r#ref));
        // The risk exists now; linking it is a second audited change that keeps the deadline.
        let inc = self
            .update_incident_with(
                actor,
                None,
                &inc.id,
                json!({"root_cause_risks": roots}),
                inc.version,
            )
            .await?;
        Ok((inc, risk))
    }

    /// Incidents linked to a risk (affected or root cause): `(ref, title, role, status)`.
    pub async fn incidents_of_risk(&self, risk_id: &str) -> StoreResult<Vec<Value>> {
        let rows = sqlx::query("SELECT n.ref_num, n.title, n.status, l.role FROM incidents n JOIN incident_links l ON l.incident_id = n.id WHERE l.target_type = 'risk' AND l.target_id = $1 ORDER BY n.ref_num")
            .bind(risk_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| Ok(json!({"incident": format!("INC-{}", int_col(r, "ref_num")?), "title": str_col(r, "title")?, "status": str_col(r, "status")?, "role": r.try_get::<String, _>("role")?})))
            .collect()
    }
}

/// An RFC 3339 time in the stored fixed-width UTC form (so text order is time order).
fn norm_time(s: &str) -> String {
    Timestamp::parse(s)
        .map(Timestamp::to_rfc3339)
        .unwrap_or_else(|_| s.to_string())
}
