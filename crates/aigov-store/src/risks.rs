//! The "assess" and "respond" steps: the risk register (`RISK-n`), assessments with their
//! basis and history, treatment decisions, controls, action items, risk acceptances with a
//! frozen snapshot and expiry, overdue detection and dashboard aggregates.

use std::collections::BTreeMap;

use aigov_catalog::{Cite, Kind, Library};
use aigov_core::access::Role;
use aigov_core::grading;
use aigov_core::methodology::Methodology;
use aigov_core::records::{Acceptance, Action, Assessment, Control, Risk};
use aigov_core::risk::*;
use aigov_core::{FieldError, Invalid, Timestamp};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};
use crate::governance::{insert_assessment, refresh_risk_levels};

/// The number in `RISK-12`, `INC-3`, `EV-7`.
pub(crate) fn parse_ref(prefix: &str, key: &str) -> Option<i64> {
    let (p, n) = key.split_once('-')?;
    (p.eq_ignore_ascii_case(prefix)
        && !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && n.len() < 16)
        .then(|| n.parse().ok())
        .flatten()
}

/// The user behind an audit actor label (`user:alice`, `token:tk…/alice`).
pub(crate) fn actor_user(actor: &str) -> Option<&str> {
    if let Some(u) = actor.strip_prefix("user:") {
        return Some(u);
    }
    actor
        .strip_prefix("token:")
        .and_then(|t| t.split_once('/'))
        .map(|(_, u)| u)
}

/// Register filters.
#[derive(Debug, Clone, Default)]
pub struct RiskQuery {
    /// Only this system (id).
    pub system_id: Option<String>,
    /// Only this status.
    pub status: Option<RiskStatus>,
    /// Only this current level.
    pub level: Option<String>,
    /// Only this owner.
    pub owner_id: Option<String>,
    /// Case-insensitive substring of the title.
    pub q: Option<String>,
    /// Only risks mapped to this taxonomy item (`catalog@version:ref`).
    pub taxonomy: Option<String>,
    /// Only risks whose treatment is overdue.
    pub treatment_overdue: bool,
    /// Sort: ref, title, updated_at, level.
    pub sort: String,
    /// Descending.
    pub desc: bool,
    /// Page size.
    pub limit: i64,
    /// Skipped.
    pub offset: i64,
}

/// Overdue work.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overdue {
    /// Risks whose treatment should have started.
    pub treatments: Vec<Value>,
    /// Controls past their due date and not in place.
    pub controls: Vec<Value>,
    /// Action items past due.
    pub actions: Vec<Value>,
    /// Approved acceptances expiring within 30 days.
    pub acceptances_expiring: Vec<Value>,
    /// Acceptance requests awaiting a decision.
    pub acceptances_pending: Vec<Value>,
}

const RISK_COLS: &str = "r.id, r.ref_num, r.system_id, i.ref_num AS system_ref_num, r.data, r.status, r.treatment, r.treatment_rationale, r.inherent_level, r.current_level, r.residual_level, \
    r.current_likelihood, r.current_impact, r.assessed_at, r.treatment_due, r.version, r.created_at, r.created_by, r.updated_at, r.updated_by";
const RISK_FROM: &str = "FROM risks r JOIN inventory i ON i.id = r.system_id";

impl SqlCore {
    fn risk_from_row(&self, r: &AnyRow) -> StoreResult<Risk> {
        let status = str_col(r, "status")?;
        let treatment = opt_str(r, "treatment")?;
        let due = opt_str(r, "treatment_due")?;
        let now = self.now();
        let overdue = treatment.is_none()
            && matches!(status.as_str(), "identified" | "assessed")
            && due
                .as_deref()
                .and_then(|d| Timestamp::parse(d).ok())
                .is_some_and(|d| d < now);
        Ok(Risk {
            id: str_col(r, "id")?,
            r#ref: format!("RISK-{}", int_col(r, "ref_num")?),
            system_id: str_col(r, "system_id")?,
            system_ref: format!("SYS-{}", int_col(r, "system_ref_num")?),
            data: serde_json::from_str(&str_col(r, "data")?).unwrap_or(Value::Null),
            status,
            treatment,
            treatment_rationale: opt_str(r, "treatment_rationale")?,
            inherent_level: opt_str(r, "inherent_level")?,
            current_level: opt_str(r, "current_level")?,
            residual_level: opt_str(r, "residual_level")?,
            current_likelihood: r.try_get::<Option<i64>, _>("current_likelihood")?,
            current_impact: r.try_get::<Option<i64>, _>("current_impact")?,
            assessed_at: opt_str(r, "assessed_at")?,
            treatment_due: due,
            treatment_overdue: overdue,
            version: int_col(r, "version")?,
            created_at: str_col(r, "created_at")?,
            created_by: str_col(r, "created_by")?,
            updated_at: str_col(r, "updated_at")?,
            updated_by: str_col(r, "updated_by")?,
        })
    }

    /// A risk by id or `RISK-n`.
    pub async fn get_risk(&self, key: &str) -> StoreResult<Risk> {
        let r = match parse_ref("RISK", key) {
            Some(n) => {
                sqlx::query(sql(format!(
                    "SELECT {RISK_COLS} {RISK_FROM} WHERE r.ref_num = $1"
                )))
                .bind(n)
                .fetch_optional(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sql(format!(
                    "SELECT {RISK_COLS} {RISK_FROM} WHERE r.id = $1"
                )))
                .bind(key)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        match r {
            Some(r) => self.risk_from_row(&r),
            None => Err(StoreError::not_found("risk", key)),
        }
    }

    fn check_taxonomy(lib: &Library, input: &RiskInput) -> Vec<FieldError> {
        let mut e = input.validate();
        for (i, t) in input.taxonomy.iter().enumerate() {
            match Cite::parse(t) {
                Err(m) => e.push(FieldError::new(format!("taxonomy[{i}]"), m)),
                Ok(c) if c.version.is_none() => e.push(FieldError::new(
                    format!("taxonomy[{i}]"),
                    format!("cite the version too, e.g. {}@<version>:{}", c.id, c.r#ref),
                )),
                Ok(c) => {
                    if let Err(err) = lib.cite(&c) {
                        e.push(FieldError::new(format!("taxonomy[{i}]"), err.to_string()));
                    }
                }
            }
        }
        e
    }

    /// Registers a risk of a system.
    pub async fn create_risk(
        &self,
        actor: &str,
        lib: &Library,
        system: &str,
        input: RiskInput,
    ) -> StoreResult<Risk> {
        self.create_risk_with(actor, lib, system, input, None).await
    }

    pub(crate) async fn create_risk_with(
        &self,
        actor: &str,
        lib: &Library,
        system: &str,
        input: RiskInput,
        candidate: Option<(&str, &str)>,
    ) -> StoreResult<Risk> {
        Invalid::check(Self::check_taxonomy(lib, &input))?;
        let sys = self
            .get_object(aigov_core::inventory::ObjectKind::System, system)
            .await?;
        let mut tx = self.begin_write(actor).await?;
        if let Some(o) = &input.owner_id
            && sqlx::query("SELECT 1 FROM users WHERE id = $1 AND disabled = 0")
                .bind(o)
                .fetch_optional(&mut *tx.tx)
                .await?
                .is_none()
        {
            return Err(StoreError::invalid("owner_id", "no such enabled user"));
        }
        let id = tx.new_id();
        let n = tx.next_ref("risk").await?;
        let now = tx.now.to_rfc3339();
        let data = serde_json::to_value(&input).unwrap_or_default();
        sqlx::query(
            "INSERT INTO risks (id, ref_num, system_id, title, title_lower, data, owner_id, status, version, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 'identified', 1, $8, $9, $8, $9)",
        )
        .bind(&id)
        .bind(n)
        .bind(&sys.id)
        .bind(&input.title)
        .bind(input.title.to_lowercase())
        .bind(data.to_string())
        .bind(input.owner_id.clone())
        .bind(&now)
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
        if self.backend == crate::Backend::Sqlite {
            sqlx::query("INSERT INTO risk_titles (rowid, title) VALUES ($1, $2)")
                .bind(n)
                .bind(input.title.to_lowercase())
                .execute(&mut *tx.tx)
                .await?;
        }
        for t in &input.taxonomy {
            sqlx::query("INSERT INTO risk_taxonomy (risk_id, risk_ref, item) VALUES ($1, $2, $3)")
                .bind(&id)
                .bind(n)
                .bind(t)
                .execute(&mut *tx.tx)
                .await?;
        }
        let mut details = json!({"ref": format!("RISK-{n}"), "system": sys.r#ref, "title": input.title, "taxonomy": input.taxonomy, "unmapped": input.unmapped});
        if let Some((cid, reason)) = candidate {
            let k = sqlx::query("UPDATE candidates SET status = 'accepted', decision_reason = $1, decided_by = $2, decided_at = $3, risk_id = $4 WHERE id = $5 AND status = 'pending'")
                .bind(reason)
                .bind(&tx.actor)
                .bind(&now)
                .bind(&id)
                .bind(cid)
                .execute(&mut *tx.tx)
                .await?
                .rows_affected();
            if k != 1 {
                return Err(StoreError::Conflict(
                    "the candidate was decided meanwhile".into(),
                ));
            }
            details["candidate"] = json!(cid);
            details["reason"] = json!(reason);
        }
        tx.audit("risk.create", "risk", &id, None, Some(&data), details)
            .await?;
        tx.commit().await?;
        self.get_risk(&id).await
    }

    /// The register.
    pub async fn list_risks(&self, q: &RiskQuery) -> StoreResult<(Vec<Risk>, i64)> {
        let mut wh = vec!["1 = 1".to_string()];
        let mut args: Vec<Value> = Vec::new();
        let mut add = |cond: &str, v: Value, args: &mut Vec<Value>| {
            args.push(v);
            wh.push(cond.replace('?', &format!("${}", args.len())));
        };
        if let Some(s) = &q.system_id {
            add("r.system_id = ?", json!(s), &mut args);
        }
        if let Some(s) = q.status {
            add("r.status = ?", json!(s.as_str()), &mut args);
        }
        if let Some(l) = &q.level {
            add("r.current_level = ?", json!(l), &mut args);
        }
        if let Some(o) = &q.owner_id {
            add("r.owner_id = ?", json!(o), &mut args);
        }
        if let Some(t) = q.q.as_deref().filter(|t| !t.trim().is_empty()) {
            let mut p = String::from("%");
            for c in t.trim().to_lowercase().chars() {
                if matches!(c, '%' | '_' | '\\') {
                    p.push('\\');
                }
                p.push(c);
            }
            p.push('%');
            let plain = !t.contains(['%', '_', '\\']) && t.trim().chars().count() >= 3;
            if self.backend == crate::Backend::Sqlite && plain {
                // The trigram index answers LIKE for three characters or more.
                add(
                    "r.ref_num IN (SELECT rowid FROM risk_titles WHERE title LIKE ?)",
                    json!(p),
                    &mut args,
                );
            } else {
                add("r.title_lower LIKE ? ESCAPE '\\'", json!(p), &mut args);
            }
        }
        if let Some(t) = &q.taxonomy {
            add(
                "r.ref_num IN (SELECT risk_ref FROM risk_taxonomy WHERE item = ?)",
                json!(t),
                &mut args,
            );
        }
        if q.treatment_overdue {
            add(
                "r.treatment IS NULL AND r.status IN ('identified', 'assessed') AND r.treatment_due < ?",
                json!(self.now().to_rfc3339()),
                &mut args,
            );
        }
        let order = match q.sort.as_str() {
            "title" => "r.title_lower",
            "updated_at" => "r.updated_at",
            "level" => "r.current_rank",
            _ => "r.ref_num",
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let where_sql = wh.join(" AND ");
        let bind = |mut qq: sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments>| {
            for a in &args {
                qq = match a {
                    Value::String(s) => qq.bind(s.clone()),
                    other => qq.bind(other.as_i64().unwrap_or(0)),
                };
            }
            qq
        };
        let total = bind(sqlx::query(sql(format!(
            "SELECT COUNT(*) FROM risks r WHERE {where_sql}"
        ))))
        .fetch_one(&self.pool)
        .await?
        .try_get::<i64, _>(0)?;
        // PostgreSQL plans a text search with ORDER BY … LIMIT as a walk of the sort column's
        // index that filters row by row, which reads most of the table when the (few) matches
        // sit late in that order. When the count says the matches are few, an order expression
        // the index cannot answer makes the planner find them through the trigram index and
        // sort them; when they are many, the index walk soon finds a page of them.
        let inner_order =
            if self.backend == crate::Backend::Postgres && q.q.is_some() && total <= 10_000 {
                match order {
                    "r.title_lower" | "r.updated_at" => format!("({order} || '')"),
                    _ => format!("({order} + 0)"),
                }
            } else {
                order.to_string()
            };
        let n = args.len();
        // Deferred join: find the page's refs on the (indexed) filter and sort columns alone,
        // then read the wide rows of those 50 only, so deep pages do not drag whole rows.
        let list = bind(sqlx::query(sql(format!(
            "SELECT {RISK_COLS} {RISK_FROM} WHERE r.ref_num IN (SELECT r.ref_num FROM risks r WHERE {where_sql} ORDER BY {inner_order} {dir}, r.ref_num {dir} LIMIT ${} OFFSET ${}) ORDER BY {order} {dir}, r.ref_num {dir}",
            n + 1,
            n + 2
        ))))
            .bind(q.limit)
            .bind(q.offset)
            .fetch_all(&self.pool)
            .await?;
        Ok((
            list.iter()
                .map(|r| self.risk_from_row(r))
                .collect::<StoreResult<Vec<_>>>()?,
            total,
        ))
    }

    /// Edits a risk's fields with a JSON merge patch.
    pub async fn update_risk(
        &self,
        actor: &str,
        lib: &Library,
        key: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Risk> {
        if !patch.is_object() {
            return Err(StoreError::invalid(
                "body",
                "must be a JSON object (a JSON merge patch)",
            ));
        }
        let before = self.get_risk(key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "risk",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        let mut merged = before.data.clone();
        aigov_core::inventory::merge_patch(&mut merged, &patch);
        let input: RiskInput = serde_path_to_error::deserialize(merged.clone())
            .map_err(|e| StoreError::invalid(&e.path().to_string(), e.inner().to_string()))?;
        Invalid::check(Self::check_taxonomy(lib, &input))?;
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let data = serde_json::to_value(&input).unwrap_or_default();
        let n = sqlx::query("UPDATE risks SET title = $1, title_lower = $2, data = $3, owner_id = $4, version = version + 1, updated_at = $5, updated_by = $6 WHERE id = $7 AND version = $8")
            .bind(&input.title)
            .bind(input.title.to_lowercase())
            .bind(data.to_string())
            .bind(input.owner_id.clone())
            .bind(&now)
            .bind(&tx.actor)
            .bind(&before.id)
            .bind(expected_version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::VersionConflict {
                kind: "risk",
                id: before.id,
                expected: expected_version,
                current: expected_version + 1,
            });
        }
        if self.backend == crate::Backend::Sqlite
            && input.title != before.data["title"].as_str().unwrap_or_default()
        {
            sqlx::query("UPDATE risk_titles SET title = $1 WHERE rowid = $2")
                .bind(input.title.to_lowercase())
                .bind(parse_ref("RISK", &before.r#ref).unwrap_or(0))
                .execute(&mut *tx.tx)
                .await?;
        }
        sqlx::query("DELETE FROM risk_taxonomy WHERE risk_id = $1")
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        for t in &input.taxonomy {
            sqlx::query("INSERT INTO risk_taxonomy (risk_id, risk_ref, item) VALUES ($1, $2, $3)")
                .bind(&before.id)
                .bind(parse_ref("RISK", &before.r#ref).unwrap_or(0))
                .bind(t)
                .execute(&mut *tx.tx)
                .await?;
        }
        tx.audit("risk.update", "risk", &before.id, Some(&before.data), Some(&data), json!({"ref": before.r#ref, "changed": patch.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>())})).await?;
        tx.commit().await?;
        self.get_risk(&before.id).await
    }

    /// Closes or reopens a risk by hand, with a reason (other moves happen through the loop).
    pub async fn set_risk_status(
        &self,
        actor: &str,
        key: &str,
        to: RiskStatus,
        reason: &str,
        expected_version: i64,
    ) -> StoreResult<Risk> {
        let before = self.get_risk(key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "risk",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        if reason.trim().is_empty() {
            return Err(StoreError::invalid("reason", "say why the status changes"));
        }
        let from = RiskStatus::parse(&before.status).unwrap_or(RiskStatus::Identified);
        manual_transition(from, to).map_err(|m| StoreError::invalid("status", m))?;
        if from == RiskStatus::Closed
            && to == RiskStatus::Assessed
            && before.current_level.is_none()
            && before.inherent_level.is_none()
        {
            return Err(StoreError::invalid(
                "status",
                "the risk has no assessment; reopen it as identified",
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE risks SET status = $1, version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4")
            .bind(to.as_str())
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        if to == RiskStatus::Closed {
            // Closing withdraws open acceptance requests.
            sqlx::query("UPDATE acceptances SET status = 'withdrawn' WHERE risk_id = $1 AND status = 'pending'").bind(&before.id).execute(&mut *tx.tx).await?;
        }
        tx.audit("risk.status", "risk", &before.id, None, None, json!({"ref": before.r#ref, "from": before.status, "to": to.as_str(), "reason": reason.trim()})).await?;
        tx.commit().await?;
        self.get_risk(&before.id).await
    }

    /// Adds an assessment. The level comes from the system's methodology; the risk's status,
    /// levels and treatment deadline follow.
    pub async fn assess(
        &self,
        actor: &str,
        key: &str,
        input: AssessmentInput,
    ) -> StoreResult<(Risk, Assessment)> {
        let risk = self.get_risk(key).await?;
        if risk.status == "closed" {
            return Err(StoreError::invalid(
                "risk",
                "the risk is closed; reopen it to assess it",
            ));
        }
        let meth = self.system_methodology(&risk.system_id).await?;
        Invalid::check(input.validate(meth.likelihood.len(), meth.impact.len()))?;
        for (i, e) in input.evidence.iter().enumerate() {
            let missing = match e.kind {
                EvidenceType::Incident => self.get_incident_id(&e.r#ref).await.is_err(),
                EvidenceType::Evidence => self.get_evidence(&e.r#ref).await.is_err(),
                _ => false,
            };
            if missing {
                return Err(StoreError::invalid(
                    &format!("evidence[{i}].ref"),
                    format!("no {} {}", e.kind, e.r#ref),
                ));
            }
        }
        let (level, questionnaire) = match (&input.questionnaire, input.likelihood, input.impact) {
            (Some(a), _, _) => {
                let g = grading::grade(a);
                let r =
                    Methodology::rescale(g.rank + 1, grading::GRADES.len(), meth.levels.len()) - 1;
                let lv = meth.levels.get(r).map(|l| l.id.clone()).unwrap_or_default();
                (lv, Some(json!({"answers": a, "grade": g}).to_string()))
            }
            (None, Some(l), Some(i)) => (
                meth.level(l, i).map(|x| x.id.clone()).unwrap_or_default(),
                None,
            ),
            _ => {
                return Err(StoreError::invalid(
                    "likelihood",
                    "give likelihood and impact or questionnaire answers",
                ));
            }
        };
        let mut tx = self.begin_write(actor).await?;
        let evidence = serde_json::to_value(&input.evidence).unwrap_or_default();
        let aid = insert_assessment(
            &mut tx,
            &risk.id,
            input.kind,
            input.likelihood.map(|x| x as i64),
            input.impact.map(|x| x as i64),
            &level,
            &meth.id,
            input.basis.as_str(),
            input.rationale.trim(),
            &evidence,
            questionnaire,
        )
        .await?;
        refresh_risk_levels(&mut tx, &risk.id, &meth).await?;
        sqlx::query("UPDATE risks SET version = version + 1, updated_at = $1, updated_by = $2 WHERE id = $3").bind(tx.now.to_rfc3339()).bind(&tx.actor).bind(&risk.id).execute(&mut *tx.tx).await?;
        tx.audit(
            "risk.assess",
            "risk",
            &risk.id,
            None,
            None,
            json!({"ref": risk.r#ref, "assessment": aid, "kind": input.kind.as_str(), "likelihood": input.likelihood, "impact": input.impact, "level": level, "basis": input.basis.as_str(), "evidence": evidence}),
        )
        .await?;
        tx.commit().await?;
        let a = self
            .assessments(&risk.id)
            .await?
            .into_iter()
            .find(|a| a.id == aid)
            .ok_or_else(|| StoreError::Internal("assessment vanished".into()))?;
        Ok((self.get_risk(&risk.id).await?, a))
    }

    /// A risk's assessments, oldest first.
    pub async fn assessments(&self, key: &str) -> StoreResult<Vec<Assessment>> {
        let risk = self.get_risk(key).await?;
        let rows = sqlx::query("SELECT * FROM assessments WHERE risk_id = $1 ORDER BY at, id")
            .bind(&risk.id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Assessment {
                    id: str_col(r, "id")?,
                    risk_id: str_col(r, "risk_id")?,
                    kind: str_col(r, "kind")?,
                    likelihood: r.try_get::<Option<i64>, _>("likelihood")?,
                    impact: r.try_get::<Option<i64>, _>("impact")?,
                    level: str_col(r, "level")?,
                    methodology_id: str_col(r, "methodology_id")?,
                    basis: str_col(r, "basis")?,
                    rationale: str_col(r, "rationale")?,
                    evidence: serde_json::from_str(&str_col(r, "evidence")?).unwrap_or(Value::Null),
                    questionnaire: opt_str(r, "questionnaire")?
                        .and_then(|q| serde_json::from_str(&q).ok()),
                    at: str_col(r, "at")?,
                    actor: str_col(r, "actor")?,
                })
            })
            .collect()
    }

    /// Records the treatment decision. Mitigate, avoid and transfer start treatment; accept
    /// waits for an approved acceptance.
    pub async fn set_treatment(
        &self,
        actor: &str,
        key: &str,
        decision: Treatment,
        rationale: &str,
        expected_version: i64,
    ) -> StoreResult<Risk> {
        let before = self.get_risk(key).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "risk",
                id: before.id,
                expected: expected_version,
                current: before.version,
            });
        }
        if rationale.trim().is_empty() {
            return Err(StoreError::invalid("rationale", "say why this treatment"));
        }
        match before.status.as_str() {
            "identified" => {
                return Err(StoreError::invalid(
                    "decision",
                    "assess the risk before deciding its treatment",
                ));
            }
            "closed" => return Err(StoreError::invalid("decision", "the risk is closed")),
            "accepted" if decision == Treatment::Accept => {
                return Err(StoreError::invalid(
                    "decision",
                    "the risk is accepted already",
                ));
            }
            _ => {}
        }
        let status = match decision {
            Treatment::Accept => before.status.clone(),
            _ => "treating".to_string(),
        };
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE risks SET treatment = $1, treatment_rationale = $2, status = $3, version = version + 1, updated_at = $4, updated_by = $5 WHERE id = $6")
            .bind(decision.as_str())
            .bind(rationale.trim())
            .bind(&status)
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(&before.id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("risk.treatment", "risk", &before.id, None, None, json!({"ref": before.r#ref, "decision": decision.as_str(), "rationale": rationale.trim(), "from": before.treatment})).await?;
        tx.commit().await?;
        self.get_risk(&before.id).await
    }

    async fn check_control_source(
        &self,
        lib: &Library,
        input: &mut ControlInput,
    ) -> StoreResult<()> {
        if let Some(s) = &input.source {
            let c = Cite::parse(s).map_err(|m| StoreError::invalid("source", m))?;
            let (cat, it) = lib
                .cite(&c)
                .map_err(|e| StoreError::invalid("source", e.to_string()))?;
            if !matches!(
                it.kind,
                Kind::Measure | Kind::Control | Kind::Requirement | Kind::Guideline
            ) {
                return Err(StoreError::invalid(
                    "source",
                    format!(
                        "{} is a {}; controls come from measures, controls, requirements or guidelines",
                        it.r#ref, it.kind
                    ),
                ));
            }
            input.source = Some(format!("{}:{}", cat.key(), it.r#ref));
            if input.title.trim().is_empty() {
                input.title = it
                    .title
                    .en
                    .clone()
                    .or(it.title.zh.clone())
                    .unwrap_or_default();
            }
        }
        Ok(())
    }

    fn control_from_row(
        &self,
        r: &AnyRow,
        evidence: Vec<aigov_core::records::EvidenceSummary>,
    ) -> StoreResult<Control> {
        let data: Value = serde_json::from_str(&str_col(r, "data")?).unwrap_or(Value::Null);
        let status = str_col(r, "status")?;
        let due = opt_str(r, "due_date")?;
        let today = &self.now().to_rfc3339()[..10];
        let overdue = due.as_deref().is_some_and(|d| d < today)
            && !matches!(status.as_str(), "implemented" | "verified");
        Ok(Control {
            id: str_col(r, "id")?,
            risk_id: str_col(r, "risk_id")?,
            data,
            overdue,
            evidence,
            version: int_col(r, "version")?,
            created_at: str_col(r, "created_at")?,
            created_by: str_col(r, "created_by")?,
            updated_at: str_col(r, "updated_at")?,
            updated_by: str_col(r, "updated_by")?,
        })
    }

    /// A control.
    pub async fn get_control(&self, id: &str) -> StoreResult<Control> {
        let r = sqlx::query("SELECT * FROM controls WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found("control", id));
        };
        let ev = self.evidence_for("control", id).await?;
        self.control_from_row(&r, ev)
    }

    /// A risk's controls.
    pub async fn list_controls(&self, key: &str) -> StoreResult<Vec<Control>> {
        let risk = self.get_risk(key).await?;
        let rows = sqlx::query("SELECT * FROM controls WHERE risk_id = $1 ORDER BY created_at, id")
            .bind(&risk.id)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let ev = self.evidence_for("control", &str_col(r, "id")?).await?;
            out.push(self.control_from_row(r, ev)?);
        }
        Ok(out)
    }

    /// Adds a control to a risk.
    pub async fn create_control(
        &self,
        actor: &str,
        lib: &Library,
        key: &str,
        mut input: ControlInput,
    ) -> StoreResult<Control> {
        let risk = self.get_risk(key).await?;
        self.check_control_source(lib, &mut input).await?;
        Invalid::check(input.validate())?;
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let now = tx.now.to_rfc3339();
        let data = serde_json::to_value(&input).unwrap_or_default();
        sqlx::query("INSERT INTO controls (id, risk_id, source, data, status, due_date, owner_id, version, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $8, $9)")
            .bind(&id)
            .bind(&risk.id)
            .bind(input.source.clone())
            .bind(data.to_string())
            .bind(input.status.as_str())
            .bind(input.due_date.clone())
            .bind(input.owner_id.clone())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "control.create",
            "control",
            &id,
            None,
            Some(&data),
            json!({"risk": risk.r#ref, "source": input.source, "title": input.title}),
        )
        .await?;
        tx.commit().await?;
        self.get_control(&id).await
    }

    /// Edits a control with a JSON merge patch.
    pub async fn update_control(
        &self,
        actor: &str,
        lib: &Library,
        id: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Control> {
        let before = self.get_control(id).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "control",
                id: id.into(),
                expected: expected_version,
                current: before.version,
            });
        }
        let mut merged = before.data.clone();
        aigov_core::inventory::merge_patch(&mut merged, &patch);
        let mut input: ControlInput = serde_path_to_error::deserialize(merged)
            .map_err(|e| StoreError::invalid(&e.path().to_string(), e.inner().to_string()))?;
        self.check_control_source(lib, &mut input).await?;
        Invalid::check(input.validate())?;
        let mut tx = self.begin_write(actor).await?;
        let data = serde_json::to_value(&input).unwrap_or_default();
        sqlx::query("UPDATE controls SET source = $1, data = $2, status = $3, due_date = $4, owner_id = $5, version = version + 1, updated_at = $6, updated_by = $7 WHERE id = $8")
            .bind(input.source.clone())
            .bind(data.to_string())
            .bind(input.status.as_str())
            .bind(input.due_date.clone())
            .bind(input.owner_id.clone())
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "control.update",
            "control",
            id,
            Some(&before.data),
            Some(&data),
            json!({"status": input.status.as_str(), "effectiveness": input.effectiveness.as_str()}),
        )
        .await?;
        tx.commit().await?;
        self.get_control(id).await
    }

    /// Removes a control (and its action items' link to it).
    pub async fn delete_control(&self, actor: &str, id: &str) -> StoreResult<()> {
        let before = self.get_control(id).await?;
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE actions SET control_id = NULL WHERE control_id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM evidence_links WHERE target_type = 'control' AND target_id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM controls WHERE id = $1")
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "control.delete",
            "control",
            id,
            Some(&before.data),
            None,
            json!({"risk_id": before.risk_id}),
        )
        .await?;
        tx.commit().await
    }

    fn action_from_row(&self, r: &AnyRow) -> StoreResult<Action> {
        let done = int_col(r, "done")? != 0;
        let due = opt_str(r, "due_date")?;
        let today = &self.now().to_rfc3339()[..10];
        Ok(Action {
            id: str_col(r, "id")?,
            risk_id: str_col(r, "risk_id")?,
            control_id: opt_str(r, "control_id")?,
            title: str_col(r, "title")?,
            owner_id: opt_str(r, "owner_id")?,
            overdue: !done && due.as_deref().is_some_and(|d| d < today),
            due_date: due,
            done,
            version: int_col(r, "version")?,
            updated_at: str_col(r, "updated_at")?,
        })
    }

    /// A risk's action items.
    pub async fn list_actions(&self, key: &str) -> StoreResult<Vec<Action>> {
        let risk = self.get_risk(key).await?;
        let rows = sqlx::query("SELECT * FROM actions WHERE risk_id = $1 ORDER BY created_at, id")
            .bind(&risk.id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| self.action_from_row(r)).collect()
    }

    /// Adds an action item.
    pub async fn create_action(
        &self,
        actor: &str,
        key: &str,
        input: ActionInput,
    ) -> StoreResult<Action> {
        let risk = self.get_risk(key).await?;
        Invalid::check(input.validate())?;
        if let Some(c) = &input.control_id
            && self
                .get_control(c)
                .await
                .map(|c| c.risk_id != risk.id)
                .unwrap_or(true)
        {
            return Err(StoreError::invalid(
                "control_id",
                "no such control on this risk",
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let now = tx.now.to_rfc3339();
        sqlx::query("INSERT INTO actions (id, risk_id, control_id, title, owner_id, due_date, done, version, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $8, $9)")
            .bind(&id)
            .bind(&risk.id)
            .bind(input.control_id.clone())
            .bind(&input.title)
            .bind(input.owner_id.clone())
            .bind(input.due_date.clone())
            .bind(input.done as i64)
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "action.create",
            "action",
            &id,
            None,
            Some(&serde_json::to_value(&input).unwrap_or_default()),
            json!({"risk": risk.r#ref, "title": input.title}),
        )
        .await?;
        tx.commit().await?;
        let r = sqlx::query("SELECT * FROM actions WHERE id = $1")
            .bind(&id)
            .fetch_one(&self.pool)
            .await?;
        self.action_from_row(&r)
    }

    /// Edits an action item (title, owner, due date, done) with a merge patch.
    pub async fn update_action(
        &self,
        actor: &str,
        id: &str,
        patch: Value,
        expected_version: i64,
    ) -> StoreResult<Action> {
        let r = sqlx::query("SELECT * FROM actions WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found("action", id));
        };
        let before = self.action_from_row(&r)?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "action",
                id: id.into(),
                expected: expected_version,
                current: before.version,
            });
        }
        let mut cur = json!({"title": before.title, "control_id": before.control_id, "owner_id": before.owner_id, "due_date": before.due_date, "done": before.done});
        aigov_core::inventory::merge_patch(&mut cur, &patch);
        let input: ActionInput = serde_path_to_error::deserialize(cur)
            .map_err(|e| StoreError::invalid(&e.path().to_string(), e.inner().to_string()))?;
        Invalid::check(input.validate())?;
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE actions SET title = $1, control_id = $2, owner_id = $3, due_date = $4, done = $5, version = version + 1, updated_at = $6, updated_by = $7 WHERE id = $8")
            .bind(&input.title)
            .bind(input.control_id.clone())
            .bind(input.owner_id.clone())
            .bind(input.due_date.clone())
            .bind(input.done as i64)
            .bind(tx.now.to_rfc3339())
            .bind(&tx.actor)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "action.update",
            "action",
            id,
            None,
            Some(&serde_json::to_value(&input).unwrap_or_default()),
            json!({"done": input.done}),
        )
        .await?;
        tx.commit().await?;
        let r = sqlx::query("SELECT * FROM actions WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        self.action_from_row(&r)
    }

    fn acceptance_from_row(r: &AnyRow) -> StoreResult<Acceptance> {
        Ok(Acceptance {
            id: str_col(r, "id")?,
            risk_id: str_col(r, "risk_id")?,
            status: str_col(r, "status")?,
            rationale: str_col(r, "rationale")?,
            level: str_col(r, "level")?,
            required_role: str_col(r, "required_role")?,
            requested_by: str_col(r, "requested_by")?,
            requested_at: str_col(r, "requested_at")?,
            expires_at: str_col(r, "expires_at")?,
            decided_by: opt_str(r, "decided_by")?,
            decided_at: opt_str(r, "decided_at")?,
            decision_note: opt_str(r, "decision_note")?,
            snapshot: opt_str(r, "snapshot")?.and_then(|s| serde_json::from_str(&s).ok()),
        })
    }

    /// An acceptance.
    pub async fn get_acceptance(&self, id: &str) -> StoreResult<Acceptance> {
        let r = sqlx::query("SELECT * FROM acceptances WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        r.as_ref()
            .map(Self::acceptance_from_row)
            .unwrap_or_else(|| Err(StoreError::not_found("acceptance", id)))
    }

    /// A risk's acceptance requests, newest first.
    pub async fn list_acceptances(&self, key: &str) -> StoreResult<Vec<Acceptance>> {
        let risk = self.get_risk(key).await?;
        let rows = sqlx::query(
            "SELECT * FROM acceptances WHERE risk_id = $1 ORDER BY requested_at DESC, id DESC",
        )
        .bind(&risk.id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(Self::acceptance_from_row).collect()
    }

    /// Asks for a risk to be accepted until `expires_at`. The approver role comes from the
    /// appetite of the risk's level (residual, else current, else inherent).
    pub async fn request_acceptance(
        &self,
        actor: &str,
        key: &str,
        rationale: &str,
        expires_at: Timestamp,
    ) -> StoreResult<Acceptance> {
        let risk = self.get_risk(key).await?;
        let mut errs = Vec::new();
        if rationale.trim().is_empty() {
            errs.push(FieldError::new(
                "rationale",
                "say why the risk can be accepted",
            ));
        }
        let now = self.now();
        if expires_at <= now {
            errs.push(FieldError::new("expires_at", "must be in the future"));
        } else if expires_at.seconds_since(now) > 3 * 366 * 86_400 {
            errs.push(FieldError::new(
                "expires_at",
                "must be at most three years ahead",
            ));
        }
        Invalid::check(errs)?;
        let level = risk
            .residual_level
            .clone()
            .or(risk.current_level.clone())
            .or(risk.inherent_level.clone());
        let Some(level) = level else {
            return Err(StoreError::invalid(
                "risk",
                "assess the risk before asking to accept it",
            ));
        };
        if matches!(risk.status.as_str(), "closed" | "accepted") {
            return Err(StoreError::invalid(
                "risk",
                format!("the risk is {}", risk.status),
            ));
        }
        let meth = self.system_methodology(&risk.system_id).await?;
        let role = meth
            .level_by_id(&level)
            .map(|l| l.approver)
            .unwrap_or(Role::Admin);
        let mut tx = self.begin_write(actor).await?;
        let open =
            sqlx::query("SELECT id FROM acceptances WHERE risk_id = $1 AND status = 'pending'")
                .bind(&risk.id)
                .fetch_optional(&mut *tx.tx)
                .await?;
        if open.is_some() {
            return Err(StoreError::Conflict(
                "an acceptance request for this risk is pending already".into(),
            ));
        }
        let id = tx.new_id();
        sqlx::query("INSERT INTO acceptances (id, risk_id, status, rationale, level, required_role, requested_by, requested_at, expires_at) VALUES ($1, $2, 'pending', $3, $4, $5, $6, $7, $8)")
            .bind(&id)
            .bind(&risk.id)
            .bind(rationale.trim())
            .bind(&level)
            .bind(role.as_str())
            .bind(&tx.actor)
            .bind(tx.now.to_rfc3339())
            .bind(expires_at.to_rfc3339())
            .execute(&mut *tx.tx)
            .await?;
        tx.audit("acceptance.request", "acceptance", &id, None, None, json!({"risk": risk.r#ref, "level": level, "required_role": role.as_str(), "expires_at": expires_at.to_rfc3339()})).await?;
        tx.commit().await?;
        self.get_acceptance(&id).await
    }

    /// Approves or rejects a pending request. The decider's role must cover the required role,
    /// and nobody decides their own request. Approval freezes the risk and its assessments.
    pub async fn decide_acceptance(
        &self,
        actor: &str,
        decider_role: Role,
        id: &str,
        approve: bool,
        note: &str,
    ) -> StoreResult<Acceptance> {
        let a = self.get_acceptance(id).await?;
        if a.status != "pending" {
            return Err(StoreError::Conflict(format!(
                "the request is {} already",
                a.status
            )));
        }
        let required = Role::parse(&a.required_role).unwrap_or(Role::Admin);
        if !decider_role.covers(required) {
            return Err(StoreError::invalid(
                "role",
                format!(
                    "accepting a risk at level {} needs the {} role (you act as {decider_role})",
                    a.level, required
                ),
            ));
        }
        if let (Some(me), Some(them)) = (actor_user(actor), actor_user(&a.requested_by))
            && me == them
        {
            return Err(StoreError::invalid(
                "decided_by",
                "the requester cannot decide their own request",
            ));
        }
        if note.trim().is_empty() {
            return Err(StoreError::invalid(
                "note",
                "record the reason for the decision",
            ));
        }
        let risk = self.get_risk(&a.risk_id).await?;
        let snapshot = if approve {
            let mut latest = serde_json::Map::new();
            for x in self.assessments(&risk.id).await? {
                latest.insert(x.kind.clone(), serde_json::to_value(&x).unwrap_or_default());
            }
            let controls = self.list_controls(&risk.id).await?;
            Some(json!({"risk": risk, "assessments": latest, "controls": controls}))
        } else {
            None
        };
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let n = sqlx::query("UPDATE acceptances SET status = $1, decided_by = $2, decided_at = $3, decision_note = $4, snapshot = $5 WHERE id = $6 AND status = 'pending'")
            .bind(if approve { "approved" } else { "rejected" })
            .bind(&tx.actor)
            .bind(&now)
            .bind(note.trim())
            .bind(snapshot.as_ref().map(|s| s.to_string()))
            .bind(id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::Conflict(
                "the request was decided meanwhile".into(),
            ));
        }
        if approve {
            sqlx::query("UPDATE risks SET status = 'accepted', treatment = 'accept', treatment_rationale = COALESCE(treatment_rationale, $1), version = version + 1, updated_at = $2, updated_by = $3 WHERE id = $4")
                .bind(&a.rationale)
                .bind(&now)
                .bind(&tx.actor)
                .bind(&risk.id)
                .execute(&mut *tx.tx)
                .await?;
        }
        let digest = snapshot.as_ref().map(aigov_core::audit::digest);
        tx.audit(if approve { "acceptance.approve" } else { "acceptance.reject" }, "acceptance", id, None, snapshot.as_ref(), json!({"risk": risk.r#ref, "level": a.level, "note": note.trim(), "snapshot_digest": digest})).await?;
        tx.commit().await?;
        self.get_acceptance(id).await
    }

    /// Withdraws a pending request.
    pub async fn withdraw_acceptance(&self, actor: &str, id: &str) -> StoreResult<Acceptance> {
        let a = self.get_acceptance(id).await?;
        if a.status != "pending" {
            return Err(StoreError::Conflict(format!("the request is {}", a.status)));
        }
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE acceptances SET status = 'withdrawn', decided_by = $1, decided_at = $2 WHERE id = $3").bind(&tx.actor).bind(tx.now.to_rfc3339()).bind(id).execute(&mut *tx.tx).await?;
        tx.audit(
            "acceptance.withdraw",
            "acceptance",
            id,
            None,
            None,
            json!({"risk_id": a.risk_id}),
        )
        .await?;
        tx.commit().await?;
        self.get_acceptance(id).await
    }

    /// Lapses approved acceptances whose time ran out; their risks reopen as `assessed`.
    /// Returns how many lapsed. Run periodically (the server does every minute).
    pub async fn expire_acceptances(&self) -> StoreResult<usize> {
        let now = self.now().to_rfc3339();
        let due = sqlx::query(
            "SELECT id, risk_id FROM acceptances WHERE status = 'approved' AND expires_at <= $1",
        )
        .bind(&now)
        .fetch_all(&self.pool)
        .await?;
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write("system").await?;
        for r in &due {
            let (id, risk_id) = (str_col(r, "id")?, str_col(r, "risk_id")?);
            sqlx::query("UPDATE acceptances SET status = 'expired' WHERE id = $1")
                .bind(&id)
                .execute(&mut *tx.tx)
                .await?;
            sqlx::query("UPDATE risks SET status = 'assessed', treatment = NULL, version = version + 1, updated_at = $1, updated_by = 'system' WHERE id = $2 AND status = 'accepted'")
                .bind(&now)
                .bind(&risk_id)
                .execute(&mut *tx.tx)
                .await?;
            tx.audit(
                "acceptance.expire",
                "acceptance",
                &id,
                None,
                None,
                json!({"risk_id": risk_id}),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(due.len())
    }

    /// Overdue work across the register.
    pub async fn overdue(&self) -> StoreResult<Overdue> {
        let now = self.now();
        let now_s = now.to_rfc3339();
        let today = now_s[..10].to_string();
        let soon = now.plus_seconds(30 * 86_400).to_rfc3339();
        let mut o = Overdue::default();
        for r in sqlx::query("SELECT r.id, r.ref_num, r.title, r.current_level, r.treatment_due FROM risks r WHERE r.treatment IS NULL AND r.status IN ('identified', 'assessed') AND r.treatment_due < $1 ORDER BY r.treatment_due LIMIT 500")
            .bind(&now_s)
            .fetch_all(&self.pool)
            .await?
        {
            o.treatments.push(json!({"risk": format!("RISK-{}", int_col(&r, "ref_num")?), "id": str_col(&r, "id")?, "title": str_col(&r, "title")?, "level": opt_str(&r, "current_level")?, "due": opt_str(&r, "treatment_due")?}));
        }
        for r in sqlx::query("SELECT c.id, c.data, c.due_date, r.ref_num FROM controls c JOIN risks r ON r.id = c.risk_id WHERE c.due_date < $1 AND c.status NOT IN ('implemented', 'verified') ORDER BY c.due_date LIMIT 500")
            .bind(&today)
            .fetch_all(&self.pool)
            .await?
        {
            let data: Value = serde_json::from_str(&str_col(&r, "data")?).unwrap_or(Value::Null);
            o.controls.push(json!({"control": str_col(&r, "id")?, "risk": format!("RISK-{}", int_col(&r, "ref_num")?), "title": data.get("title"), "due": opt_str(&r, "due_date")?}));
        }
        for r in sqlx::query("SELECT a.id, a.title, a.due_date, r.ref_num FROM actions a JOIN risks r ON r.id = a.risk_id WHERE a.done = 0 AND a.due_date < $1 ORDER BY a.due_date LIMIT 500").bind(&today).fetch_all(&self.pool).await? {
            o.actions.push(json!({"action": str_col(&r, "id")?, "risk": format!("RISK-{}", int_col(&r, "ref_num")?), "title": str_col(&r, "title")?, "due": opt_str(&r, "due_date")?}));
        }
        for r in sqlx::query("SELECT a.id, a.expires_at, a.level, r.ref_num FROM acceptances a JOIN risks r ON r.id = a.risk_id WHERE a.status = 'approved' AND a.expires_at < $1 ORDER BY a.expires_at LIMIT 500")
            .bind(&soon)
            .fetch_all(&self.pool)
            .await?
        {
            o.acceptances_expiring.push(json!({"acceptance": str_col(&r, "id")?, "risk": format!("RISK-{}", int_col(&r, "ref_num")?), "level": str_col(&r, "level")?, "expires_at": str_col(&r, "expires_at")?}));
        }
        for r in sqlx::query("SELECT a.id, a.requested_at, a.required_role, a.level, r.ref_num FROM acceptances a JOIN risks r ON r.id = a.risk_id WHERE a.status = 'pending' ORDER BY a.requested_at LIMIT 500")
            .fetch_all(&self.pool)
            .await?
        {
            o.acceptances_pending.push(json!({"acceptance": str_col(&r, "id")?, "risk": format!("RISK-{}", int_col(&r, "ref_num")?), "level": str_col(&r, "level")?, "required_role": str_col(&r, "required_role")?, "requested_at": str_col(&r, "requested_at")?}));
        }
        Ok(o)
    }

    /// Dashboard aggregates: open risks by level, status and system; the likelihood × impact
    /// heat map of the default methodology; overdue counts; open incidents with reporting
    /// deadlines; checklist coverage per adopted framework.
    pub async fn dashboard(&self) -> StoreResult<Value> {
        // The parts are independent reads: run them at once on separate connections, so the
        // page waits for the slowest rather than for the sum.
        let levels_statuses = async {
            // One pass over the (status, current_level) index gives both groupings.
            let mut levels: BTreeMap<Option<String>, i64> = BTreeMap::new();
            let mut statuses: BTreeMap<String, i64> = BTreeMap::new();
            for r in sqlx::query(
                "SELECT status, current_level, COUNT(*) AS n FROM risks GROUP BY status, current_level",
            )
            .fetch_all(&self.pool)
            .await?
            {
                let (st, lv, n) = (
                    str_col(&r, "status")?,
                    opt_str(&r, "current_level")?,
                    int_col(&r, "n")?,
                );
                if st != "closed" {
                    *levels.entry(lv).or_default() += n;
                }
                *statuses.entry(st).or_default() += n;
            }
            let by_level: Vec<Value> = levels
                .into_iter()
                .map(|(k, n)| json!({"key": k, "count": n}))
                .collect();
            let by_status: Vec<Value> = statuses
                .into_iter()
                .map(|(k, n)| json!({"key": k, "count": n}))
                .collect();
            StoreResult::Ok((by_level, by_status))
        };
        let by_system = async {
            sqlx::query(
                "SELECT i.ref_num, i.name, t.n FROM (SELECT system_id, COUNT(*) AS n FROM risks WHERE status <> 'closed' GROUP BY system_id ORDER BY n DESC, system_id LIMIT 10) t JOIN inventory i ON i.id = t.system_id ORDER BY t.n DESC, i.ref_num",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(json!({"system": format!("SYS-{}", int_col(r, "ref_num")?), "name": str_col(r, "name")?, "count": int_col(r, "n")?})))
            .collect::<StoreResult<Vec<Value>>>()
        };
        let heat = async {
            // Systems on another methodology have another grid: leave them out of the map.
            // Usually there are none, and then the filter is left out too.
            let other: Vec<String> = sqlx::query(
                "SELECT id FROM inventory WHERE methodology_id IS NOT NULL AND methodology_id <> 'aigov-5x5'",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| str_col(r, "id"))
            .collect::<StoreResult<_>>()?;
            let filter = if other.is_empty() {
                ""
            } else {
                " AND r.system_id NOT IN (SELECT id FROM inventory WHERE methodology_id IS NOT NULL AND methodology_id <> 'aigov-5x5')"
            };
            sqlx::query(sql(format!(
                "SELECT r.current_likelihood, r.current_impact, COUNT(*) AS n FROM risks r \
                 WHERE r.status <> 'closed' AND r.current_likelihood IS NOT NULL{filter} \
                 GROUP BY r.current_likelihood, r.current_impact"
            )))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Ok(json!({"likelihood": r.try_get::<i64, _>("current_likelihood")?, "impact": r.try_get::<i64, _>("current_impact")?, "count": int_col(r, "n")?})))
            .collect::<StoreResult<Vec<Value>>>()
        };
        let now = self.now().to_rfc3339();
        let today = now[..10].to_string();
        let count = |q: &'static str, arg: String| async move {
            StoreResult::Ok(
                sqlx::query(q)
                    .bind(arg)
                    .fetch_one(&self.pool)
                    .await
                    .map(|r| r.try_get::<i64, _>(0).unwrap_or(0))?,
            )
        };
        let overdue = async {
            let (treatments, controls, actions, expiring, pending) = tokio::try_join!(
                count(
                    "SELECT COUNT(*) FROM risks WHERE treatment IS NULL AND status IN ('identified', 'assessed') AND treatment_due < $1",
                    now.clone()
                ),
                count(
                    "SELECT COUNT(*) FROM controls WHERE due_date < $1 AND status NOT IN ('implemented', 'verified')",
                    today.clone()
                ),
                count(
                    "SELECT COUNT(*) FROM actions WHERE done = 0 AND due_date < $1",
                    today.clone()
                ),
                count(
                    "SELECT COUNT(*) FROM acceptances WHERE status = 'approved' AND expires_at < $1",
                    self.now().plus_seconds(30 * 86_400).to_rfc3339()
                ),
                count(
                    "SELECT COUNT(*) FROM acceptances WHERE status = $1",
                    "pending".into()
                ),
            )?;
            StoreResult::Ok(json!({
                "treatments": treatments,
                "controls": controls,
                "actions": actions,
                "acceptances_expiring_30d": expiring,
                "acceptances_pending": pending,
            }))
        };
        let incidents = async {
            sqlx::query("SELECT ref_num, title, severity, status, report_due, reported_at FROM incidents WHERE status <> 'closed' ORDER BY report_due, ref_num LIMIT 50")
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|r| {
                    let due = opt_str(r, "report_due")?;
                    let reported = opt_str(r, "reported_at")?;
                    Ok(json!({
                        "incident": format!("INC-{}", int_col(r, "ref_num")?), "title": str_col(r, "title")?, "severity": str_col(r, "severity")?, "status": str_col(r, "status")?,
                        "report_due": due, "reported_at": reported, "reporting_overdue": reported.is_none() && due.as_deref().is_some_and(|d| d < now.as_str()),
                    }))
                })
                .collect::<StoreResult<Vec<Value>>>()
        };
        let coverage = async {
            sqlx::query(
                "SELECT catalog_id, catalog_version, COUNT(*) AS systems, SUM(applicable) AS applicable, SUM(assessed) AS done FROM adoptions GROUP BY catalog_id, catalog_version ORDER BY catalog_id",
            )
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| {
                let (app, done) = (int_col(r, "applicable")?, int_col(r, "done")?);
                Ok(json!({"catalog": format!("{}@{}", str_col(r, "catalog_id")?, str_col(r, "catalog_version")?), "systems": int_col(r, "systems")?, "applicable": app, "assessed": done,
                    "percent": if app == 0 { 0.0 } else { ((done as f64) * 1000.0 / app as f64).round() / 10.0 }}))
            })
            .collect::<StoreResult<Vec<Value>>>()
        };
        let ((by_level, by_status), by_system, heat, overdue, incidents, coverage) = tokio::try_join!(
            levels_statuses,
            by_system,
            heat,
            overdue,
            incidents,
            coverage
        )?;
        Ok(
            json!({"risks_by_level": by_level, "risks_by_status": by_status, "risks_by_system": by_system, "heatmap": heat, "overdue": overdue, "open_incidents": incidents, "coverage": coverage}),
        )
    }
}

#[cfg(feature = "seed")]
impl SqlCore {
    /// Benchmarks only: registers `n` synthetic risks spread over `system_ids`, each with one
    /// current assessment on the default methodology, a taxonomy link and a mix of statuses,
    /// `batch` per transaction (one `bench.seed` audit event per transaction).
    pub async fn seed_risks(
        &self,
        system_ids: &[String],
        n: usize,
        batch: usize,
    ) -> StoreResult<()> {
        let meth = aigov_core::methodology::default_methodology();
        let statuses = [
            "identified",
            "assessed",
            "assessed",
            "treating",
            "treating",
            "accepted",
            "closed",
        ];
        let items = [
            "tc260-aisgf@1.0:3.1.2(d)",
            "tc260-aisgf@1.0:3.2.1(a)",
            "tc260-aisgf@1.0:3.1.1(b)",
            "owasp-llm@2025:LLM01",
            "tc260-aisgf@1.0:3.1.3(c)",
        ];
        let mut done = 0;
        while done < n {
            let k = (n - done).min(batch.max(1));
            let mut tx = self.begin_write("bench").await?;
            let first = tx.next_ref("risk").await?;
            sqlx::query("UPDATE counters SET next = $1 WHERE kind = 'risk'")
                .bind(first + k as i64)
                .execute(&mut *tx.tx)
                .await?;
            let now = tx.now;
            for j in 0..k {
                let i = done + j;
                let id = tx.new_id();
                let sys = &system_ids[i % system_ids.len()];
                let (l, im) = (1 + (i * 7) % 5, 1 + (i * 13 / 3) % 5);
                let lv = meth.level(l, im).map(|x| x.id.clone()).unwrap_or_default();
                let rank = meth.rank(&lv).unwrap_or(0) as i64;
                let status = statuses[i % statuses.len()];
                let at = now.plus_seconds(-((i % 400) as i64) * 86_400).to_rfc3339();
                let days = meth
                    .level_by_id(&lv)
                    .map(|x| x.treatment_days)
                    .unwrap_or(30);
                let due = now
                    .plus_seconds((days - (i % 400) as i64) * 86_400)
                    .to_rfc3339();
                let title = format!(
                    "Risk {i:06} {}",
                    [
                        "数据泄露",
                        "prompt injection",
                        "biased scoring",
                        "内容安全",
                        "supply chain"
                    ][i % 5]
                );
                let treatment =
                    matches!(status, "treating" | "accepted").then_some(if status == "accepted" {
                        "accept"
                    } else {
                        "mitigate"
                    });
                let data = json!({"title": title, "description": "synthetic benchmark risk", "cause": "", "consequence": "", "stage": null, "owner_id": null, "taxonomy": [items[i % items.len()]], "unmapped": false});
                sqlx::query(
                    "INSERT INTO risks (id, ref_num, system_id, title, title_lower, data, owner_id, status, treatment, inherent_level, current_level, current_rank, current_likelihood, current_impact, assessed_at, treatment_due, version, created_at, created_by, updated_at, updated_by) \
                     VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $9, $10, $11, $12, $13, $14, 1, $13, 'bench', $13, 'bench')",
                )
                .bind(&id)
                .bind(first + j as i64)
                .bind(sys)
                .bind(&title)
                .bind(title.to_lowercase())
                .bind(data.to_string())
                .bind(status)
                .bind(treatment)
                .bind(&lv)
                .bind(rank)
                .bind(l as i64)
                .bind(im as i64)
                .bind(&at)
                .bind(&due)
                .execute(&mut *tx.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO risk_taxonomy (risk_id, risk_ref, item) VALUES ($1, $2, $3)",
                )
                .bind(&id)
                .bind(first + j as i64)
                .bind(items[i % items.len()])
                .execute(&mut *tx.tx)
                .await?;
                if self.backend == crate::Backend::Sqlite {
                    sqlx::query("INSERT INTO risk_titles (rowid, title) VALUES ($1, $2)")
                        .bind(first + j as i64)
                        .bind(title.to_lowercase())
                        .execute(&mut *tx.tx)
                        .await?;
                }
                sqlx::query("INSERT INTO assessments (id, risk_id, kind, likelihood, impact, level, methodology_id, basis, rationale, evidence, questionnaire, at, actor) VALUES ($1, $2, 'current', $3, $4, $5, 'aigov-5x5', 'judgement', 'synthetic', '[]', NULL, $6, 'bench')")
                    .bind(tx.new_id())
                    .bind(&id)
                    .bind(l as i64)
                    .bind(im as i64)
                    .bind(&lv)
                    .bind(&at)
                    .execute(&mut *tx.tx)
                    .await?;
            }
            tx.audit(
                "bench.seed",
                "risk",
                "bench",
                None,
                None,
                json!({"risks": k, "first": first}),
            )
            .await?;
            tx.commit().await?;
            done += k;
        }
        if self.backend == crate::Backend::Postgres {
            // What autovacuum would do on a live database: statistics and the visibility map.
            sqlx::query("VACUUM ANALYZE risks, risk_taxonomy, assessments, inventory")
                .execute(&self.pool)
                .await?;
        } else {
            // What the server's hourly `optimize` would do.
            sqlx::query("ANALYZE").execute(&self.pool).await?;
        }
        Ok(())
    }
}
