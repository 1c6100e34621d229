//! aigov-report's tests: every report kind built from a seeded store (SQLite always,
//! PostgreSQL when `AIGOV_TEST_DATABASE_URL` is set), snapshots of the Markdown, HTML and
//! JSON renderings with ids and hashes redacted (`tests/snapshots/`; regenerate with
//! `UPDATE_SNAPSHOTS=1 cargo test -p aigov-report`), escaping of hostile text, the audit
//! event, verification, and PDF output.

#![allow(clippy::unwrap_used)] // tests may unwrap, also in helpers

mod build;
#[cfg(feature = "pdf")]
mod pdf;
mod render;
mod verify;

use std::sync::Arc;

use aigov_catalog::Library;
use aigov_core::Timestamp;
use aigov_core::access::Role;
use aigov_core::clock::ManualClock;
use aigov_core::inventory::ObjectKind;
use aigov_core::risk::*;
use aigov_core::rules::Rules;
use aigov_store::governance::ChecklistPatch;
use aigov_store::users::NewUser;
use aigov_store::{OpenOptions, PasswordCost, Store};
use serde_json::json;

/// A store under test.
#[allow(missing_debug_implementations)]
pub struct Harness {
    pub store: Arc<dyn Store>,
    pub clock: Arc<ManualClock>,
    pub lib: Library,
    pub name: &'static str,
    _dir: tempfile::TempDir,
    pg_schema: Option<(String, String)>,
}

impl Harness {
    pub fn now(&self) -> Timestamp {
        use aigov_core::Clock;
        self.clock.now()
    }

    pub fn store(&self) -> &(dyn Store + 'static) {
        self.store.as_ref()
    }

    pub fn _dir_path(&self) -> &std::path::Path {
        self._dir.path()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some((url, schema)) = self.pg_schema.take() {
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

async fn open(url: Option<String>, pg_schema: Option<(String, String)>) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        Timestamp::parse("2026-11-21T09:00:00Z").unwrap(),
    ));
    let store = aigov_store::open(&OpenOptions {
        data_dir: dir.path().to_path_buf(),
        database_url: url,
        clock: clock.clone(),
        secret_key: None,
        password_cost: PasswordCost::Low,
        create: true,
        max_connections: 4,
    })
    .await
    .unwrap();
    store
        .sync_builtin_catalogs(&Library::builtin().unwrap())
        .await
        .unwrap();
    let lib = store.load_library().await.unwrap();
    Harness {
        name: if pg_schema.is_some() {
            "postgres"
        } else {
            "sqlite"
        },
        store,
        clock,
        lib,
        _dir: dir,
        pg_schema,
    }
}

pub async fn sqlite() -> Harness {
    open(None, None).await
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
        "aigov_r_{}",
        r.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut c)
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    Some(open(Some(scoped), Some((url, schema))).await)
}

/// SQLite, plus PostgreSQL when configured.
pub async fn backends() -> Vec<Harness> {
    let mut v = vec![sqlite().await];
    if let Some(p) = postgres().await {
        v.push(p);
    }
    v
}

/// Hostile text: Typst, Markdown and HTML syntax that must print literally.
pub const HOSTILE: &str =
    "#import \"x.typ\": * ] $x$ *bold* <script>alert(1)</script> | `code` \\ {{}} [link](http://x)";

fn judged(kind: AssessmentKind, l: usize, i: usize) -> AssessmentInput {
    AssessmentInput {
        kind,
        likelihood: Some(l),
        impact: Some(i),
        questionnaire: None,
        basis: Basis::Judgement,
        rationale: "expert judgement".into(),
        evidence: vec![],
    }
}

fn risk(title: &str, taxonomy: &[&str], owner: Option<&str>) -> RiskInput {
    RiskInput {
        title: title.into(),
        description: String::new(),
        cause: String::new(),
        consequence: String::new(),
        stage: None,
        owner_id: owner.map(str::to_string),
        taxonomy: taxonomy.iter().map(|s| s.to_string()).collect(),
        unmapped: taxonomy.is_empty(),
    }
}

/// A governance lifecycle: two systems, adopted frameworks with a filled-in checklist,
/// risks assessed (inherent, current, residual), treated, controlled, one accepted, one
/// overdue, one with hostile text; an incident with a timeline and root cause; evidence.
pub async fn seed(h: &Harness) {
    let (s, lib, rules) = (h.store(), &h.lib, Rules::builtin().unwrap());
    let user = |name: &str, role: Role| NewUser {
        username: name.into(),
        display_name: None,
        role,
        password: "correct horse battery".into(),
    };
    s.create_user("cli:test", user("admin", Role::Admin))
        .await
        .unwrap();
    let alice = s
        .create_user("cli:test", user("alice", Role::Assessor))
        .await
        .unwrap();
    let sys = s
        .create_object(
            "user:admin",
            ObjectKind::System,
            json!({"name": "Customer chatbot 客服机器人", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"]}),
            None,
        )
        .await
        .unwrap();
    s.create_object(
        "user:admin",
        ObjectKind::System,
        json!({"name": "Credit scoring", "system_type": "decision"}),
        None,
    )
    .await
    .unwrap();
    s.adopt_defaults("user:admin", lib, &rules, &sys.r#ref)
        .await
        .unwrap();
    // Checklist: one compliant, one partial, one non-compliant with owner and notes.
    let items = s
        .checklist(lib, &sys.r#ref, "tc260-aisgf", false)
        .await
        .unwrap();
    for (it, status, notes) in [
        (&items[0], ChecklistStatus::Compliant, "done"),
        (&items[1], ChecklistStatus::Partial, "half way"),
        (&items[2], ChecklistStatus::NonCompliant, "no filter yet"),
    ] {
        s.update_checklist_item(
            "user:admin",
            lib,
            &it.id,
            ChecklistPatch {
                status: Some(status),
                justification: None,
                owner_id: Some(alice.id.clone()),
                notes: Some(notes.into()),
            },
            it.version,
        )
        .await
        .unwrap();
    }

    // RISK-1: assessed three ways, mitigated with a control.
    let r1 = s
        .create_risk(
            "user:alice",
            lib,
            &sys.r#ref,
            risk(
                "Prompt injection leaks customer data",
                &["tc260-aisgf@1.0:3.1.2(d)"],
                Some(&alice.id),
            ),
        )
        .await
        .unwrap();
    s.assess(
        "user:alice",
        &r1.r#ref,
        judged(AssessmentKind::Inherent, 5, 5),
    )
    .await
    .unwrap();
    s.assess(
        "user:alice",
        &r1.r#ref,
        judged(AssessmentKind::Current, 4, 4),
    )
    .await
    .unwrap();
    s.assess(
        "user:alice",
        &r1.r#ref,
        judged(AssessmentKind::Residual, 2, 2),
    )
    .await
    .unwrap();
    let version = s.get_risk(&r1.r#ref).await.unwrap().version;
    s.set_treatment(
        "user:alice",
        &r1.r#ref,
        Treatment::Mitigate,
        "input filtering and output review",
        version,
    )
    .await
    .unwrap();
    let c = s
        .create_control(
            "user:alice",
            lib,
            &r1.r#ref,
            serde_json::from_value(json!({"title": "Prompt filter", "status": "in-progress", "due_date": "2026-12-01", "source": "tc260-aisgf:4.1.1(b)"})).unwrap(),
        )
        .await
        .unwrap();

    // RISK-2: accepted at its residual level.
    let r2 = s
        .create_risk(
            "user:alice",
            lib,
            &sys.r#ref,
            risk("Biased answers 偏见", &["tc260-aisgf@1.0:3.1.1(b)"], None),
        )
        .await
        .unwrap();
    s.assess(
        "user:alice",
        &r2.r#ref,
        judged(AssessmentKind::Current, 3, 3),
    )
    .await
    .unwrap();
    s.assess(
        "user:alice",
        &r2.r#ref,
        judged(AssessmentKind::Residual, 2, 3),
    )
    .await
    .unwrap();
    let req = s
        .request_acceptance(
            "user:alice",
            &r2.r#ref,
            "tolerable with monitoring",
            h.now().plus_seconds(90 * 86_400),
        )
        .await
        .unwrap();
    s.decide_acceptance("user:admin", Role::Admin, &req.id, true, "for one quarter")
        .await
        .unwrap();

    // RISK-3: hostile title, assessed, never treated (overdue once the clock moves).
    let r3 = s
        .create_risk("user:alice", lib, &sys.r#ref, risk(HOSTILE, &[], None))
        .await
        .unwrap();
    s.assess(
        "user:alice",
        &r3.r#ref,
        judged(AssessmentKind::Current, 3, 4),
    )
    .await
    .unwrap();

    // A risk on the other system.
    s.create_risk(
        "user:admin",
        lib,
        "SYS-2",
        risk("Unexplainable credit decisions", &[], None),
    )
    .await
    .unwrap();

    // An incident with a timeline and a root cause.
    let inc = s
        .create_incident(
            "user:admin",
            &rules,
            serde_json::from_value(json!({
                "title": "System prompt leaked 提示词泄露",
                "description": "a user extracted the system prompt",
                "severity": "high",
                "occurred_at": "2026-11-20T07:30:00Z",
                "detected_at": "2026-11-20T08:00:00Z",
                "systems": [sys.r#ref],
                "risks": [r1.r#ref],
                "root_cause_risks": [r1.r#ref],
                "containment": "prompt rotated",
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    s.add_timeline(
        "user:admin",
        &inc.r#ref,
        Some("2026-11-20T09:00:00Z"),
        "prompt rotated; filter tightened",
    )
    .await
    .unwrap();

    // Evidence: a link attached to the risk and its control.
    let ev = s
        .create_evidence_link(
            "user:admin",
            serde_json::from_value(
                json!({"title": "Red-team report", "url": "https://wiki.example.com/redteam"}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    s.attach_evidence("user:admin", &ev.r#ref, "risk", &r1.r#ref)
        .await
        .unwrap();
    s.attach_evidence("user:admin", &ev.r#ref, "control", &c.id)
        .await
        .unwrap();

    // Forty days on: RISK-3's treatment deadline has passed, the control is overdue.
    h.clock.advance(40 * 86_400);
}

/// Replaces ids and hashes (which differ run to run) with placeholders.
pub fn redact(s: &str) -> String {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let hex = regex::Regex::new(r"[0-9a-f]{64}").unwrap();
    let s = uuid.replace_all(s, "<uuid>");
    hex.replace_all(&s, "<sha256>").into_owned()
}

/// Compares `actual` with `tests/snapshots/<name>` (written with `UPDATE_SNAPSHOTS=1`).
pub fn snapshot(name: &str, actual: &str) {
    let path = format!("{}/tests/snapshots/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(&path, actual).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {path} (create it with UPDATE_SNAPSHOTS=1 cargo test -p aigov-report)"
        )
    });
    assert!(
        committed == actual,
        "{name} changed: review and update with UPDATE_SNAPSHOTS=1\n--- committed\n{committed}\n--- actual\n{actual}"
    );
}
