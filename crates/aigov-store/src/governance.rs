//! The "govern" and "identify" steps of the loop: methodologies, the facts a system's
//! inventory gives, framework adoption with checklists and coverage, crosswalk suggestions,
//! candidate risks from rules, and lifecycle stage gates.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aigov_catalog::crosswalk::{Crosswalk, Node};
use aigov_catalog::{Catalog, Cite, Item, Library, Relationship};
use aigov_core::inventory::{ObjectKind, Stage};
use aigov_core::methodology::{Label, Methodology, default_methodology};
use aigov_core::records::{
    Adoption, Blocker, Candidate, ChecklistItem, Coverage, CoverageBreakdown, GroupCoverage, Risk,
};
use aigov_core::risk::{AssessmentKind, ChecklistStatus, RiskInput};
use aigov_core::rules::{ApplicabilityRule, Facts, Rules, StageGate};
use aigov_core::{FieldError, Invalid};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{SqlCore, WriteTx, audit_head, int_col, opt_str, sql, str_col};
use crate::error::{StoreError, StoreResult};

/// Label JSON (`{zh, en}`) from a rule's label, with extra facts.
pub(crate) fn reason_json(l: &aigov_core::methodology::Label, facts: &[String]) -> Value {
    json!({"zh": l.zh, "en": l.en, "facts": facts})
}

/// A change to a checklist item (all optional).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChecklistPatch {
    /// New status.
    #[serde(default)]
    pub status: Option<ChecklistStatus>,
    /// Justification (required for not-applicable).
    #[serde(default)]
    pub justification: Option<String>,
    /// Owner (empty string clears).
    #[serde(default)]
    pub owner_id: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// A suggested status for an item, inferred through a crosswalk; never applied by itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// The checklist item the suggestion is for.
    pub item_id: String,
    /// Its citation.
    pub item: String,
    /// The suggested status.
    pub suggested_status: String,
    /// The item whose status suggests it.
    pub from_item_id: String,
    /// Its citation and status.
    pub from: String,
    /// The status recorded there.
    pub from_status: String,
    /// The composed relationship (from → item).
    pub relationship: String,
    /// The path of mapping hops.
    pub path: Vec<String>,
    /// Composed confidence.
    pub confidence: Option<f64>,
}

fn select_matches(cat: &Catalog, it: &Item, r: &ApplicabilityRule) -> bool {
    if let Some(u) = &r.select.under
        && !cat.is_within(&it.r#ref, u)
    {
        return false;
    }
    if !r.select.kinds.is_empty() && !r.select.kinds.iter().any(|k| k == it.kind.as_str()) {
        return false;
    }
    if let Some(t) = &r.select.tag
        && !it.has_tag(t)
    {
        return false;
    }
    true
}

/// For every checklist item of `cat`: `(ref, applies, reason json)`.
pub fn applicability(cat: &Catalog, rules: &Rules, facts: &Facts) -> Vec<(String, bool, Value)> {
    let Some(ca) = rules.applicability_for(&cat.id) else {
        return Vec::new();
    };
    cat.items
        .iter()
        .filter(|it| ca.checklist_kinds.iter().any(|k| k == it.kind.as_str()))
        .map(|it| match ca.rules.iter().find(|r| select_matches(cat, it, r)) {
            None => (it.r#ref.clone(), true, json!({"en": "an assessable item of an adopted catalog", "zh": "已采用目录中的可评估条目", "facts": []})),
            Some(r) if !r.applies => (it.r#ref.clone(), false, reason_json(&r.reason, &[])),
            Some(r) => match &r.when {
                None => (it.r#ref.clone(), true, reason_json(&r.reason, &[])),
                Some(w) => {
                    let (ok, why) = w.eval(facts);
                    if ok {
                        (it.r#ref.clone(), true, reason_json(&r.reason, &why))
                    } else {
                        let other = r.otherwise.clone().unwrap_or_default();
                        (it.r#ref.clone(), false, reason_json(&other, &why))
                    }
                }
            },
        })
        .collect()
}

/// The status a crosswalk relationship suggests for the target, given the source's status
/// (after NIST IR 8278 / CISO Assistant: equal and superset carry the result over; a subset
/// source gives a partial result at best). aigov goes one step further for `intersect`: a
/// compliant or partial source covers the shared part, so it suggests `partial` for a person
/// to confirm; a failing source says nothing about the rest. `related` suggests nothing.
pub fn suggested_status(rel: Relationship, source: ChecklistStatus) -> Option<ChecklistStatus> {
    use ChecklistStatus::*;
    match (rel, source) {
        (_, NotStarted | NotApplicable) => None,
        (Relationship::Equal | Relationship::Superset, s) => Some(s),
        (Relationship::Subset, Compliant | Partial) => Some(Partial),
        (Relationship::Subset, NonCompliant) => Some(NonCompliant),
        (Relationship::Intersect, Compliant | Partial) => Some(Partial),
        _ => None,
    }
}

/// Checks what rules name against a library: adopted catalogs exist, applicability `under`
/// refs exist in their catalog, identification rules raise existing taxonomy items, stage
/// gates name stages. Returns one message per problem (empty: all resolve).
pub fn check_rules_against(rules: &Rules, lib: &Library) -> Vec<String> {
    let mut out = Vec::new();
    let split = |c: &str| -> (String, Option<String>) {
        match c.split_once('@') {
            Some((i, v)) => (i.to_string(), Some(v.to_string())),
            None => (c.to_string(), None),
        }
    };
    for r in &rules.adoption {
        let (id, v) = split(&r.catalog);
        if lib.get(&id, v.as_deref()).is_none() {
            out.push(format!("adoption: no catalog {}", r.catalog));
        }
    }
    for a in &rules.applicability {
        if a.catalog == "*" {
            continue;
        }
        let Some(cat) = lib.get(&a.catalog, None) else {
            out.push(format!("applicability: no catalog {}", a.catalog));
            continue;
        };
        for (i, r) in a.rules.iter().enumerate() {
            if let Some(u) = &r.select.under
                && cat.item(u).is_none()
            {
                out.push(format!(
                    "applicability {} rule {}: no item {u} in {}",
                    a.catalog,
                    i + 1,
                    cat.key()
                ));
            }
        }
    }
    for r in &rules.identification {
        for c in &r.raises {
            match Cite::parse(c) {
                Err(m) => out.push(format!("identification {}: {c}: {m}", r.id)),
                Ok(cite) => {
                    if let Err(e) = lib.cite(&cite) {
                        out.push(format!("identification {}: {e}", r.id));
                    }
                }
            }
        }
    }
    for g in &rules.stage_gates {
        if Stage::parse(&g.to).is_none() {
            out.push(format!(
                "stage gate: unknown stage {:?} (expected one of {})",
                g.to,
                Stage::expected()
            ));
        }
    }
    for r in &rules.incident_reporting {
        if aigov_core::risk::Severity::parse(&r.severity).is_none() {
            out.push(format!(
                "incident reporting: unknown severity {:?}",
                r.severity
            ));
        }
    }
    out
}

const RISK_LEVEL_SQL: &str = "SELECT r.ref_num, r.status, r.current_level, r.inherent_level, r.residual_level FROM risks r WHERE r.system_id = $1 AND r.status <> 'closed'";

impl SqlCore {
    // -----------------------------------------------------------------------------------
    // Methodologies

    /// The built-in default and every stored methodology.
    pub async fn list_methodologies(&self) -> StoreResult<Vec<Methodology>> {
        let mut out = vec![default_methodology()];
        for r in sqlx::query("SELECT body FROM methodologies ORDER BY id")
            .fetch_all(&self.pool)
            .await?
        {
            out.push(
                serde_json::from_str(&str_col(&r, "body")?)
                    .map_err(|e| StoreError::Internal(format!("stored methodology: {e}")))?,
            );
        }
        Ok(out)
    }

    /// A methodology by id.
    pub async fn get_methodology(&self, id: &str) -> StoreResult<Methodology> {
        if id == default_methodology().id {
            return Ok(default_methodology());
        }
        let r = sqlx::query("SELECT body FROM methodologies WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        match r {
            Some(r) => serde_json::from_str(&str_col(&r, "body")?)
                .map_err(|e| StoreError::Internal(format!("stored methodology: {e}"))),
            None => Err(StoreError::not_found("methodology", id)),
        }
    }

    /// Stores a new methodology.
    pub async fn create_methodology(
        &self,
        actor: &str,
        m: &Methodology,
    ) -> StoreResult<Methodology> {
        Invalid::check(m.validate())?;
        if m.id == default_methodology().id {
            return Err(StoreError::Duplicate(format!(
                "{} is the built-in methodology; choose another id",
                m.id
            )));
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let body = serde_json::to_value(m).unwrap_or_default();
        let r = sqlx::query("INSERT INTO methodologies (id, body, builtin, version, created_at, created_by, updated_at, updated_by) VALUES ($1, $2, 0, 1, $3, $4, $3, $4)")
            .bind(&m.id)
            .bind(body.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await;
        if let Err(e) = r {
            return Err(if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate(format!("methodology {} exists", m.id))
            } else {
                e.into()
            });
        }
        tx.audit("methodology.create", "methodology", &m.id, None, Some(&body), json!({"levels": m.levels.len(), "grid": format!("{}x{}", m.likelihood.len(), m.impact.len())})).await?;
        tx.commit().await?;
        Ok(m.clone())
    }

    /// The methodology a system uses.
    pub async fn system_methodology(&self, system_id: &str) -> StoreResult<Methodology> {
        let r = sqlx::query("SELECT methodology_id FROM inventory WHERE id = $1")
            .bind(system_id)
            .fetch_optional(&self.pool)
            .await?;
        let id = r
            .map(|r| opt_str(&r, "methodology_id"))
            .transpose()?
            .flatten();
        self.get_methodology(id.as_deref().unwrap_or(&default_methodology().id))
            .await
    }

    /// Switches a system to another methodology and re-grades its risks' latest assessments
    /// on it (values are carried over by their relative position on the scales). Returns the
    /// number of assessments re-graded.
    pub async fn set_system_methodology(
        &self,
        actor: &str,
        system: &str,
        methodology_id: &str,
        reason: &str,
    ) -> StoreResult<usize> {
        if reason.trim().is_empty() {
            return Err(StoreError::invalid(
                "reason",
                "say why the methodology changes",
            ));
        }
        let sys = self.get_object(ObjectKind::System, system).await?;
        let old = self.system_methodology(&sys.id).await?;
        let new = self.get_methodology(methodology_id).await?;
        if old.id == new.id {
            return Err(StoreError::invalid(
                "methodology_id",
                format!("the system already uses {}", new.id),
            ));
        }
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("UPDATE inventory SET methodology_id = $1 WHERE id = $2")
            .bind(&new.id)
            .bind(&sys.id)
            .execute(&mut *tx.tx)
            .await?;
        let risks = sqlx::query("SELECT id FROM risks WHERE system_id = $1")
            .bind(&sys.id)
            .fetch_all(&mut *tx.tx)
            .await?;
        let mut n = 0;
        for r in &risks {
            let risk_id = str_col(r, "id")?;
            for kind in AssessmentKind::ALL {
                let last = sqlx::query("SELECT likelihood, impact, level, questionnaire FROM assessments WHERE risk_id = $1 AND kind = $2 ORDER BY at DESC, id DESC LIMIT 1")
                    .bind(&risk_id)
                    .bind(kind.as_str())
                    .fetch_optional(&mut *tx.tx)
                    .await?;
                let Some(last) = last else { continue };
                let (l, i) = (
                    last.try_get::<Option<i64>, _>("likelihood")?,
                    last.try_get::<Option<i64>, _>("impact")?,
                );
                let (nl, ni, level) = match (l, i) {
                    (Some(l), Some(i)) => {
                        let nl = Methodology::rescale(
                            l as usize,
                            old.likelihood.len(),
                            new.likelihood.len(),
                        );
                        let ni =
                            Methodology::rescale(i as usize, old.impact.len(), new.impact.len());
                        let lv = new.level(nl, ni).map(|x| x.id.clone()).unwrap_or_default();
                        (Some(nl as i64), Some(ni as i64), lv)
                    }
                    _ => {
                        let rank = old.rank(&str_col(&last, "level")?).unwrap_or(0);
                        let nr =
                            Methodology::rescale(rank + 1, old.levels.len(), new.levels.len()) - 1;
                        (
                            None,
                            None,
                            new.levels.get(nr).map(|x| x.id.clone()).unwrap_or_default(),
                        )
                    }
                };
                let rationale = format!(
                    "re-graded: the system's methodology changed from {} to {} ({})",
                    old.id,
                    new.id,
                    reason.trim()
                );
                insert_assessment(
                    &mut tx,
                    &risk_id,
                    *kind,
                    nl,
                    ni,
                    &level,
                    &new.id,
                    "regrade",
                    &rationale,
                    &json!([]),
                    opt_str(&last, "questionnaire")?,
                )
                .await?;
                n += 1;
            }
            refresh_risk_levels(&mut tx, &risk_id, &new).await?;
        }
        tx.audit("system.methodology", "system", &sys.id, None, None, json!({"ref": sys.r#ref, "from": old.id, "to": new.id, "reason": reason.trim(), "regraded_assessments": n})).await?;
        tx.commit().await?;
        Ok(n)
    }

    // -----------------------------------------------------------------------------------
    // Facts

    /// What the inventory says about a system, as rule facts.
    pub async fn system_facts(&self, system: &str) -> StoreResult<Facts> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let mut f = Facts::new();
        for k in [
            "system_type",
            "public_facing",
            "key_area",
            "sector",
            "status",
            "tc260_roles",
            "modalities",
        ] {
            f.insert(
                format!("system.{k}"),
                sys.data.get(k).cloned().unwrap_or(Value::Null),
            );
        }
        f.insert(
            "system.lifecycle_stage".into(),
            json!(sys.lifecycle_stage.map(|s| s.as_str())),
        );
        let links = self.list_links(Some(&sys.id)).await?;
        let mut models = Vec::new();
        let mut datasets = Vec::new();
        let mut endpoints = 0;
        for l in &links {
            if l.from_id != sys.id {
                continue;
            }
            match (l.rel.as_str(), l.to_kind) {
                ("uses", ObjectKind::Model) => models.push(l.to_id.clone()),
                ("uses", ObjectKind::Dataset) => datasets.push(l.to_id.clone()),
                ("exposes", ObjectKind::Endpoint) => endpoints += 1,
                _ => {}
            }
        }
        let mut third_party = false;
        for m in &models {
            let rec = self.get_object(ObjectKind::Model, m).await?;
            if rec
                .data
                .get("base_model")
                .and_then(Value::as_str)
                .is_some_and(|b| !b.trim().is_empty())
            {
                third_party = true;
            }
            for l in self.list_links(Some(m)).await? {
                if l.from_id == *m {
                    match l.rel.as_str() {
                        "supplied-by" | "fine-tuned-from" => third_party = true,
                        "trained-on" => datasets.push(l.to_id.clone()),
                        _ => {}
                    }
                }
            }
        }
        let (mut pi, mut spi) = (false, false);
        for d in &datasets {
            let rec = self.get_object(ObjectKind::Dataset, d).await?;
            pi |= rec
                .data
                .get("personal_information")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            spi |= rec
                .data
                .get("sensitive_personal_information")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        f.insert("datasets.personal_information".into(), json!(pi || spi));
        f.insert("datasets.sensitive_personal_information".into(), json!(spi));
        f.insert("datasets.count".into(), json!(datasets.len()));
        f.insert("models.count".into(), json!(models.len()));
        f.insert("models.third_party".into(), json!(third_party));
        f.insert("endpoints.count".into(), json!(endpoints));
        Ok(f)
    }

    // -----------------------------------------------------------------------------------
    // Adoption and checklists

    /// Adopts `catalog` (`id` or `id@version`) for a system and builds its checklist.
    pub async fn adopt(
        &self,
        actor: &str,
        lib: &Library,
        rules: &Rules,
        system: &str,
        catalog: &str,
        reason: Value,
    ) -> StoreResult<Adoption> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let cat = lib
            .resolve(catalog)
            .map_err(|e| StoreError::invalid("catalog", e.to_string()))?;
        let facts = self.system_facts(&sys.id).await?;
        let items = applicability(cat, rules, &facts);
        let mut tx = self.begin_write(actor).await?;
        let id = tx.new_id();
        let now = tx.now.to_rfc3339();
        let r = sqlx::query("INSERT INTO adoptions (id, system_id, catalog_id, catalog_version, reason, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)")
            .bind(&id)
            .bind(&sys.id)
            .bind(&cat.id)
            .bind(cat.version.as_str())
            .bind(reason.to_string())
            .bind(&now)
            .bind(&tx.actor)
            .execute(&mut *tx.tx)
            .await;
        if let Err(e) = r {
            return Err(if StoreError::is_unique_violation(&e) {
                StoreError::Duplicate(format!("{} has adopted {} already", sys.r#ref, cat.id))
            } else {
                e.into()
            });
        }
        for (r, applies, why) in &items {
            sqlx::query("INSERT INTO checklist_items (id, adoption_id, item_ref, applies, reason, status, justification, owner_id, notes, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, 'not-started', '', NULL, '', 1, $6, $7)")
                .bind(tx.new_id())
                .bind(&id)
                .bind(r)
                .bind(*applies as i64)
                .bind(why.to_string())
                .bind(&now)
                .bind(&tx.actor)
                .execute(&mut *tx.tx)
                .await?;
        }
        recount_adoption(&mut tx, &id).await?;
        let applicable = items.iter().filter(|i| i.1).count();
        tx.audit("system.adopt", "system", &sys.id, None, None, json!({"ref": sys.r#ref, "catalog": cat.key().to_string(), "items": items.len(), "applicable": applicable})).await?;
        tx.commit().await?;
        let mut cov = Coverage::default();
        for _ in 0..applicable {
            cov.add("not-started");
        }
        Ok(Adoption {
            id,
            system_id: sys.id,
            catalog: cat.key().to_string(),
            reason,
            created_at: now,
            created_by: actor.to_string(),
            coverage: cov,
        })
    }

    /// Adopts every catalog the adoption rules give for the system and it has not adopted.
    pub async fn adopt_defaults(
        &self,
        actor: &str,
        lib: &Library,
        rules: &Rules,
        system: &str,
    ) -> StoreResult<Vec<Adoption>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let facts = self.system_facts(&sys.id).await?;
        let existing: Vec<String> = self
            .list_adoptions(&sys.id)
            .await?
            .into_iter()
            .map(|a| a.catalog.split('@').next().unwrap_or("").to_string())
            .collect();
        let mut out = Vec::new();
        for r in &rules.adoption {
            let (ok, why) = r.when.eval(&facts);
            let id = r.catalog.split('@').next().unwrap_or("");
            if ok && !existing.iter().any(|e| e == id) {
                out.push(
                    self.adopt(
                        actor,
                        lib,
                        rules,
                        &sys.id,
                        &r.catalog,
                        reason_json(&r.reason, &why),
                    )
                    .await?,
                );
            }
        }
        Ok(out)
    }

    /// A system's adoptions, with coverage.
    pub async fn list_adoptions(&self, system: &str) -> StoreResult<Vec<Adoption>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let rows = sqlx::query("SELECT id, catalog_id, catalog_version, reason, created_at, created_by FROM adoptions WHERE system_id = $1 ORDER BY catalog_id").bind(&sys.id).fetch_all(&self.pool).await?;
        let mut out = Vec::new();
        for r in &rows {
            let id = str_col(r, "id")?;
            let mut cov = Coverage::default();
            for s in sqlx::query(
                "SELECT status FROM checklist_items WHERE adoption_id = $1 AND applies = 1",
            )
            .bind(&id)
            .fetch_all(&self.pool)
            .await?
            {
                cov.add(&str_col(&s, "status")?);
            }
            out.push(Adoption {
                id,
                system_id: sys.id.clone(),
                catalog: format!(
                    "{}@{}",
                    str_col(r, "catalog_id")?,
                    str_col(r, "catalog_version")?
                ),
                reason: serde_json::from_str(&str_col(r, "reason")?).unwrap_or(Value::Null),
                created_at: str_col(r, "created_at")?,
                created_by: str_col(r, "created_by")?,
                coverage: cov,
            });
        }
        Ok(out)
    }

    /// Removes an adoption and its checklist.
    pub async fn unadopt(&self, actor: &str, system: &str, catalog_id: &str) -> StoreResult<()> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let r = sqlx::query("SELECT id FROM adoptions WHERE system_id = $1 AND catalog_id = $2")
            .bind(&sys.id)
            .bind(catalog_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found(
                "adoption",
                format!("{}/{catalog_id}", sys.r#ref),
            ));
        };
        let id = str_col(&r, "id")?;
        let mut tx = self.begin_write(actor).await?;
        sqlx::query("DELETE FROM evidence_links WHERE target_type = 'checklist-item' AND target_id IN (SELECT id FROM checklist_items WHERE adoption_id = $1)").bind(&id).execute(&mut *tx.tx).await?;
        sqlx::query("DELETE FROM checklist_items WHERE adoption_id = $1")
            .bind(&id)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("DELETE FROM adoptions WHERE id = $1")
            .bind(&id)
            .execute(&mut *tx.tx)
            .await?;
        tx.audit(
            "system.unadopt",
            "system",
            &sys.id,
            None,
            None,
            json!({"ref": sys.r#ref, "catalog": catalog_id}),
        )
        .await?;
        tx.commit().await
    }

    fn checklist_item(
        &self,
        r: &AnyRow,
        cat: Option<&Catalog>,
        evidence: Vec<aigov_core::records::EvidenceSummary>,
    ) -> StoreResult<ChecklistItem> {
        let item_ref = str_col(r, "item_ref")?;
        let it = cat.and_then(|c| c.item(&item_ref));
        Ok(ChecklistItem {
            id: str_col(r, "id")?,
            adoption_id: str_col(r, "adoption_id")?,
            catalog: format!(
                "{}@{}",
                str_col(r, "catalog_id")?,
                str_col(r, "catalog_version")?
            ),
            kind: it.map(|i| i.kind.as_str().to_string()).unwrap_or_default(),
            title: it
                .map(|i| json!({"zh": i.title.zh, "en": i.title.en}))
                .unwrap_or(Value::Null),
            item_ref,
            applies: int_col(r, "applies")? != 0,
            reason: serde_json::from_str(&str_col(r, "reason")?).unwrap_or(Value::Null),
            status: str_col(r, "status")?,
            justification: str_col(r, "justification")?,
            owner_id: opt_str(r, "owner_id")?,
            notes: str_col(r, "notes")?,
            evidence,
            version: int_col(r, "version")?,
            updated_at: str_col(r, "updated_at")?,
            updated_by: str_col(r, "updated_by")?,
        })
    }

    /// The checklist of one adopted catalog (only applicable items unless `all`).
    pub async fn checklist(
        &self,
        lib: &Library,
        system: &str,
        catalog_id: &str,
        all: bool,
    ) -> StoreResult<Vec<ChecklistItem>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let rows = sqlx::query(
            "SELECT c.id, c.adoption_id, c.item_ref, c.applies, c.reason, c.status, c.justification, c.owner_id, c.notes, c.version, c.updated_at, c.updated_by, a.catalog_id, a.catalog_version \
             FROM checklist_items c JOIN adoptions a ON a.id = c.adoption_id WHERE a.system_id = $1 AND a.catalog_id = $2",
        )
        .bind(&sys.id)
        .bind(catalog_id)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            let adopted =
                sqlx::query("SELECT 1 FROM adoptions WHERE system_id = $1 AND catalog_id = $2")
                    .bind(&sys.id)
                    .bind(catalog_id)
                    .fetch_optional(&self.pool)
                    .await?;
            if adopted.is_none() {
                return Err(StoreError::not_found(
                    "adoption",
                    format!("{}/{catalog_id}", sys.r#ref),
                ));
            }
        }
        let mut out = Vec::new();
        for r in &rows {
            if !all && int_col(r, "applies")? == 0 {
                continue;
            }
            let cat = lib.get_exact(&str_col(r, "catalog_id")?, &str_col(r, "catalog_version")?);
            let ev = self
                .evidence_for("checklist-item", &str_col(r, "id")?)
                .await?;
            out.push(self.checklist_item(r, cat, ev)?);
        }
        // Catalog order, not insertion order.
        if let Some(first) = out.first() {
            let (id, v) = first.catalog.split_once('@').unwrap_or(("", ""));
            if let Some(c) = lib.get_exact(id, v) {
                let pos: HashMap<&str, usize> = c
                    .items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| (it.r#ref.as_str(), i))
                    .collect();
                out.sort_by_key(|x| pos.get(x.item_ref.as_str()).copied().unwrap_or(usize::MAX));
            }
        }
        Ok(out)
    }

    /// Coverage of an adopted catalog's checklist, overall, per section and per role.
    pub async fn checklist_coverage(
        &self,
        lib: &Library,
        system: &str,
        catalog_id: &str,
    ) -> StoreResult<CoverageBreakdown> {
        let items = self.checklist(lib, system, catalog_id, false).await?;
        let catalog = match items.first() {
            Some(i) => i.catalog.clone(),
            None => {
                let sys = self.get_object(ObjectKind::System, system).await?;
                let r = sqlx::query("SELECT catalog_version FROM adoptions WHERE system_id = $1 AND catalog_id = $2")
                    .bind(&sys.id)
                    .bind(catalog_id)
                    .fetch_one(&self.pool)
                    .await?;
                format!("{catalog_id}@{}", str_col(&r, "catalog_version")?)
            }
        };
        let cat = catalog
            .split_once('@')
            .and_then(|(id, v)| lib.get_exact(id, v));
        Ok(coverage_breakdown(&catalog, &items, cat))
    }

    /// One checklist item.
    pub async fn get_checklist_item(&self, lib: &Library, id: &str) -> StoreResult<ChecklistItem> {
        let r = sqlx::query(
            "SELECT c.id, c.adoption_id, c.item_ref, c.applies, c.reason, c.status, c.justification, c.owner_id, c.notes, c.version, c.updated_at, c.updated_by, a.catalog_id, a.catalog_version \
             FROM checklist_items c JOIN adoptions a ON a.id = c.adoption_id WHERE c.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found("checklist item", id));
        };
        let cat = lib.get_exact(
            &str_col(&r, "catalog_id")?,
            &str_col(&r, "catalog_version")?,
        );
        let ev = self.evidence_for("checklist-item", id).await?;
        self.checklist_item(&r, cat, ev)
    }

    /// Records a checklist item's status, owner and notes.
    pub async fn update_checklist_item(
        &self,
        actor: &str,
        lib: &Library,
        id: &str,
        p: ChecklistPatch,
        expected_version: i64,
    ) -> StoreResult<ChecklistItem> {
        let before = self.get_checklist_item(lib, id).await?;
        if before.version != expected_version {
            return Err(StoreError::VersionConflict {
                kind: "checklist item",
                id: id.into(),
                expected: expected_version,
                current: before.version,
            });
        }
        let status = p
            .status
            .map(|s| s.as_str().to_string())
            .unwrap_or(before.status.clone());
        let justification = p
            .justification
            .clone()
            .unwrap_or(before.justification.clone());
        let mut errs = Vec::new();
        if status == "not-applicable" && justification.trim().is_empty() {
            errs.push(FieldError::new(
                "justification",
                "say why the item does not apply",
            ));
        }
        if status != "not-started" && !before.applies && status != "not-applicable" {
            errs.push(FieldError::new("status", "the item does not apply to this system; refresh the checklist if the system changed"));
        }
        let owner = match &p.owner_id {
            Some(o) if o.is_empty() => None,
            Some(o) => Some(o.clone()),
            None => before.owner_id.clone(),
        };
        let notes = p.notes.clone().unwrap_or(before.notes.clone());
        if notes.chars().count() > 10_000 || justification.chars().count() > 10_000 {
            errs.push(FieldError::new(
                "notes",
                "notes and justification take at most 10,000 characters",
            ));
        }
        Invalid::check(errs)?;
        let mut tx = self.begin_write(actor).await?;
        if let Some(o) = &owner
            && sqlx::query("SELECT 1 FROM users WHERE id = $1")
                .bind(o)
                .fetch_optional(&mut *tx.tx)
                .await?
                .is_none()
        {
            return Err(StoreError::invalid("owner_id", "no such user"));
        }
        let now = tx.now.to_rfc3339();
        let n = sqlx::query("UPDATE checklist_items SET status = $1, justification = $2, owner_id = $3, notes = $4, version = version + 1, updated_at = $5, updated_by = $6 WHERE id = $7 AND version = $8")
            .bind(&status)
            .bind(&justification)
            .bind(owner.clone())
            .bind(&notes)
            .bind(&now)
            .bind(&tx.actor)
            .bind(id)
            .bind(expected_version)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::VersionConflict {
                kind: "checklist item",
                id: id.into(),
                expected: expected_version,
                current: expected_version + 1,
            });
        }
        recount_adoption(&mut tx, &before.adoption_id).await?;
        let before_v = json!({"status": before.status, "justification": before.justification, "owner_id": before.owner_id, "notes": before.notes});
        let after_v = json!({"status": status, "justification": justification, "owner_id": owner, "notes": notes});
        tx.audit(
            "checklist.update",
            "checklist-item",
            id,
            Some(&before_v),
            Some(&after_v),
            json!({"item": format!("{}:{}", before.catalog, before.item_ref), "status": status}),
        )
        .await?;
        tx.commit().await?;
        self.get_checklist_item(lib, id).await
    }

    /// Recomputes which items apply (the system may have changed); statuses are kept.
    pub async fn refresh_checklist(
        &self,
        actor: &str,
        lib: &Library,
        rules: &Rules,
        system: &str,
        catalog_id: &str,
    ) -> StoreResult<usize> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let r = sqlx::query(
            "SELECT id, catalog_version FROM adoptions WHERE system_id = $1 AND catalog_id = $2",
        )
        .bind(&sys.id)
        .bind(catalog_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found(
                "adoption",
                format!("{}/{catalog_id}", sys.r#ref),
            ));
        };
        let (aid, ver) = (str_col(&r, "id")?, str_col(&r, "catalog_version")?);
        let cat = lib
            .get_exact(catalog_id, &ver)
            .ok_or_else(|| StoreError::not_found("catalog", format!("{catalog_id}@{ver}")))?;
        let facts = self.system_facts(&sys.id).await?;
        let items = applicability(cat, rules, &facts);
        let existing: HashMap<String, (i64, String)> = sqlx::query(
            "SELECT item_ref, applies, reason FROM checklist_items WHERE adoption_id = $1",
        )
        .bind(&aid)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|x| {
            Ok((
                str_col(x, "item_ref")?,
                (int_col(x, "applies")?, str_col(x, "reason")?),
            ))
        })
        .collect::<StoreResult<_>>()?;
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let mut changed = 0;
        for (r, applies, why) in &items {
            match existing.get(r) {
                Some((a, w)) if (*a != 0) == *applies && *w == why.to_string().as_str() => {}
                Some(_) => {
                    sqlx::query("UPDATE checklist_items SET applies = $1, reason = $2, version = version + 1, updated_at = $3, updated_by = $4 WHERE adoption_id = $5 AND item_ref = $6")
                        .bind(*applies as i64)
                        .bind(why.to_string())
                        .bind(&now)
                        .bind(&tx.actor)
                        .bind(&aid)
                        .bind(r)
                        .execute(&mut *tx.tx)
                        .await?;
                    changed += 1;
                }
                None => {
                    sqlx::query("INSERT INTO checklist_items (id, adoption_id, item_ref, applies, reason, status, justification, owner_id, notes, version, updated_at, updated_by) VALUES ($1, $2, $3, $4, $5, 'not-started', '', NULL, '', 1, $6, $7)")
                        .bind(tx.new_id())
                        .bind(&aid)
                        .bind(r)
                        .bind(*applies as i64)
                        .bind(why.to_string())
                        .bind(&now)
                        .bind(&tx.actor)
                        .execute(&mut *tx.tx)
                        .await?;
                    changed += 1;
                }
            }
        }
        recount_adoption(&mut tx, &aid).await?;
        tx.audit(
            "checklist.refresh",
            "system",
            &sys.id,
            None,
            None,
            json!({"ref": sys.r#ref, "catalog": catalog_id, "changed": changed}),
        )
        .await?;
        tx.commit().await?;
        Ok(changed)
    }

    /// Statuses suggested for items of one adopted catalog by items of the others, through
    /// the crosswalks (direct or chained). Suggestions are only shown; recording one is an
    /// ordinary checklist update.
    pub async fn suggestions(&self, lib: &Library, system: &str) -> StoreResult<Vec<Suggestion>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let adoptions = self.list_adoptions(&sys.id).await?;
        let mut items: Vec<ChecklistItem> = Vec::new();
        for a in &adoptions {
            let id = a.catalog.split('@').next().unwrap_or("");
            items.extend(self.checklist(lib, &sys.id, id, false).await?);
        }
        let by_node: HashMap<(String, String), &ChecklistItem> = items
            .iter()
            .map(|i| ((i.catalog.clone(), i.item_ref.clone()), i))
            .collect();
        let cw = Crosswalk::new(lib);
        let mut out: Vec<Suggestion> = Vec::new();
        for src in items
            .iter()
            .filter(|i| i.status != "not-started" && i.status != "not-applicable")
        {
            let Some(src_status) = ChecklistStatus::parse(&src.status) else {
                continue;
            };
            let (cid, cv) = src.catalog.split_once('@').unwrap_or(("", ""));
            let start = Node::Item(
                aigov_catalog::CatalogKey {
                    id: cid.into(),
                    version: cv.into(),
                },
                src.item_ref.clone(),
            );
            for m in cw.map(&start, None, 2) {
                let Node::Item(k, r) = &m.target else {
                    continue;
                };
                let Some(target) = by_node.get(&(k.to_string(), r.clone())) else {
                    continue;
                };
                if target.status != "not-started" {
                    continue;
                }
                let Some(st) = suggested_status(m.relationship, src_status) else {
                    continue;
                };
                let path: Vec<String> = m
                    .path
                    .iter()
                    .map(|h| format!("{} {} {} ({})", h.from, h.relationship, h.to, h.set))
                    .collect();
                let sug = Suggestion {
                    item_id: target.id.clone(),
                    item: format!("{}:{}", target.catalog, target.item_ref),
                    suggested_status: st.as_str().into(),
                    from_item_id: src.id.clone(),
                    from: format!("{}:{}", src.catalog, src.item_ref),
                    from_status: src.status.clone(),
                    relationship: m.relationship.as_str().into(),
                    path,
                    confidence: m.confidence,
                };
                // One suggestion per (target, source): the strongest path.
                if let Some(e) = out
                    .iter_mut()
                    .find(|e| e.item_id == sug.item_id && e.from_item_id == sug.from_item_id)
                {
                    if sug.confidence.unwrap_or(0.0) > e.confidence.unwrap_or(0.0) {
                        *e = sug;
                    }
                } else {
                    out.push(sug);
                }
            }
        }
        Ok(out)
    }

    // -----------------------------------------------------------------------------------
    // Candidate risks

    fn candidate_from_row(r: &AnyRow, lib: &Library) -> StoreResult<Candidate> {
        let item = str_col(r, "item")?;
        let title = Cite::parse(&item)
            .ok()
            .and_then(|c| lib.cite(&c).ok())
            .map(|(_, it)| json!({"zh": it.title.zh, "en": it.title.en}))
            .unwrap_or(Value::Null);
        Ok(Candidate {
            id: str_col(r, "id")?,
            system_id: str_col(r, "system_id")?,
            rule_id: str_col(r, "rule_id")?,
            item,
            item_title: title,
            reason: serde_json::from_str(&str_col(r, "reason")?).unwrap_or(Value::Null),
            facts: serde_json::from_str(&str_col(r, "facts")?).unwrap_or_default(),
            status: str_col(r, "status")?,
            decision_reason: opt_str(r, "decision_reason")?,
            decided_by: opt_str(r, "decided_by")?,
            decided_at: opt_str(r, "decided_at")?,
            risk_id: opt_str(r, "risk_id")?,
            created_at: str_col(r, "created_at")?,
        })
    }

    /// Runs the identification rules for a system; adds candidates not raised before.
    /// Returns all of the system's candidates.
    pub async fn identify(
        &self,
        actor: &str,
        lib: &Library,
        rules: &Rules,
        system: &str,
    ) -> StoreResult<Vec<Candidate>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let facts = self.system_facts(&sys.id).await?;
        let mut raised = Vec::new();
        for r in &rules.identification {
            let (ok, why) = r.when.eval(&facts);
            if ok {
                for item in &r.raises {
                    raised.push((
                        r.id.clone(),
                        item.clone(),
                        reason_json(&r.reason, &[]),
                        why.clone(),
                    ));
                }
            }
        }
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        let mut new = 0;
        for (rule, item, reason, why) in &raised {
            let exists = sqlx::query(
                "SELECT 1 FROM candidates WHERE system_id = $1 AND rule_id = $2 AND item = $3",
            )
            .bind(&sys.id)
            .bind(rule)
            .bind(item)
            .fetch_optional(&mut *tx.tx)
            .await?;
            if exists.is_some() {
                continue;
            }
            sqlx::query("INSERT INTO candidates (id, system_id, rule_id, item, reason, facts, status, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)")
                .bind(tx.new_id())
                .bind(&sys.id)
                .bind(rule)
                .bind(item)
                .bind(reason.to_string())
                .bind(json!(why).to_string())
                .bind(&now)
                .execute(&mut *tx.tx)
                .await?;
            new += 1;
        }
        tx.audit(
            "system.identify",
            "system",
            &sys.id,
            None,
            None,
            json!({"ref": sys.r#ref, "raised": raised.len(), "new": new}),
        )
        .await?;
        tx.commit().await?;
        self.list_candidates(lib, &sys.id, None).await
    }

    /// A system's candidates (optionally of one status).
    pub async fn list_candidates(
        &self,
        lib: &Library,
        system: &str,
        status: Option<&str>,
    ) -> StoreResult<Vec<Candidate>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let rows = match status {
            Some(s) => sqlx::query("SELECT * FROM candidates WHERE system_id = $1 AND status = $2 ORDER BY created_at, rule_id, item").bind(&sys.id).bind(s).fetch_all(&self.pool).await?,
            None => sqlx::query("SELECT * FROM candidates WHERE system_id = $1 ORDER BY created_at, rule_id, item").bind(&sys.id).fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|r| Self::candidate_from_row(r, lib))
            .collect()
    }

    /// Accepts (creating the risk) or rejects a pending candidate, with a reason.
    pub async fn decide_candidate(
        &self,
        actor: &str,
        lib: &Library,
        id: &str,
        accept: bool,
        reason: &str,
    ) -> StoreResult<(Candidate, Option<Risk>)> {
        if reason.trim().is_empty() {
            return Err(StoreError::invalid(
                "reason",
                "say why the candidate is accepted or rejected",
            ));
        }
        let r = sqlx::query("SELECT * FROM candidates WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let Some(r) = r else {
            return Err(StoreError::not_found("candidate", id));
        };
        let c = Self::candidate_from_row(&r, lib)?;
        if c.status != "pending" {
            return Err(StoreError::Conflict(format!(
                "the candidate was {} already",
                c.status
            )));
        }
        let risk = if accept {
            let title = c
                .item_title
                .get("en")
                .and_then(Value::as_str)
                .or_else(|| c.item_title.get("zh").and_then(Value::as_str))
                .unwrap_or(&c.item)
                .to_string();
            let sys = self.get_object(ObjectKind::System, &c.system_id).await?;
            let input = RiskInput {
                title,
                description: c
                    .reason
                    .get("en")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                cause: String::new(),
                consequence: String::new(),
                stage: sys.lifecycle_stage.map(|s| s.as_str().to_string()),
                owner_id: None,
                taxonomy: vec![c.item.clone()],
                unmapped: false,
            };
            Some(
                self.create_risk_with(
                    actor,
                    lib,
                    &c.system_id,
                    input,
                    Some((&c.id, reason.trim())),
                )
                .await?,
            )
        } else {
            let mut tx = self.begin_write(actor).await?;
            sqlx::query("UPDATE candidates SET status = 'rejected', decision_reason = $1, decided_by = $2, decided_at = $3 WHERE id = $4 AND status = 'pending'")
                .bind(reason.trim())
                .bind(&tx.actor)
                .bind(tx.now.to_rfc3339())
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
            tx.audit(
                "candidate.reject",
                "candidate",
                id,
                None,
                None,
                json!({"item": c.item, "rule": c.rule_id, "reason": reason.trim()}),
            )
            .await?;
            tx.commit().await?;
            None
        };
        let r = sqlx::query("SELECT * FROM candidates WHERE id = $1")
            .bind(id)
            .fetch_one(&self.pool)
            .await?;
        Ok((Self::candidate_from_row(&r, lib)?, risk))
    }

    // -----------------------------------------------------------------------------------
    // Settings, stage gates

    /// A JSON setting, or `default`.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<Value>> {
        let r = sqlx::query("SELECT value FROM settings WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| str_col(&r, "value"))
            .transpose()?
            .and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Stores a JSON setting (audited).
    pub async fn set_setting(&self, actor: &str, key: &str, value: &Value) -> StoreResult<()> {
        let before = self.setting(key).await?;
        let mut tx = self.begin_write(actor).await?;
        let now = tx.now.to_rfc3339();
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)",
        )
        .bind(key)
        .bind(value.to_string())
        .bind(&now)
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
        tx.audit(
            "settings.update",
            "setting",
            key,
            before.as_ref(),
            Some(value),
            json!({"key": key}),
        )
        .await?;
        tx.commit().await
    }

    /// The stage gates in force (stored, else the rules' defaults).
    pub async fn stage_gates(&self, rules: &Rules) -> StoreResult<Vec<StageGate>> {
        match self.setting("stage_gates").await? {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| StoreError::Internal(format!("stored stage gates: {e}"))),
            None => Ok(rules.stage_gates.clone()),
        }
    }

    /// Replaces the gate for one stage (an empty gate removes it).
    pub async fn set_stage_gate(
        &self,
        actor: &str,
        rules: &Rules,
        gate: StageGate,
    ) -> StoreResult<Vec<StageGate>> {
        let mut errs = Vec::new();
        if Stage::parse(&gate.to).is_none() {
            errs.push(FieldError::new(
                "to",
                format!("must be one of {}", Stage::expected()),
            ));
        }
        if let Some(c) = gate.min_checklist_coverage
            && !(0.0..=100.0).contains(&c)
        {
            errs.push(FieldError::new(
                "min_checklist_coverage",
                "is a percentage, 0 to 100",
            ));
        }
        if let Some(s) = &gate.max_open_incident_severity
            && aigov_core::risk::Severity::parse(s).is_none()
        {
            errs.push(FieldError::new(
                "max_open_incident_severity",
                format!("must be one of {}", aigov_core::risk::Severity::expected()),
            ));
        }
        Invalid::check(errs)?;
        let mut gates = self.stage_gates(rules).await?;
        gates.retain(|g| g.to != gate.to);
        let empty = gate.max_unaccepted_level.is_none()
            && gate.min_checklist_coverage.is_none()
            && !gate.require_assessed
            && gate.max_open_incident_severity.is_none();
        if !empty {
            gates.push(gate);
        }
        gates.sort_by_key(|g| {
            Stage::parse(&g.to)
                .map(|s| Stage::ALL.iter().position(|x| *x == s).unwrap_or(0))
                .unwrap_or(0)
        });
        self.set_setting(
            actor,
            "stage_gates",
            &serde_json::to_value(&gates).unwrap_or_default(),
        )
        .await?;
        Ok(gates)
    }

    /// What blocks a system from entering `to` (empty: nothing).
    pub async fn gate_blockers(
        &self,
        rules: &Rules,
        system: &str,
        to: Stage,
    ) -> StoreResult<Vec<Blocker>> {
        let sys = self.get_object(ObjectKind::System, system).await?;
        let gates = self.stage_gates(rules).await?;
        let Some(gate) = gates.iter().find(|g| g.to == to.as_str()) else {
            return Ok(Vec::new());
        };
        let meth = self.system_methodology(&sys.id).await?;
        let mut out = Vec::new();
        let risks = sqlx::query(RISK_LEVEL_SQL)
            .bind(&sys.id)
            .fetch_all(&self.pool)
            .await?;
        if let Some(max) = &gate.max_unaccepted_level {
            // Gate levels name the default grades; other methodologies compare by rank.
            let max_rank = meth
                .rank(max)
                .or_else(|| default_methodology().rank(max))
                .unwrap_or(usize::MAX);
            let mut over = Vec::new();
            for r in &risks {
                let level = opt_str(r, "current_level")?.or(opt_str(r, "inherent_level")?);
                let accepted = str_col(r, "status")? == "accepted";
                if let Some(l) = level
                    && meth.rank(&l).is_some_and(|x| x > max_rank)
                    && !accepted
                {
                    over.push(format!("RISK-{} ({l})", int_col(r, "ref_num")?));
                }
            }
            if !over.is_empty() {
                out.push(Blocker {
                    condition: "max_unaccepted_level".into(),
                    message: format!(
                        "risks graded above {max} are neither accepted nor closed: {}",
                        over.join(", ")
                    ),
                });
            }
        }
        if gate.require_assessed {
            let mut un = Vec::new();
            for r in &risks {
                if opt_str(r, "current_level")?.is_none() && opt_str(r, "inherent_level")?.is_none()
                {
                    un.push(format!("RISK-{}", int_col(r, "ref_num")?));
                }
            }
            if !un.is_empty() {
                out.push(Blocker {
                    condition: "require_assessed".into(),
                    message: format!("open risks without an assessment: {}", un.join(", ")),
                });
            }
        }
        if let Some(min) = gate.min_checklist_coverage {
            let adoptions = self.list_adoptions(&sys.id).await?;
            if adoptions.is_empty() {
                out.push(Blocker {
                    condition: "min_checklist_coverage".into(),
                    message: format!(
                        "no framework is adopted; a checklist coverage of {min}% is required"
                    ),
                });
            }
            for a in adoptions {
                if a.coverage.percent < min {
                    out.push(Blocker {
                        condition: "min_checklist_coverage".into(),
                        message: format!(
                            "{} checklist coverage is {:.1}%, below {min}%",
                            a.catalog, a.coverage.percent
                        ),
                    });
                }
            }
        }
        if let Some(sev) = &gate.max_open_incident_severity {
            let order = ["low", "medium", "high", "critical"];
            let floor = order.iter().position(|s| s == sev).unwrap_or(order.len());
            let rows = sqlx::query("SELECT i.ref_num, i.severity FROM incidents i JOIN incident_links l ON l.incident_id = i.id WHERE l.target_type = 'system' AND l.target_id = $1 AND l.role = 'affected' AND i.status <> 'closed'")
                .bind(&sys.id)
                .fetch_all(&self.pool)
                .await?;
            let open: Vec<String> = rows
                .iter()
                .filter_map(|r| {
                    let s = str_col(r, "severity").ok()?;
                    (order.iter().position(|x| *x == s).unwrap_or(0) >= floor)
                        .then(|| format!("INC-{} ({s})", int_col(r, "ref_num").unwrap_or(0)))
                })
                .collect();
            if !open.is_empty() {
                out.push(Blocker {
                    condition: "max_open_incident_severity".into(),
                    message: format!("open incidents at or above {sev}: {}", open.join(", ")),
                });
            }
        }
        Ok(out)
    }

    /// Evaluates the gate of `to` for a system, noting the audit head it was evaluated at, so
    /// that [`SqlCore::move_stage_checked`] can tell whether anything changed since.
    pub async fn check_gate(
        &self,
        rules: &Rules,
        system: &str,
        to: Stage,
    ) -> StoreResult<GateCheck> {
        // Every write appends to the audit chain under the head's lock: an unchanged head
        // means nothing was written between this read and the move.
        let (head, _) = audit_head(&self.pool).await?;
        let blockers = self.gate_blockers(rules, system, to).await?;
        Ok(GateCheck { head, blockers })
    }

    /// Moves a system to another stage if its gate allows it, or with an override (whose
    /// reason and the blockers it overrode are recorded). The gate is evaluated again if
    /// anything is written while it is checked, so a risk graded or an incident opened in
    /// between is never missed.
    pub async fn move_stage(
        &self,
        actor: &str,
        rules: &Rules,
        system: &str,
        m: StageMove<'_>,
    ) -> StoreResult<aigov_core::records::Record> {
        for _ in 0..GATE_ATTEMPTS {
            let check = self.check_gate(rules, system, m.to).await?;
            if let Some(r) = self.move_stage_checked(actor, system, m, &check).await? {
                return Ok(r);
            }
        }
        Err(StoreError::Conflict(format!(
            "other changes kept landing while the gate of stage {} was checked ({GATE_ATTEMPTS} tries); try again",
            m.to
        )))
    }

    /// Moves a system as [`SqlCore::move_stage`] does, by a gate check made earlier. `Ok(None)`
    /// when anything was written since the check (nothing moved; check again).
    pub async fn move_stage_checked(
        &self,
        actor: &str,
        system: &str,
        m: StageMove<'_>,
        check: &GateCheck,
    ) -> StoreResult<Option<aigov_core::records::Record>> {
        let StageMove {
            to,
            reason,
            expected_version,
            override_reason,
        } = m;
        let mut extra = None;
        if !check.blockers.is_empty() {
            match override_reason.map(str::trim).filter(|r| !r.is_empty()) {
                None => return Err(StoreError::GateBlocked(check.blockers.clone())),
                Some(o) => {
                    extra =
                        Some(json!({"gate_override": {"reason": o, "blockers": check.blockers}}));
                }
            }
        }
        self.change_stage_at(
            actor,
            system,
            to,
            reason,
            expected_version,
            extra,
            Some(check.head),
        )
        .await
    }
}

/// How often [`SqlCore::move_stage`] checks a gate again when writes land during the check.
const GATE_ATTEMPTS: usize = 3;

/// A stage gate evaluated at one point of the audit chain.
#[derive(Debug, Clone)]
pub struct GateCheck {
    /// The audit head's sequence number when the check began.
    pub head: i64,
    /// What blocks the move (empty: nothing).
    pub blockers: Vec<Blocker>,
}

/// The top-level section (ref and title) and the actor roles of a catalog item: `role:` tags
/// on the item or any ancestor, `all` when there are none. Checklist coverage (API, CLI) and the
/// compliance report both group by it.
pub fn section_and_roles(cat: Option<&Catalog>, item: &str) -> (String, Label, Vec<String>) {
    let Some(cat) = cat else {
        return (item.to_string(), Label::default(), vec!["all".into()]);
    };
    let mut roles = BTreeSet::new();
    let mut cur = cat.item(item);
    let mut top = (item.to_string(), Label::default());
    let mut guard = 0;
    while let Some(it) = cur {
        for t in &it.tags {
            if let Some(r) = t.strip_prefix("role:") {
                roles.insert(r.to_string());
            }
        }
        top = (
            it.r#ref.clone(),
            Label {
                zh: it.title.zh.clone(),
                en: it.title.en.clone(),
            },
        );
        guard += 1;
        cur = it
            .parent
            .as_deref()
            .and_then(|p| cat.item(p))
            .filter(|_| guard < 64);
    }
    let roles = if roles.is_empty() {
        vec!["all".into()]
    } else {
        roles.into_iter().collect()
    };
    (top.0, top.1, roles)
}

/// Coverage of checklist items (only applicable ones count), overall, per top-level section of
/// `cat` (catalog order) and per actor role ([`section_and_roles`], by name). Pure.
pub fn coverage_breakdown(
    catalog: &str,
    items: &[ChecklistItem],
    cat: Option<&Catalog>,
) -> CoverageBreakdown {
    let mut overall = Coverage::default();
    let mut sections: BTreeMap<usize, GroupCoverage> = BTreeMap::new();
    let mut roles: BTreeMap<String, Coverage> = BTreeMap::new();
    let pos: HashMap<&str, usize> = cat
        .map(|c| {
            c.items
                .iter()
                .enumerate()
                .map(|(i, it)| (it.r#ref.as_str(), i))
                .collect()
        })
        .unwrap_or_default();
    for ci in items.iter().filter(|i| i.applies) {
        overall.add(&ci.status);
        let Some(c) = cat else { continue };
        let (top, title, item_roles) = section_and_roles(Some(c), &ci.item_ref);
        let at = pos.get(top.as_str()).copied().unwrap_or(usize::MAX);
        sections
            .entry(at)
            .or_insert_with(|| GroupCoverage {
                key: top,
                title: json!({"zh": title.zh, "en": title.en}),
                coverage: Coverage::default(),
            })
            .coverage
            .add(&ci.status);
        for role in item_roles {
            roles.entry(role).or_default().add(&ci.status);
        }
    }
    CoverageBreakdown {
        catalog: catalog.to_string(),
        overall,
        by_section: sections.into_values().collect(),
        by_role: roles
            .into_iter()
            .map(|(key, coverage)| GroupCoverage {
                key,
                title: Value::Null,
                coverage,
            })
            .collect(),
    }
}

/// Recounts an adoption's applicable and assessed checklist items (same transaction as the
/// change that moved them).
pub(crate) async fn recount_adoption(tx: &mut WriteTx, adoption_id: &str) -> StoreResult<()> {
    sqlx::query(
        "UPDATE adoptions SET applicable = (SELECT COUNT(*) FROM checklist_items WHERE adoption_id = $1 AND applies = 1), \
         assessed = (SELECT COUNT(*) FROM checklist_items WHERE adoption_id = $1 AND applies = 1 AND status <> 'not-started') WHERE id = $1",
    )
    .bind(adoption_id)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

/// A requested stage change.
#[derive(Debug, Clone, Copy)]
pub struct StageMove<'a> {
    /// The stage to enter.
    pub to: Stage,
    /// Why (recorded with the change).
    pub reason: &'a str,
    /// The system's version the caller read.
    pub expected_version: i64,
    /// Admin override of a blocking gate, with its reason.
    pub override_reason: Option<&'a str>,
}

/// Inserts one assessment row.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_assessment(
    tx: &mut WriteTx,
    risk_id: &str,
    kind: AssessmentKind,
    likelihood: Option<i64>,
    impact: Option<i64>,
    level: &str,
    methodology: &str,
    basis: &str,
    rationale: &str,
    evidence: &Value,
    questionnaire: Option<String>,
) -> StoreResult<String> {
    let id = tx.new_id();
    sqlx::query("INSERT INTO assessments (id, risk_id, kind, likelihood, impact, level, methodology_id, basis, rationale, evidence, questionnaire, at, actor) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
        .bind(&id)
        .bind(risk_id)
        .bind(kind.as_str())
        .bind(likelihood)
        .bind(impact)
        .bind(level)
        .bind(methodology)
        .bind(basis)
        .bind(rationale)
        .bind(evidence.to_string())
        .bind(questionnaire)
        .bind(tx.now.to_rfc3339())
        .bind(&tx.actor)
        .execute(&mut *tx.tx)
        .await?;
    Ok(id)
}

/// Recomputes a risk's denormalised levels, status and treatment deadline from its latest
/// assessments.
pub(crate) async fn refresh_risk_levels(
    tx: &mut WriteTx,
    risk_id: &str,
    meth: &Methodology,
) -> StoreResult<()> {
    let mut latest: BTreeMap<String, (String, Option<i64>, Option<i64>, String)> = BTreeMap::new();
    for k in AssessmentKind::ALL {
        let r = sqlx::query("SELECT level, likelihood, impact, at FROM assessments WHERE risk_id = $1 AND kind = $2 ORDER BY at DESC, id DESC LIMIT 1").bind(risk_id).bind(k.as_str()).fetch_optional(&mut *tx.tx).await?;
        if let Some(r) = r {
            latest.insert(
                k.as_str().into(),
                (
                    str_col(&r, "level")?,
                    r.try_get::<Option<i64>, _>("likelihood")?,
                    r.try_get::<Option<i64>, _>("impact")?,
                    str_col(&r, "at")?,
                ),
            );
        }
    }
    let cur = latest.get("current").or(latest.get("inherent"));
    let rank = cur.and_then(|c| meth.rank(&c.0)).map(|r| r as i64);
    let assessed_at = latest.values().map(|v| v.3.clone()).max();
    let due = match (cur, assessed_at.as_deref()) {
        (Some(c), Some(at)) => meth.level_by_id(&c.0).and_then(|l| {
            aigov_core::Timestamp::parse(at)
                .ok()
                .map(|t| t.plus_seconds(l.treatment_days * 86_400).to_rfc3339())
        }),
        _ => None,
    };
    sqlx::query(sql(
        "UPDATE risks SET inherent_level = $1, current_level = $2, residual_level = $3, current_rank = $4, current_likelihood = $5, current_impact = $6, assessed_at = $7, treatment_due = $8, \
         status = CASE WHEN status = 'identified' THEN 'assessed' ELSE status END WHERE id = $9"
            .to_string(),
    ))
    .bind(latest.get("inherent").map(|x| x.0.clone()))
    .bind(cur.map(|x| x.0.clone()))
    .bind(latest.get("residual").map(|x| x.0.clone()))
    .bind(rank)
    .bind(cur.and_then(|x| x.1))
    .bind(cur.and_then(|x| x.2))
    .bind(assessed_at)
    .bind(due)
    .bind(risk_id)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}
