//! The governance loop from the command line. Every command goes through the REST API in
//! process (the same validation, state machine and audit trail as the server), acting as the
//! local operator: an admin recorded as `cli:<OS user>`. `aigov api` reaches every endpoint;
//! the named commands are shortcuts for the common views and steps.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use aigov_server::config::{Config, FileConfig};
use aigov_server::extract::Principal;
use aigov_server::{AppState, router};
use anyhow::{Context, Result, bail};
use axum::body::Body;
use axum::http::{Method, Request, header};
use clap::Subcommand;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::catalog::ListFormat;
use crate::output::{self, note, print, table};
use crate::settings::{self, Global};

/// An in-process API client over the configured store.
struct Local {
    state: AppState,
    user: String,
}

/// A response.
struct Answer {
    status: u16,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body as JSON when the call succeeded; the problem as an error otherwise.
    fn ok(self) -> Result<Value> {
        if (200..300).contains(&self.status) {
            return Ok(self.json());
        }
        bail!(problem_text(self.status, &self.json(), &self.body))
    }
}

fn problem_text(status: u16, p: &Value, raw: &[u8]) -> String {
    let Some(detail) = p.get("detail").and_then(Value::as_str) else {
        return format!("HTTP {status}: {}", String::from_utf8_lossy(raw));
    };
    let mut s = format!(
        "{} ({status}): {detail}",
        p.get("code").and_then(Value::as_str).unwrap_or("error")
    );
    for e in p
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        s.push_str(&format!(
            "\n  - {}: {}",
            e["field"].as_str().unwrap_or(""),
            e["message"].as_str().unwrap_or("")
        ));
    }
    s
}

impl Local {
    async fn open(cfg: &Config) -> Result<Local> {
        let store = settings::open_existing(cfg).await?.with_context(|| {
            format!(
                "no database in {}; run `aigov serve` once first",
                cfg.data_dir.display()
            )
        })?;
        let state = AppState::new(store, cfg.clone()).await?;
        let user = settings::cli_actor().trim_start_matches("cli:").to_string();
        Ok(Local { state, user })
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, String)>,
        if_match: Option<&str>,
    ) -> Result<Answer> {
        let uri = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/api/v1/{path}")
        };
        let mut b = Request::builder().method(method).uri(&uri);
        if let Some(v) = if_match {
            let v = if v.starts_with('"') || v.starts_with("W/") {
                v.to_string()
            } else {
                format!("\"{v}\"")
            };
            b = b.header(header::IF_MATCH, v);
        }
        let req = match body {
            Some((bytes, ct)) => b.header(header::CONTENT_TYPE, ct).body(Body::from(bytes)),
            None => b.body(Body::empty()),
        };
        let mut req = req.with_context(|| format!("bad request path {uri:?}"))?;
        req.extensions_mut().insert(Principal::local(&self.user));
        let resp = router(self.state.clone())
            .oneshot(req)
            .await
            .context("the request failed")?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .into_body()
            .collect()
            .await
            .context("cannot read the response")?
            .to_bytes()
            .to_vec();
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    async fn get(&self, path: &str) -> Result<Value> {
        self.call(Method::GET, path, None, None).await?.ok()
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.call(
            Method::POST,
            path,
            Some((body.to_string().into_bytes(), "application/json".into())),
            None,
        )
        .await?
        .ok()
    }
}

fn with_local<F>(g: &Global, f: F) -> Result<ExitCode>
where
    F: for<'a> FnOnce(
        &'a Local,
    ) -> std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<ExitCode>> + 'a>,
    >,
{
    let cfg = settings::resolve(g, FileConfig::default())?;
    let rt = settings::runtime()?;
    rt.block_on(async {
        let l = Local::open(&cfg).await?;
        f(&l).await
    })
}

// ---------------------------------------------------------------------------------------
// aigov api

/// `aigov api` flags.
#[derive(Debug, clap::Args)]
pub struct ApiArgs {
    /// HTTP method: GET, POST, PATCH, PUT, DELETE.
    method: String,
    /// Path under /api/v1 (`risks?status=assessed` or `/api/v1/risks`).
    path: String,
    /// JSON request body; `@FILE` reads a file, `-` reads standard input.
    #[arg(long, short = 'd', value_name = "JSON")]
    data: Option<String>,
    /// Send a file as the raw body (evidence uploads), with --content-type.
    #[arg(long, value_name = "FILE", conflicts_with = "data")]
    file: Option<PathBuf>,
    /// Content type of --file (default application/octet-stream).
    #[arg(long, value_name = "TYPE")]
    content_type: Option<String>,
    /// The version (ETag) you read, for changes that need If-Match.
    #[arg(long, value_name = "VERSION")]
    if_match: Option<String>,
    /// Also print the status line and headers (to stderr).
    #[arg(long, short = 'i')]
    include: bool,
}

/// `aigov api METHOD PATH`: any endpoint of the REST API, in process.
pub fn api(a: ApiArgs, g: &Global) -> Result<ExitCode> {
    let method = Method::from_bytes(a.method.to_ascii_uppercase().as_bytes())
        .with_context(|| format!("unknown HTTP method {:?}", a.method))?;
    let body = match (&a.data, &a.file) {
        (Some(d), _) => {
            let text = if d == "-" {
                let mut s = String::new();
                std::io::stdin()
                    .read_to_string(&mut s)
                    .context("cannot read standard input")?;
                s
            } else if let Some(p) = d.strip_prefix('@') {
                std::fs::read_to_string(p).with_context(|| format!("cannot read {p}"))?
            } else {
                d.clone()
            };
            serde_json::from_str::<Value>(&text)
                .with_context(|| "--data is not JSON".to_string())?;
            Some((text.into_bytes(), "application/json".to_string()))
        }
        (None, Some(f)) => Some((
            std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?,
            a.content_type
                .clone()
                .unwrap_or_else(|| "application/octet-stream".into()),
        )),
        (None, None) => None,
    };
    with_local(g, move |l| {
        Box::pin(async move {
            let r = l.call(method, &a.path, body, a.if_match.as_deref()).await?;
            if a.include {
                note(&format!("HTTP {}", r.status));
                for (k, v) in &r.headers {
                    note(&format!("{k}: {}", v.to_str().unwrap_or("")));
                }
            }
            if (200..300).contains(&r.status) {
                let ct = r
                    .headers
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if ct.starts_with("application/json") {
                    print(&output::json(&r.json()));
                } else {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&r.body).and_then(|_| out.flush());
                }
                Ok(ExitCode::SUCCESS)
            } else {
                note(&format!(
                    "error: {}",
                    problem_text(r.status, &r.json(), &r.body)
                ));
                Ok(ExitCode::from(1))
            }
        })
    })
}

// ---------------------------------------------------------------------------------------
// Named commands

/// `aigov risk …`
#[derive(Debug, Subcommand)]
pub enum RiskCmd {
    /// The risk register.
    List {
        /// Only this system (id or SYS-n).
        #[arg(long)]
        system: Option<String>,
        /// identified, assessed, treating, accepted or closed.
        #[arg(long)]
        status: Option<String>,
        /// Current level id (low, general, significant, major, extremely-severe on the default).
        #[arg(long)]
        level: Option<String>,
        /// Only risks whose treatment should have started.
        #[arg(long)]
        overdue: bool,
        /// At most this many (1–500).
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// A risk with its assessments, controls, actions and acceptances (JSON).
    Show {
        /// RISK-n or id.
        risk: String,
    },
    /// Run the identification rules over a system and list its candidate risks.
    Identify {
        /// SYS-n or id.
        system: String,
    },
}

/// `aigov risk …`
pub fn risk(cmd: RiskCmd, g: &Global) -> Result<ExitCode> {
    with_local(g, move |l| {
        Box::pin(async move {
            match cmd {
                RiskCmd::List {
                    system,
                    status,
                    level,
                    overdue,
                    limit,
                    format,
                } => {
                    let mut q = vec![format!("limit={limit}")];
                    for (k, v) in [("system", system), ("status", status), ("level", level)] {
                        if let Some(v) = v {
                            q.push(format!("{k}={}", enc(&v)));
                        }
                    }
                    if overdue {
                        q.push("treatment_overdue=true".into());
                    }
                    let page = l.get(&format!("risks?{}", q.join("&"))).await?;
                    if format == ListFormat::Json {
                        print(&output::json(&page));
                    } else {
                        let rows: Vec<Vec<String>> = page["items"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|r| {
                                vec![
                                    s(&r["ref"]),
                                    s(&r["system_ref"]),
                                    s(&r["status"]),
                                    s(&r["current_level"]),
                                    s(&r["treatment"]),
                                    if r["treatment_overdue"] == true {
                                        "overdue".into()
                                    } else {
                                        String::new()
                                    },
                                    s(&r["data"]["title"]),
                                ]
                            })
                            .collect();
                        print(&table(
                            &["REF", "SYSTEM", "STATUS", "LEVEL", "TREATMENT", "", "TITLE"],
                            &rows,
                        ));
                        note(&format!("{} of {} risk(s)", rows.len(), page["total"]));
                    }
                }
                RiskCmd::Show { risk } => {
                    let mut r = l.get(&format!("risks/{}", enc(&risk))).await?;
                    for part in ["assessments", "controls", "actions", "acceptances"] {
                        r[part] = l.get(&format!("risks/{}/{part}", enc(&risk))).await?;
                    }
                    print(&output::json(&r));
                }
                RiskCmd::Identify { system } => {
                    let c = l
                        .post(&format!("systems/{}/identify", enc(&system)), Value::Null)
                        .await?;
                    let rows: Vec<Vec<String>> = c
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            vec![
                                s(&c["status"]),
                                s(&c["item"]),
                                s(&c["rule_id"]),
                                s(&c["id"]),
                            ]
                        })
                        .collect();
                    print(&table(
                        &["STATUS", "TAXONOMY ITEM", "RULE", "CANDIDATE"],
                        &rows,
                    ));
                    note(
                        "decide each with: aigov api POST candidates/<CANDIDATE>/decision -d '{\"accept\": true, \"reason\": \"…\"}'",
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// `aigov checklist SYSTEM CATALOG`: a checklist with statuses, coverage and reasons.
#[derive(Debug, clap::Args)]
pub struct ChecklistArgs {
    /// SYS-n or id.
    system: String,
    /// Catalog id (tc260-aisgf, gbt-45654 …); omit to list the adoptions with coverage.
    catalog: Option<String>,
    /// Include items that do not apply, with the reason.
    #[arg(long)]
    all: bool,
    /// Show the checklist's coverage overall, per top-level section and per actor role
    /// instead of its items.
    #[arg(long, conflicts_with = "all", requires = "catalog")]
    coverage: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Table)]
    format: ListFormat,
}

fn coverage_row(group: &str, key: &str, title: &Value, c: &Value) -> Vec<String> {
    vec![
        group.into(),
        key.into(),
        title["en"]
            .as_str()
            .or(title["zh"].as_str())
            .unwrap_or("")
            .into(),
        format!("{}%", c["percent"]),
        s(&c["applicable"]),
        s(&c["compliant"]),
        s(&c["partial"]),
        s(&c["non_compliant"]),
        s(&c["not_applicable"]),
        s(&c["not_started"]),
    ]
}

/// `aigov checklist …`
pub fn checklist(a: ChecklistArgs, g: &Global) -> Result<ExitCode> {
    with_local(g, move |l| {
        Box::pin(async move {
            let sys = enc(&a.system);
            let Some(cat) = a.catalog else {
                let ad = l.get(&format!("systems/{sys}/adoptions")).await?;
                if a.format == ListFormat::Json {
                    print(&output::json(&ad));
                    return Ok(ExitCode::SUCCESS);
                }
                let rows: Vec<Vec<String>> = ad
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| {
                        vec![
                            s(&x["catalog"]),
                            format!("{}%", x["coverage"]["percent"]),
                            s(&x["coverage"]["applicable"]),
                            s(&x["coverage"]["not_started"]),
                            s(&x["reason"]["en"]),
                        ]
                    })
                    .collect();
                print(&table(
                    &["CATALOG", "COVERAGE", "ITEMS", "NOT STARTED", "WHY"],
                    &rows,
                ));
                return Ok(ExitCode::SUCCESS);
            };
            if a.coverage {
                let b = l
                    .get(&format!("systems/{sys}/checklists/{}/coverage", enc(&cat)))
                    .await?;
                if a.format == ListFormat::Json {
                    print(&output::json(&b));
                    return Ok(ExitCode::SUCCESS);
                }
                let mut rows = vec![coverage_row(
                    "overall",
                    &s(&b["catalog"]),
                    &Value::Null,
                    &b["overall"],
                )];
                for (group, key) in [("section", "by_section"), ("role", "by_role")] {
                    for g in b[key].as_array().into_iter().flatten() {
                        rows.push(coverage_row(
                            group,
                            &s(&g["key"]),
                            &g["title"],
                            &g["coverage"],
                        ));
                    }
                }
                print(&table(
                    &[
                        "GROUP",
                        "KEY",
                        "TITLE",
                        "COVERAGE",
                        "ITEMS",
                        "COMPLIANT",
                        "PARTIAL",
                        "NON-COMPLIANT",
                        "N/A",
                        "NOT STARTED",
                    ],
                    &rows,
                ));
                return Ok(ExitCode::SUCCESS);
            }
            let items = l
                .get(&format!(
                    "systems/{sys}/checklists/{}?all={}",
                    enc(&cat),
                    a.all
                ))
                .await?;
            if a.format == ListFormat::Json {
                print(&output::json(&items));
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = items
                .as_array()
                .into_iter()
                .flatten()
                .map(|x| {
                    let applies = if x["applies"] == true {
                        s(&x["status"])
                    } else {
                        "does not apply".into()
                    };
                    let expired = x["evidence"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|e| e["expired"] == true);
                    vec![
                        s(&x["item_ref"]),
                        applies,
                        if expired {
                            "evidence expired".into()
                        } else {
                            String::new()
                        },
                        s(&x["reason"]["en"]),
                        s(&x["id"]),
                    ]
                })
                .collect();
            print(&table(&["ITEM", "STATUS", "", "WHY", "ID"], &rows));
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// `aigov gate SYSTEM --to STAGE`: what blocks a stage move. Exits 3 when blocked.
#[derive(Debug, clap::Args)]
pub struct GateArgs {
    /// SYS-n or id.
    system: String,
    /// The stage to enter (plan, design-develop, train, verify, deploy, operate, retire …).
    #[arg(long)]
    to: String,
}

/// `aigov gate …`
pub fn gate(a: GateArgs, g: &Global) -> Result<ExitCode> {
    with_local(g, move |l| {
        Box::pin(async move {
            let r = l
                .get(&format!(
                    "systems/{}/gate?to={}",
                    enc(&a.system),
                    enc(&a.to)
                ))
                .await?;
            if r["allowed"] == true {
                print(&format!(
                    "{} may enter {}: the gate holds\n",
                    a.system, a.to
                ));
                return Ok(ExitCode::SUCCESS);
            }
            print(&format!("{} may not enter {}:\n", a.system, a.to));
            for b in r["blockers"].as_array().into_iter().flatten() {
                print(&format!(
                    "  - {}: {}\n",
                    s(&b["condition"]),
                    s(&b["message"])
                ));
            }
            Ok(ExitCode::from(3))
        })
    })
}

/// `aigov evidence add FILE`: upload a file as evidence, optionally attaching it.
#[derive(Debug, clap::Args)]
pub struct EvidenceArgs {
    /// The file.
    file: PathBuf,
    /// Title.
    #[arg(long)]
    title: String,
    /// Valid until (YYYY-MM-DD).
    #[arg(long)]
    expires_on: Option<String>,
    /// Valid from (YYYY-MM-DD; default today).
    #[arg(long)]
    effective_date: Option<String>,
    /// Attach to TYPE:ID (risk:RISK-3, incident:INC-1, control:<id>, checklist-item:<id>); repeatable.
    #[arg(long, value_name = "TYPE:ID")]
    attach: Vec<String>,
}

/// `aigov evidence add …`
pub fn evidence(a: EvidenceArgs, g: &Global) -> Result<ExitCode> {
    let bytes =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let name = a
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    let mut attach = Vec::new();
    for t in &a.attach {
        let (ty, id) = t
            .split_once(':')
            .with_context(|| format!("--attach {t:?}: write TYPE:ID, e.g. risk:RISK-3"))?;
        attach.push((ty.to_string(), id.to_string()));
    }
    with_local(g, move |l| {
        Box::pin(async move {
            let mut q = format!(
                "evidence/files?title={}&file_name={}",
                enc(&a.title),
                enc(&name)
            );
            if let Some(e) = &a.expires_on {
                q.push_str(&format!("&expires_on={}", enc(e)));
            }
            if let Some(e) = &a.effective_date {
                q.push_str(&format!("&effective_date={}", enc(e)));
            }
            let ev = l
                .call(
                    Method::POST,
                    &q,
                    Some((bytes, "application/octet-stream".into())),
                    None,
                )
                .await?
                .ok()?;
            let r = s(&ev["ref"]);
            note(&format!(
                "stored {} as {r} (sha256 {}, {} bytes)",
                a.file.display(),
                s(&ev["sha256"]),
                ev["size"]
            ));
            for (ty, id) in attach {
                l.post(
                    &format!("evidence/{r}/attachments"),
                    serde_json::json!({"target_type": ty, "target": id}),
                )
                .await?;
                note(&format!("attached {r} to {ty} {id}"));
            }
            print(&format!("{r}\n"));
            Ok(ExitCode::SUCCESS)
        })
    })
}

/// `aigov dashboard`: open risks by level and status, overdue work, open incidents.
pub fn dashboard(g: &Global) -> Result<ExitCode> {
    with_local(g, move |l| {
        Box::pin(async move {
            let d = l.get("dashboard").await?;
            let pairs = |v: &Value| -> String {
                v.as_array()
                    .into_iter()
                    .flatten()
                    .map(|x| format!("{} {}", s(&x["key"]), x["count"]))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            print(&format!(
                "open risks by level:  {}\n",
                pairs(&d["risks_by_level"])
            ));
            print(&format!(
                "risks by status:      {}\n",
                pairs(&d["risks_by_status"])
            ));
            print(&format!("overdue:              {}\n", d["overdue"]));
            let inc = d["open_incidents"].as_array().map(|a| a.len()).unwrap_or(0);
            print(&format!("open incidents:       {inc}\n"));
            for i in d["open_incidents"].as_array().into_iter().flatten() {
                let flag = if i["reporting_overdue"] == true {
                    "  REPORTING OVERDUE"
                } else {
                    ""
                };
                print(&format!(
                    "  {} [{}] {} (report by {}){flag}\n",
                    s(&i["incident"]),
                    s(&i["severity"]),
                    s(&i["title"]),
                    s(&i["report_due"])
                ));
            }
            Ok(ExitCode::SUCCESS)
        })
    })
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment or query value.
fn enc(v: &str) -> String {
    let mut o = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}
