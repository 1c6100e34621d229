//! Risk-register benchmarks (issue 4): 100,000 risks over 10,000 systems — register list and
//! filters p95 (goal < 50 ms), dashboard aggregates (goal < 100 ms) — and the web UI's pages
//! over the same data (issue 7): server time of each page (goal < 100 ms) and its weight, the
//! HTML plus the CSS and scripts it loads (goal < 200 KB without images). On SQLite, and on
//! PostgreSQL too with `AIGOV_BENCH_DATABASE_URL=postgres://…` (use a database of its own).
//!
//! Run: `cargo bench -p aigov-cli --bench register`. The seeded database is kept under
//! `target/bench-data/register-*` and reused (delete it to reseed). Latencies are server time
//! in process (router `oneshot`), so they exclude the network.

#![allow(clippy::unwrap_used)] // a benchmark: failing loudly is right

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use aigov_core::access::Role;
use aigov_core::inventory::ObjectKind;
use aigov_server::config::Config;
use aigov_server::{AppState, router};
use aigov_store::inventory::ListQuery;
use aigov_store::users::NewUser;
use aigov_store::{OpenOptions, Store};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const SYSTEMS: usize = 10_000;
const RISKS: usize = 100_000;

fn data_root() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("bench-data")
}

async fn seed(store: &Arc<dyn Store>) {
    let (_, have) = store
        .list_objects(
            ObjectKind::System,
            &ListQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    if have < SYSTEMS as i64 {
        eprintln!("seeding {SYSTEMS} systems …");
        let rows: Vec<(u64, serde_json::Value)> = (0..SYSTEMS)
            .map(|i| {
                let t = ["generative", "decision", "agent"][i % 3];
                (i as u64 + 2, json!({"name": format!("System {i:05}"), "system_type": t, "public_facing": i % 2 == 0}))
            })
            .collect();
        for chunk in rows.chunks(2_000) {
            store
                .import_objects("bench", ObjectKind::System, chunk.to_vec())
                .await
                .unwrap();
        }
    }
    let (_, risks) = store
        .list_risks(&aigov_store::risks::RiskQuery {
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    if risks < RISKS as i64 {
        let mut ids = Vec::new();
        let mut offset = 0;
        loop {
            let (page, _) = store
                .list_objects(
                    ObjectKind::System,
                    &ListQuery {
                        limit: 500,
                        offset,
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            offset += page.len() as i64;
            ids.extend(page.into_iter().map(|r| r.id));
        }
        eprintln!(
            "seeding {} risks over {} systems …",
            RISKS as i64 - risks,
            ids.len()
        );
        let t = Instant::now();
        store
            .seed_risks(&ids, RISKS - risks as usize, 5_000)
            .await
            .unwrap();
        eprintln!("  seeded in {:.1}s", t.elapsed().as_secs_f64());
    }
}

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

type UriFn = Box<dyn Fn(usize) -> String>;

async fn bench_backend(label: &str, opts: OpenOptions, data_dir: &Path) {
    let store = aigov_store::open(&opts).await.unwrap();
    seed(&store).await;
    let admin = match store.get_user("bench-admin").await {
        Ok(u) => u,
        Err(_) => store
            .create_user(
                "bench",
                NewUser {
                    username: "bench-admin".into(),
                    display_name: None,
                    role: Role::Admin,
                    password: "bench password long".into(),
                },
            )
            .await
            .unwrap(),
    };
    let (_, token) = store
        .create_token(
            "bench",
            &admin,
            "bench",
            Role::Admin,
            store.now().plus_seconds(3600),
        )
        .await
        .unwrap();
    let state = AppState::new(
        store.clone(),
        Config {
            data_dir: data_dir.to_path_buf(),
            ..Config::default()
        },
    )
    .await
    .unwrap();
    let app = router(state);
    println!("\n== {label}: {RISKS} risks over {SYSTEMS} systems");
    let scenarios: Vec<(&str, f64, UriFn)> = vec![
        (
            "GET /risks (page of 50)",
            50.0,
            Box::new(|i| format!("/api/v1/risks?limit=50&offset={}", (i * 97) % 2_000)),
        ),
        (
            "GET /risks (deep page)",
            50.0,
            Box::new(|i| {
                format!(
                    "/api/v1/risks?limit=50&offset={}",
                    90_000 + (i * 37) % 9_000
                )
            }),
        ),
        (
            "GET /risks?system=SYS-n",
            50.0,
            Box::new(|i| format!("/api/v1/risks?system=SYS-{}", 1 + (i * 131) % SYSTEMS)),
        ),
        (
            "GET /risks?status=treating",
            50.0,
            Box::new(|i| format!("/api/v1/risks?status=treating&offset={}", (i * 50) % 5_000)),
        ),
        (
            "GET /risks?level=major",
            50.0,
            Box::new(|i| format!("/api/v1/risks?level=major&offset={}", (i * 50) % 5_000)),
        ),
        (
            "GET /risks?status=assessed&level=…",
            50.0,
            Box::new(|i| {
                format!(
                    "/api/v1/risks?status=assessed&level={}",
                    ["low", "general", "significant", "major", "extremely-severe"][i % 5]
                )
            }),
        ),
        (
            "GET /risks?sort=-level",
            50.0,
            Box::new(|i| format!("/api/v1/risks?sort=-level&offset={}", (i * 50) % 5_000)),
        ),
        (
            "GET /risks?sort=title",
            50.0,
            Box::new(|i| format!("/api/v1/risks?sort=title&offset={}", (i * 50) % 5_000)),
        ),
        (
            "GET /risks?q=",
            50.0,
            Box::new(|i| format!("/api/v1/risks?q=risk%20{:03}", i % 1000)),
        ),
        (
            "GET /risks?taxonomy=",
            50.0,
            Box::new(|i| {
                format!(
                    "/api/v1/risks?taxonomy=owasp-llm@2025:LLM01&offset={}",
                    (i * 50) % 5_000
                )
            }),
        ),
        (
            "GET /risks?treatment_overdue=true",
            50.0,
            Box::new(|i| {
                format!(
                    "/api/v1/risks?treatment_overdue=true&offset={}",
                    (i * 50) % 2_000
                )
            }),
        ),
        (
            "GET /risks/{ref}",
            50.0,
            Box::new(|i| format!("/api/v1/risks/RISK-{}", 1 + (i * 7919) % RISKS)),
        ),
        (
            "GET /dashboard",
            100.0,
            Box::new(|_| "/api/v1/dashboard".to_string()),
        ),
        (
            "GET /overdue",
            100.0,
            Box::new(|_| "/api/v1/overdue".to_string()),
        ),
    ];
    println!(
        "{:<36} {:>8} {:>8} {:>8} {:>8}",
        "endpoint (server time)", "p50 ms", "p95 ms", "max ms", "goal ms"
    );
    let mut failed = Vec::new();
    for (name, goal, uri) in &scenarios {
        let mut lat = Vec::new();
        for i in 0..120 {
            let req = Request::get(uri(i))
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let r = app.clone().oneshot(req).await.unwrap();
            let status = r.status();
            let _ = r.into_body().collect().await.unwrap();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert!(status.is_success(), "{name}: {status}");
            if i >= 20 {
                lat.push(ms);
            }
        }
        let p95 = pct(lat.clone(), 0.95);
        println!(
            "{name:<36} {:>8.2} {:>8.2} {:>8.2} {goal:>8.0}",
            pct(lat.clone(), 0.5),
            p95,
            pct(lat, 1.0)
        );
        if p95 > *goal {
            failed.push(*name);
        }
    }
    if !failed.is_empty() {
        println!("over the goal: {failed:?}");
    }
    bench_pages(&app, &token).await;
}

/// The web UI's pages: server time p50/p95 and weight (HTML + CSS + JS, no images).
async fn bench_pages(app: &axum::Router, token: &str) {
    let assets: usize = aigov_server::ui::assets::all()
        .iter()
        .map(|a| a.body.len())
        .sum();
    let pages: Vec<(&str, UriFn)> = vec![
        ("dashboard /", Box::new(|_| "/".to_string())),
        ("register /risks", Box::new(|_| "/risks".to_string())),
        (
            "register, page deep",
            Box::new(|i| format!("/risks?offset={}", 90_000 + (i * 50) % 9_000)),
        ),
        (
            "register filtered",
            Box::new(|i| {
                format!(
                    "/risks?status=assessed&level={}",
                    ["low", "general", "significant", "major", "extremely-severe"][i % 5]
                )
            }),
        ),
        (
            "register ?q=",
            Box::new(|i| format!("/risks?q=risk%20{:03}", i % 1000)),
        ),
        (
            "risk detail",
            Box::new(|i| format!("/risks/RISK-{}", 1 + (i * 7919) % RISKS)),
        ),
        (
            "system detail",
            Box::new(|i| format!("/systems/SYS-{}", 2 + (i * 131) % SYSTEMS)),
        ),
        ("systems list", Box::new(|_| "/systems".to_string())),
        (
            "catalog browser",
            Box::new(|_| "/catalogs/tc260-aisgf".to_string()),
        ),
        (
            "catalog search",
            Box::new(|_| "/catalogs?q=prompt".to_string()),
        ),
        ("audit log", Box::new(|_| "/audit".to_string())),
    ];
    println!(
        "\n== web UI pages (assets {:.1} KB)",
        assets as f64 / 1024.0
    );
    println!(
        "{:<24} {:>8} {:>8} {:>8} {:>10} {:>10}",
        "page (server time)", "p50 ms", "p95 ms", "max ms", "HTML KB", "total KB"
    );
    let mut failed = Vec::new();
    for (name, uri) in &pages {
        let mut lat = Vec::new();
        let mut html = 0;
        for i in 0..60 {
            let req = Request::get(uri(i))
                .header("authorization", format!("Bearer {token}"))
                .header("cookie", "aigov_lang=zh")
                .body(Body::empty())
                .unwrap();
            let t = Instant::now();
            let r = app.clone().oneshot(req).await.unwrap();
            let status = r.status();
            let body = r.into_body().collect().await.unwrap().to_bytes();
            let ms = t.elapsed().as_secs_f64() * 1000.0;
            assert!(status.is_success(), "{name}: {status}");
            html = html.max(body.len());
            if i >= 10 {
                lat.push(ms);
            }
        }
        let p95 = pct(lat.clone(), 0.95);
        let total = html + assets;
        println!(
            "{name:<24} {:>8.2} {:>8.2} {:>8.2} {:>10.1} {:>10.1}",
            pct(lat.clone(), 0.5),
            p95,
            pct(lat, 1.0),
            html as f64 / 1024.0,
            total as f64 / 1024.0
        );
        if p95 > 100.0 || total > 200 * 1024 {
            failed.push(*name);
        }
    }
    if !failed.is_empty() {
        println!("pages over the goal (100 ms p95, 200 KB): {failed:?}");
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing: then do nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = data_root().join("register-sqlite");
    std::fs::create_dir_all(&dir).unwrap();
    rt.block_on(bench_backend("SQLite", OpenOptions::new(&dir), &dir));
    if let Ok(url) = std::env::var("AIGOV_BENCH_DATABASE_URL") {
        let pgdir = data_root().join("register-postgres");
        std::fs::create_dir_all(&pgdir).unwrap();
        rt.block_on(bench_backend(
            "PostgreSQL",
            OpenOptions {
                database_url: Some(url),
                ..OpenOptions::new(&pgdir)
            },
            &pgdir,
        ));
    }
}
