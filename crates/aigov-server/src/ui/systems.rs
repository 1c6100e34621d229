//! Systems: the inventory list with filters, registering a system, and a system's page
//! (inventory fields, components and links, lifecycle stage and gate status, adopted
//! frameworks with their checklists and evidence, risks, incidents, history).

use aigov_core::access::Perm;
use aigov_core::inventory::{ObjectKind, Stage, SystemStatus, SystemType};
use aigov_core::records::{Adoption, Blocker, ChecklistItem, Link, Record, StageChange};
use aigov_core::risk::ChecklistStatus;
use aigov_store::incidents::IncidentQuery;
use aigov_store::risks::RiskQuery;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::risks::{RiskRow, risk_rows};
use super::view::{
    self, Ctx, FieldErrors, Pager, UiResult, csv_response, redirect, render, render_status, some,
    wants_csv,
};
use crate::AppState;
use crate::api::governance::adopt_catalogs;
use crate::api::inventory::{ListParams, create_record, list_query, move_stage};

/// Filters of the systems list (the query string).
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct SystemFilters {
    /// Name contains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_type: Option<String>,
    /// Stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_stage: Option<String>,
    /// Status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Sort key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
    /// Skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// `csv` to download.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

impl SystemFilters {
    fn href(&self, offset: Option<i64>, format: Option<&str>) -> String {
        let mut f = self.clone();
        f.offset = offset.filter(|o| *o > 0);
        f.format = format.map(str::to_string);
        view::list_href("/systems", &f)
    }

    /// The link that sorts by `key` (toggling the direction when already sorted by it).
    pub fn sort_href(&self, key: &str) -> String {
        let mut f = self.clone();
        f.sort = Some(view::toggle_sort(f.sort.as_deref(), key));
        f.href(None, None)
    }
}

/// A row of the systems table.
#[derive(Debug, Clone)]
pub struct SystemRow {
    /// `SYS-n`.
    pub key: String,
    /// Name.
    pub name: String,
    /// Type (label).
    pub system_type: String,
    /// Stage (label).
    pub stage: String,
    /// Status (label).
    pub status: String,
    /// Last change.
    pub updated: String,
}

fn field(r: &Record, k: &str) -> String {
    match r.data.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Some(v) => v.to_string(),
    }
}

fn row(c: &Ctx, r: &Record) -> SystemRow {
    SystemRow {
        key: r.r#ref.clone(),
        name: field(r, "name"),
        system_type: c.w("system_type", &field(r, "system_type")).to_string(),
        stage: r
            .lifecycle_stage
            .map(|s| c.w("stage", s.as_str()).to_string())
            .unwrap_or_default(),
        status: c.w("system_status", &field(r, "status")).to_string(),
        updated: view::when(&r.updated_at),
    }
}

#[derive(Template)]
#[template(path = "systems.html")]
struct ListTpl<'a> {
    c: &'a Ctx,
    f: SystemFilters,
    rows: Vec<SystemRow>,
    pager: Pager,
    csv: String,
    types: Vec<(&'static str, &'a str)>,
    stages: Vec<(&'static str, &'a str)>,
    statuses: Vec<(&'static str, &'a str)>,
    filtered: bool,
}

/// `GET /systems` (and `?format=csv`).
pub async fn list(State(s): State<AppState>, c: Ctx, Query(f): Query<SystemFilters>) -> UiResult {
    let p = c.require(Perm::InventoryRead)?;
    let csv = wants_csv(&f.format);
    let params = ListParams {
        q: some(&f.q),
        system_type: some(&f.system_type),
        lifecycle_stage: some(&f.lifecycle_stage),
        status: some(&f.status),
        sort: some(&f.sort),
        offset: if csv { None } else { f.offset },
        limit: Some(if csv {
            crate::api::inventory::MAX_LIMIT
        } else {
            50
        }),
        ..Default::default()
    };
    let _ = p;
    let q = list_query(ObjectKind::System, &params)?;
    if csv {
        let mut rows = Vec::new();
        let mut q = q;
        loop {
            let (items, total) = s.store.list_objects(ObjectKind::System, &q).await?;
            for r in &items {
                rows.push(vec![
                    r.r#ref.clone(),
                    field(r, "name"),
                    field(r, "system_type"),
                    r.lifecycle_stage
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                    field(r, "status"),
                    field(r, "owner_id"),
                    r.updated_at.clone(),
                ]);
            }
            q.offset += q.limit;
            if items.is_empty() || q.offset >= total {
                break;
            }
        }
        return csv_response(
            "systems",
            &[
                "ref",
                "name",
                "system_type",
                "lifecycle_stage",
                "status",
                "owner_id",
                "updated_at",
            ],
            &rows,
        );
    }
    let (items, total) = s.store.list_objects(ObjectKind::System, &q).await?;
    let rows: Vec<SystemRow> = items.iter().map(|r| row(&c, r)).collect();
    let pager = Pager::new(&c, q.offset, q.limit, rows.len(), total, |o| {
        f.href(Some(o), None)
    });
    let t = ListTpl {
        csv: f.href(None, Some("csv")),
        filtered: some(&f.q).is_some()
            || some(&f.system_type).is_some()
            || some(&f.lifecycle_stage).is_some()
            || some(&f.status).is_some(),
        types: view::options(&c, "system_type", SystemType::ALL, SystemType::as_str),
        stages: view::options(&c, "stage", Stage::ALL, Stage::as_str),
        statuses: view::options(&c, "system_status", SystemStatus::ALL, SystemStatus::as_str),
        f,
        rows,
        pager,
        c: &c,
    };
    render(&t)
}

/// The fields of the new-system form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct SystemForm {
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Type.
    #[serde(default)]
    pub system_type: String,
    /// Purpose.
    #[serde(default)]
    pub purpose: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// First stage.
    #[serde(default)]
    pub lifecycle_stage: String,
    /// Sector.
    #[serde(default)]
    pub sector: String,
    /// Public-facing (checkbox).
    #[serde(default)]
    pub public_facing: Option<String>,
}

#[derive(Template)]
#[template(path = "system_new.html")]
struct NewTpl<'a> {
    c: &'a Ctx,
    v: SystemForm,
    e: FieldErrors,
    types: Vec<(&'static str, &'a str)>,
    stages: Vec<(&'static str, &'a str)>,
}

fn new_page(c: &Ctx, status: StatusCode, v: SystemForm, e: FieldErrors) -> UiResult {
    let t = NewTpl {
        c,
        v,
        e,
        types: view::options(c, "system_type", SystemType::ALL, SystemType::as_str),
        stages: view::options(c, "stage", Stage::ALL, Stage::as_str),
    };
    render_status(status, &t)
}

/// `GET /systems/new`.
pub async fn new_form(c: Ctx) -> UiResult {
    c.require(Perm::InventoryWrite)?;
    new_page(
        &c,
        StatusCode::OK,
        SystemForm {
            system_type: "generative".into(),
            lifecycle_stage: "plan".into(),
            ..Default::default()
        },
        FieldErrors::default(),
    )
}

/// `POST /systems`: registers a system; errors re-show the form next to their fields.
pub async fn create(State(s): State<AppState>, c: Ctx, Form(f): Form<SystemForm>) -> UiResult {
    let p = c.require(Perm::InventoryWrite)?;
    let mut body = json!({
        "name": f.name.trim(),
        "system_type": f.system_type,
        "purpose": f.purpose,
        "description": f.description,
        "public_facing": f.public_facing.is_some(),
    });
    if !f.sector.trim().is_empty() {
        body["sector"] = json!(f.sector.trim());
    }
    if !f.lifecycle_stage.is_empty() {
        body["lifecycle_stage"] = json!(f.lifecycle_stage);
    }
    match create_record(&s, p, ObjectKind::System, body).await {
        Ok(r) => Ok(redirect(&format!("/systems/{}", r.r#ref))),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e)?;
            new_page(&c, StatusCode::UNPROCESSABLE_ENTITY, f, errors)
        }
    }
}

/// An adopted framework with its checklist.
#[derive(Debug, Clone)]
pub struct AdoptionView {
    /// `catalog@version`.
    pub catalog: String,
    /// Coverage text.
    pub coverage: String,
    /// Percent (0–100).
    pub percent: f64,
    /// Checklist rows.
    pub items: Vec<ChecklistRow>,
}

/// A checklist row (also the htmx fragment after an inline status change).
#[derive(Debug, Clone)]
pub struct ChecklistRow {
    /// Item id.
    pub id: String,
    /// Catalog item ref.
    pub item: String,
    /// Title in the UI language.
    pub title: String,
    /// Status word.
    pub status: String,
    /// Evidence titles.
    pub evidence: String,
    /// Version (for the inline change).
    pub version: i64,
}

fn checklist_row(c: &Ctx, i: &ChecklistItem) -> ChecklistRow {
    let (title, _) = c.pick(
        i.title.get("zh").and_then(Value::as_str),
        i.title.get("en").and_then(Value::as_str),
    );
    ChecklistRow {
        id: i.id.clone(),
        item: i.item_ref.clone(),
        title,
        status: i.status.clone(),
        evidence: i
            .evidence
            .iter()
            .map(|e| e.title.clone())
            .collect::<Vec<_>>()
            .join(", "),
        version: i.version,
    }
}

/// One checklist row, with its inline status form for those who may change it.
#[derive(Template, Debug)]
#[template(path = "fragments/checklist_row.html")]
pub struct ChecklistRowTpl<'a> {
    /// Context.
    pub c: &'a Ctx,
    /// The row.
    pub i: ChecklistRow,
    /// Status options.
    pub statuses: Vec<(&'static str, &'a str)>,
    /// Where to come back to without htmx.
    pub back: String,
    /// An error to show in the row.
    pub error: String,
}

/// The inline status change.
#[derive(Debug, Deserialize)]
pub struct ChecklistForm {
    /// New status.
    #[serde(default)]
    pub status: String,
    /// Justification (needed for not-applicable).
    #[serde(default)]
    pub justification: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
    /// The system page.
    #[serde(default)]
    pub back: String,
}

/// `POST /checklist-items/{id}/status` (htmx: the updated row; else back to the system).
pub async fn checklist_status(
    State(s): State<AppState>,
    c: Ctx,
    view::Htmx(htmx): view::Htmx,
    Path(id): Path<String>,
    Form(f): Form<ChecklistForm>,
) -> UiResult {
    let p = c.require(Perm::ChecklistWrite)?;
    let lib = s.library().await;
    let status = crate::api::parse_field(
        "status",
        &f.status,
        ChecklistStatus::parse,
        ChecklistStatus::expected(),
    )?;
    let patch = aigov_store::governance::ChecklistPatch {
        status: Some(status),
        justification: Some(f.justification.clone()).filter(|j| !j.trim().is_empty()),
        ..Default::default()
    };
    let back = if super::login::is_local_path(&f.back) && f.back.starts_with("/systems/") {
        f.back.clone()
    } else {
        "/systems".into()
    };
    let (item, error) = match s
        .store
        .update_checklist_item(&p.actor(), &lib, &id, patch, f.version)
        .await
    {
        Ok(i) => (i, String::new()),
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            if !htmx {
                return Err(e.into());
            }
            let msg = FieldErrors::from_api(c.lang, e)?
                .0
                .into_iter()
                .map(|(f, m)| format!("{f}: {m}"))
                .collect::<Vec<_>>()
                .join("; ");
            (s.store.get_checklist_item(&lib, &id).await?, msg)
        }
    };
    if !htmx {
        return Ok(redirect(&back));
    }
    render(&ChecklistRowTpl {
        i: checklist_row(&c, &item),
        statuses: view::options(
            &c,
            "checklist_status",
            ChecklistStatus::ALL,
            ChecklistStatus::as_str,
        ),
        back,
        error,
        c: &c,
    })
}

/// A history line.
#[derive(Debug, Clone)]
pub struct HistoryRow {
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
}

#[derive(Template)]
#[template(path = "system.html")]
struct DetailTpl<'a> {
    c: &'a Ctx,
    sys: Record,
    sys_ref: String,
    name: String,
    fields: Vec<(&'a str, String)>,
    stage: String,
    next_stages: Vec<(&'static str, &'a str)>,
    blockers: Vec<Blocker>,
    next_stage_label: String,
    links: Vec<(String, String, String)>,
    adoptions: Vec<AdoptionView>,
    /// Catalogs not adopted yet: (`id@version`, title), for adopting one with a reason.
    adoptable: Vec<(String, String)>,
    rows: Vec<RiskRow>,
    bulk: bool,
    candidates: Vec<CandidateRow>,
    risk_total: String,
    incidents: Vec<(String, String, String, String)>,
    stages: Vec<StageChange>,
    history: Vec<HistoryRow>,
    statuses: Vec<(&'static str, &'a str)>,
    back: String,
    error: String,
}

/// Recent audit events about one object, newest first (for those who may read the audit log).
/// Filters on the object's type too, so the `(object_type, object_id)` index serves it.
pub async fn history(s: &AppState, c: &Ctx, object_type: &str, object_id: &str) -> Vec<HistoryRow> {
    if !c.can("audit_read") {
        return Vec::new();
    }
    let q = aigov_store::audit_log::AuditQuery {
        object_type: Some(object_type.to_string()),
        object_id: Some(object_id.to_string()),
        desc: true,
        limit: 50,
        ..Default::default()
    };
    match s.store.audit_list(&q).await {
        Ok((items, _)) => items
            .into_iter()
            .map(|e| HistoryRow {
                at: view::when(&e.at),
                actor: e.actor,
                action: e.action,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn link_line(l: &Link, me: &str) -> (String, String, String) {
    if l.from_id == me {
        (
            l.rel.as_str().to_string(),
            l.to_kind.as_str().to_string(),
            l.to_id.clone(),
        )
    } else {
        (
            format!("← {}", l.rel.as_str()),
            l.from_kind.as_str().to_string(),
            l.from_id.clone(),
        )
    }
}

async fn adoption_view(s: &AppState, c: &Ctx, sys: &Record, a: &Adoption) -> AdoptionView {
    let lib = s.library().await;
    let cat_id = a.catalog.split('@').next().unwrap_or(&a.catalog);
    let items: Vec<ChecklistItem> = s
        .store
        .checklist(&lib, &sys.id, cat_id, false)
        .await
        .unwrap_or_default();
    AdoptionView {
        catalog: a.catalog.clone(),
        coverage: format!(
            "{}% · {}/{}",
            a.coverage.percent,
            a.coverage.applicable - a.coverage.not_started,
            a.coverage.applicable
        ),
        percent: a.coverage.percent,
        items: items.iter().map(|i| checklist_row(c, i)).collect(),
    }
}

/// `GET /systems/{ref}`.
pub async fn detail(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    c.require(Perm::InventoryRead)?;
    let sys = s.store.get_object(ObjectKind::System, &id).await?;
    let stage = sys.lifecycle_stage;
    let next = stage.and_then(|st| {
        let i = Stage::ALL.iter().position(|x| *x == st)?;
        Stage::ALL.get(i + 1).copied()
    });
    let blockers = match next {
        Some(n) => s
            .store
            .gate_blockers(&s.rules, &sys.id, n)
            .await
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let links = s
        .store
        .list_links(Some(&sys.id))
        .await?
        .iter()
        .map(|l| link_line(l, &sys.id))
        .collect();
    let can_risks = c.can("risk_read");
    let mut adoptions = Vec::new();
    let (mut risks, mut risk_total, mut incidents) = (Vec::new(), 0, Vec::new());
    if can_risks {
        for a in s.store.list_adoptions(&sys.id).await? {
            adoptions.push(adoption_view(&s, &c, &sys, &a).await);
        }
        let methodology = s.store.system_methodology(&sys.id).await?;
        let (rs, total) = s
            .store
            .list_risks(&RiskQuery {
                system_id: Some(sys.id.clone()),
                sort: "level".into(),
                desc: true,
                limit: 50,
                ..Default::default()
            })
            .await?;
        risks = risk_rows(&c, &methodology, &rs);
        risk_total = total;
        let (inc, _) = s
            .store
            .list_incidents(&IncidentQuery {
                system: Some(sys.id.clone()),
                limit: 50,
                ..Default::default()
            })
            .await?;
        incidents = inc
            .iter()
            .map(|i| {
                (
                    i.r#ref.clone(),
                    i.data
                        .get("title")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    c.w(
                        "severity",
                        i.data.get("severity").and_then(Value::as_str).unwrap_or(""),
                    )
                    .to_string(),
                    c.w(
                        "incident_status",
                        i.data.get("status").and_then(Value::as_str).unwrap_or(""),
                    )
                    .to_string(),
                )
            })
            .collect();
    }
    let stages = s.store.stage_history(&sys.id).await?;
    let history = history(&s, &c, "system", &sys.id).await;
    let fields = vec![
        (
            c.t("system.type"),
            c.w("system_type", &field(&sys, "system_type")).to_string(),
        ),
        (
            c.t("system.status"),
            c.w("system_status", &field(&sys, "status")).to_string(),
        ),
        (c.t("system.purpose"), field(&sys, "purpose")),
        (c.t("system.description"), field(&sys, "description")),
        (c.t("system.modalities"), field(&sys, "modalities")),
        (c.t("system.roles"), field(&sys, "tc260_roles")),
        (c.t("system.sector"), field(&sys, "sector")),
        (
            c.t("system.public_facing"),
            yes_no(&c, &sys, "public_facing"),
        ),
        (c.t("system.key_area"), yes_no(&c, &sys, "key_area")),
        (c.t("system.intended_users"), field(&sys, "intended_users")),
        (c.t("system.owner"), field(&sys, "owner_id")),
    ];
    let t = DetailTpl {
        name: field(&sys, "name"),
        fields,
        stage: stage
            .map(|x| c.w("stage", x.as_str()).to_string())
            .unwrap_or_default(),
        next_stages: Stage::ALL
            .iter()
            .filter(|x| Some(**x) != stage)
            .map(|x| (x.as_str(), c.w("stage", x.as_str())))
            .collect(),
        next_stage_label: next
            .map(|x| c.w("stage", x.as_str()).to_string())
            .unwrap_or_default(),
        blockers,
        links,
        adoptable: if !c.can("checklist_write") {
            Vec::new()
        } else {
            let lib = s.library().await;
            let taken: Vec<&str> = adoptions.iter().map(|a| a.catalog.as_str()).collect();
            lib.catalogs()
                .map(|cat| (format!("{}@{}", cat.id, cat.version), cat))
                .filter(|(key, _)| !taken.contains(&key.as_str()))
                .map(|(key, cat)| {
                    let title = c.pick(cat.title.zh.as_deref(), cat.title.en.as_deref()).0;
                    (key, title)
                })
                .collect()
        },
        adoptions,
        rows: risks,
        bulk: false,
        candidates: if can_risks {
            candidates(&s, &c, &sys).await
        } else {
            Vec::new()
        },
        risk_total: view::group(risk_total),
        incidents,
        stages,
        history,
        statuses: view::options(
            &c,
            "checklist_status",
            ChecklistStatus::ALL,
            ChecklistStatus::as_str,
        ),
        back: format!("/systems/{}", sys.r#ref),
        error: String::new(),
        sys_ref: sys.r#ref.clone(),
        sys,
        c: &c,
    };
    render(&t)
}

fn yes_no(c: &Ctx, r: &Record, k: &str) -> String {
    match r.data.get(k).and_then(Value::as_bool) {
        Some(true) => c.t("common.yes").to_string(),
        Some(false) => c.t("common.no").to_string(),
        None => String::new(),
    }
}

/// The stage-change form.
#[derive(Debug, Deserialize)]
pub struct StageForm {
    /// Target stage.
    #[serde(default)]
    pub to: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// Admin override of a blocking gate.
    #[serde(default)]
    pub override_reason: String,
    /// The version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /systems/{ref}/stage`.
pub async fn stage(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<StageForm>,
) -> UiResult {
    let p = c.require(Perm::InventoryStage)?;
    let to = Stage::parse(&f.to).ok_or_else(|| {
        crate::error::ApiError::bad_field("to", format!("must be one of {}", Stage::expected()))
    })?;
    let over = Some(f.override_reason.as_str()).filter(|x| !x.trim().is_empty());
    let r = move_stage(&s, p, &id, to, &f.reason, over, f.version).await?;
    Ok(redirect(&format!("/systems/{}", r.r#ref)))
}

/// What to adopt: nothing named means the frameworks the rules pick.
#[derive(Debug, Default, Deserialize)]
pub struct AdoptForm {
    /// `catalog@version`, or empty.
    #[serde(default)]
    pub catalog: String,
    /// Why (required with a catalog).
    #[serde(default)]
    pub reason: String,
}

/// `POST /systems/{ref}/adopt`: adopts the frameworks the adoption rules pick for the system,
/// or one named catalog with a reason (as `POST /api/v1/systems/{id}/adoptions` does).
pub async fn adopt(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<AdoptForm>,
) -> UiResult {
    let p = c.require(Perm::ChecklistWrite)?;
    let catalog = Some(f.catalog.trim()).filter(|x| !x.is_empty());
    adopt_catalogs(&s, p, &id, catalog, Some(&f.reason)).await?;
    let sys = s.store.get_object(ObjectKind::System, &id).await?;
    Ok(redirect(&format!("/systems/{}", sys.r#ref)))
}

/// A pending candidate risk.
#[derive(Debug, Clone)]
pub struct CandidateRow {
    /// Id.
    pub id: String,
    /// The taxonomy item (`catalog@version:ref`).
    pub item: String,
    /// Its title.
    pub title: String,
    /// Why the rules propose it.
    pub reason: String,
}

/// Pending candidates of a system.
async fn candidates(s: &AppState, c: &Ctx, sys: &Record) -> Vec<CandidateRow> {
    let lib = s.library().await;
    let text = |v: &Value| {
        c.pick(
            v.get("zh").and_then(Value::as_str),
            v.get("en").and_then(Value::as_str),
        )
        .0
    };
    s.store
        .list_candidates(&lib, &sys.id, Some("pending"))
        .await
        .unwrap_or_default()
        .iter()
        .map(|x| CandidateRow {
            id: x.id.clone(),
            item: x.item.clone(),
            title: text(&x.item_title),
            reason: text(&x.reason),
        })
        .collect()
}

/// `POST /systems/{ref}/identify`: runs the identification rules (new candidates appear on the
/// page, to be accepted or rejected with a reason).
pub async fn identify(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    let p = c.require(Perm::RiskWrite)?;
    let lib = s.library().await;
    s.store.identify(&p.actor(), &lib, &s.rules, &id).await?;
    let sys = s.store.get_object(ObjectKind::System, &id).await?;
    Ok(redirect(&format!("/systems/{}#candidates", sys.r#ref)))
}

/// A decision on a candidate.
#[derive(Debug, Deserialize)]
pub struct CandidateForm {
    /// `accept` or `reject`.
    #[serde(default)]
    pub decision: String,
    /// Why.
    #[serde(default)]
    pub reason: String,
    /// The system page to return to.
    #[serde(default)]
    pub system: String,
}

/// `POST /candidates/{id}/decision`: accepting registers the risk (and opens it).
pub async fn decide_candidate(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<CandidateForm>,
) -> UiResult {
    let p = c.require(Perm::RiskWrite)?;
    let accept = crate::api::parse_field(
        "decision",
        &f.decision,
        |d| match d {
            "accept" => Some(true),
            "reject" => Some(false),
            _ => None,
        },
        "accept, reject".into(),
    )?;
    let lib = s.library().await;
    let (_, risk) = s
        .store
        .decide_candidate(&p.actor(), &lib, &id, accept, &f.reason)
        .await?;
    Ok(match risk {
        Some(r) => redirect(&format!("/risks/{}", r.r#ref)),
        None => {
            let sys = s.store.get_object(ObjectKind::System, &f.system).await?;
            redirect(&format!("/systems/{}#candidates", sys.r#ref))
        }
    })
}
