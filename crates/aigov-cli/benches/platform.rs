//! Platform benchmarks (issue 3): on SQLite with 10,000 systems and 1,000,000 audit events —
//! list endpoints p95 (goal < 20 ms), `audit verify` (< 10 s), cold start of `aigov serve`
//! (< 300 ms) and its idle RSS (< 60 MB). With `AIGOV_BENCH_DATABASE_URL=postgres://…` the
//! same figures are taken on PostgreSQL too.
//!
//! Run: `cargo bench -p aigov-cli --bench platform`. The seeded database is kept under
//! `target/bench-data/` and reused by later runs (delete it to reseed). Latencies are server
//! time measured in process (router `oneshot`), so they exclude the network.

#![allow(clippy::unwrap_used)] // a benchmark: failing loudly is right

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aigov_core::access::Role;
use aigov_core::inventory::ObjectKind;
use aigov_server::config::Config;
use aigov_server::{AppState, router};
use aigov_store::users::NewUser;
use aigov_store::{OpenOptions, Store};
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use serde_json::json;
use tower::ServiceExt;

const SYSTEMS: usize = 10_000;
const EVENTS: i64 = 1_000_000;

fn data_root() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../target")));
    target.join("bench-data")
}

async fn seed(store: &Arc<dyn Store>) {
    let (_, have) = store
        .list_objects(ObjectKind::System, &Default::default())
        .await
        .unwrap();
    if have < SYSTEMS as i64 {
        eprintln!("seeding {SYSTEMS} systems …");
        let types = [
            "generative",
            "decision",
            "recommendation",
            "agent",
            "embodied",
            "other",
        ];
        let rows: Vec<(u64, serde_json::Value)> = (0..SYSTEMS)
            .map(|i| {
                let label = ["客服助手", "triage model", "recommender", "风控模型"][i % 4];
                let sector = ["finance", "healthcare", "government", "retail"][i % 4];
                (i as u64 + 2, json!({
                    "name": format!("System {i:05} {label}"),
                    "system_type": types[i % types.len()],
                    "public_facing": i % 3 == 0,
                    "key_area": i % 7 == 0,
                    "sector": sector,
                    "modalities": ["text"],
                    "tc260_roles": ["service-provider"],
                    "description": "A benchmark system with a description of moderate length to make rows realistic.",
                }))
            })
            .collect();
        for chunk in rows.chunks(2_000) {
            store
                .import_objects("bench", ObjectKind::System, chunk.to_vec())
                .await
                .unwrap();
        }
    }
    let head = store.audit_verify().await.unwrap().head_seq;
    if head < EVENTS {
        let n = (EVENTS - head) as u64;
        eprintln!("seeding {n} audit events (once; kept for later runs) …");
        let t = Instant::now();
        store.seed_audit_events(n, 20_000).await.unwrap();
        eprintln!("  seeded in {:.1}s", t.elapsed().as_secs_f64());
    }
}

/// Builds the i-th request URI of a scenario.
type UriFn = Box<dyn Fn(usize) -> String>;

fn pct(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

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
    println!(
        "\n== {label}: {SYSTEMS} systems, {} audit events",
        store.audit_verify().await.map(|r| r.head_seq).unwrap_or(0)
    );
    let scenarios: Vec<(&str, UriFn)> = vec![
        (
            "GET /systems (page of 50)",
            Box::new(|i| format!("/api/v1/systems?limit=50&offset={}", (i * 37) % 9_950)),
        ),
        (
            "GET /systems (page of 500)",
            Box::new(|i| format!("/api/v1/systems?limit=500&offset={}", (i * 53) % 9_500)),
        ),
        (
            "GET /systems?sort=-name",
            Box::new(|i| {
                format!(
                    "/api/v1/systems?sort=-name&limit=50&offset={}",
                    (i * 11) % 5_000
                )
            }),
        ),
        (
            "GET /systems filtered",
            Box::new(|i| {
                format!(
                    "/api/v1/systems?system_type=agent&public_facing=true&sector=finance&offset={}",
                    i % 10
                )
            }),
        ),
        (
            "GET /systems?q=",
            Box::new(|i| format!("/api/v1/systems?q=system%20{:03}", i % 100)),
        ),
        (
            "GET /systems/{ref}",
            Box::new(|i| format!("/api/v1/systems/SYS-{}", 1 + (i * 97) % SYSTEMS)),
        ),
        (
            "GET /audit (newest 50)",
            Box::new(|_| "/api/v1/audit?order=desc&limit=50".to_string()),
        ),
        (
            "GET /audit (page deep)",
            Box::new(|i| format!("/api/v1/audit?limit=50&offset={}", 500_000 + i * 1_000)),
        ),
        (
            "GET /audit?object_type=system",
            Box::new(|i| {
                format!(
                    "/api/v1/audit?object_type=system&limit=50&offset={}",
                    i * 10
                )
            }),
        ),
    ];
    println!(
        "{:<34} {:>8} {:>8} {:>8}",
        "endpoint (server time)", "p50 ms", "p95 ms", "max ms"
    );
    for (name, uri) in &scenarios {
        let mut lat = Vec::new();
        for i in 0..220 {
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
        println!(
            "{name:<34} {:>8.2} {:>8.2} {:>8.2}",
            pct(lat.clone(), 0.5),
            pct(lat.clone(), 0.95),
            pct(lat, 1.0)
        );
    }
    let t = Instant::now();
    let v = store.audit_verify().await.unwrap();
    println!(
        "audit verify: {} events in {:.2} s (ok: {})",
        v.events,
        t.elapsed().as_secs_f64(),
        v.broken.is_none()
    );
}

fn rss_kb(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn cold_start(label: &str, data_dir: &Path, database_url: Option<&str>) {
    let exe = env!("CARGO_BIN_EXE_aigov");
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..7 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = Instant::now();
        let mut cmd = Command::new(exe);
        cmd.args([
            "--data-dir",
            data_dir.to_str().unwrap(),
            "serve",
            "--bind",
            &format!("127.0.0.1:{port}"),
            "--log-level",
            "warn",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if let Some(u) = database_url {
            cmd.args(["--database-url", u]);
        }
        let mut child = cmd.spawn().unwrap();
        let ready = loop {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                use std::io::{Read, Write};
                let _ =
                    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                let mut b = String::new();
                let _ = s.read_to_string(&mut b);
                if b.starts_with("HTTP/1.1 200") {
                    break t.elapsed();
                }
            }
            if t.elapsed() > Duration::from_secs(30) {
                panic!("serve did not answer");
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        times.push(ready.as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(1500));
        rss.push(rss_kb(child.id()).unwrap_or(0) as f64 / 1024.0);
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    println!(
        "{label}: cold start to first /healthz: median {:.0} ms, max {:.0} ms; idle RSS median {:.1} MB, max {:.1} MB",
        pct(times.clone(), 0.5),
        pct(times, 1.0),
        pct(rss.clone(), 0.5),
        pct(rss, 1.0)
    );
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
    let dir = data_root().join("platform-sqlite");
    std::fs::create_dir_all(&dir).unwrap();
    rt.block_on(bench_backend("SQLite", OpenOptions::new(&dir), &dir));
    cold_start("SQLite", &dir, None);
    if let Ok(url) = std::env::var("AIGOV_BENCH_DATABASE_URL") {
        let pgdir = data_root().join("platform-postgres");
        std::fs::create_dir_all(&pgdir).unwrap();
        rt.block_on(bench_backend(
            "PostgreSQL",
            OpenOptions {
                database_url: Some(url.clone()),
                ..OpenOptions::new(&pgdir)
            },
            &pgdir,
        ));
        cold_start("PostgreSQL", &pgdir, Some(&url));
    }
}
