//! Optional: the engine against a real small model served offline (SmolLM2-135M behind
//! `llama-cpp-python[server]`). Skipped unless `AIGOV_TEST_SMOLLM2_URL` is set, e.g.
//! `AIGOV_TEST_SMOLLM2_URL=http://127.0.0.1:18082/v1`. `scripts/smollm2-server.sh` sets the
//! server up; see suites/README.md ("A real model, offline"). CI does not depend on it.
//!
//! A 135M model does not measure refusal rates (it hardly ever refuses and its Chinese is
//! weak); the test exercises the real-endpoint plumbing: completions, streaming, usage fields,
//! timeouts under CPU load, and a full report.

use std::time::Duration;

use aigov_probe::eval::{self, Metric};
use aigov_probe::run::record::RunStatus;
use aigov_probe::suite::builtin;
use aigov_probe::target::TargetConfig;

use crate::engine::{lib, records, run_in, setup};

fn url() -> Option<String> {
    match std::env::var("AIGOV_TEST_SMOLLM2_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().trim_end_matches('/').to_string()),
        _ => {
            eprintln!(
                "skipped: set AIGOV_TEST_SMOLLM2_URL=http://127.0.0.1:PORT/v1 to run against SmolLM2"
            );
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smollm2_end_to_end() {
    let Some(url) = url() else { return };
    let model = std::env::var("AIGOV_TEST_SMOLLM2_MODEL").unwrap_or_else(|_| "smollm2".into());
    let lib = lib();
    let mut facts = builtin::find("starter-facts", &lib).unwrap().unwrap();
    facts.items.retain(|i| i.lang == aigov_catalog::Lang::En);
    let mut refusal = builtin::find("starter-refusal-en", &lib).unwrap().unwrap();
    refusal.items.truncate(10);
    for streaming in [false, true] {
        let mut t = TargetConfig::from_spec(&format!(
            "openai:{url},model={model},param.max_tokens=48,param.temperature=0"
        ))
        .unwrap();
        t.stream = streaming;
        // The server answers one request at a time (and, unless started with
        // `--interrupt_requests false`, cuts off a stream when the next request arrives).
        t.concurrency = Some(if streaming { 1 } else { 2 });
        t.timeout_s = Some(120.0);
        let d = tempfile::tempdir().unwrap();
        let t0 = std::time::Instant::now();
        let s = run_in(d.path(), setup(t, vec![facts.clone(), refusal.clone()])).await;
        eprintln!(
            "smollm2 (stream={streaming}): {} attempts in {:.1} s",
            s.completed,
            t0.elapsed().as_secs_f64()
        );
        assert_eq!(s.status, RunStatus::Completed, "{s:?}");
        let recs = records(d.path());
        assert_eq!(recs.len() as u64, s.planned);
        assert!(
            recs.iter()
                .filter(|r| !r.response.text.trim().is_empty())
                .count()
                * 10
                >= recs.len() * 9
        );
        if streaming {
            // llama-cpp-python sends no usage in streams; time to first token is measured.
            assert!(recs.iter().all(|r| r.response.ttft_ms.is_some()));
        } else {
            assert!(
                recs.iter().all(|r| r.response.usage.is_some()),
                "usage fields are filled in"
            );
        }
        let ev = eval::evaluate(d.path(), &lib, 5).unwrap();
        let acc = ev.overall.rate(Metric::Accuracy).unwrap();
        eprintln!(
            "  accuracy {:.0} % ({}/{}), refusal rate {:?}",
            acc.point * 100.0,
            acc.k,
            acc.n,
            ev.overall.rate(Metric::RefusalRate).map(|r| (r.k, r.n))
        );
        assert!(t0.elapsed() < Duration::from_secs(600));
    }
}
