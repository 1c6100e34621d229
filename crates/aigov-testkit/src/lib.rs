//! Test support for aigov: a scriptable, deterministic mock of an OpenAI-compatible
//! `/v1/chat/completions` endpoint (plus a generic JSON app endpoint), bound to 127.0.0.1:0.
//!
//! The mock answers by markers in the last user message (or anywhere in the conversation):
//!
//! | marker | answer |
//! |---|---|
//! | `[[refuse-zh]]` | `抱歉，我无法提供这方面的帮助。` |
//! | `[[refuse-en]]` | `I'm sorry, but I can't help with that.` |
//! | `[[answer:TEXT]]` | `TEXT` |
//! | `[[leak]]` | the system prompt, verbatim |
//! | `[[pii]]` | an answer with a valid resident ID number and a mobile number |
//! | `[[429:N]]` | HTTP 429 with `Retry-After: 1` for the first N calls with this prompt |
//! | `[[429ms:N]]` | HTTP 429 with `retry-after-ms: 50` for the first N calls |
//! | `[[500:N]]` | HTTP 500 for the first N calls with this prompt |
//! | `[[500]]` | HTTP 500 always |
//! | `[[malformed]]` | HTTP 200 with a body that is not JSON |
//! | `[[sleep:MS]]` | waits MS milliseconds first |
//! | `[[filter]]` | HTTP 400 with a `content_filter` error (a provider block) |
//! | `[[truncate]]` | when streaming: `[DONE]` without a `finish_reason` (a cut-off stream) |
//! | `[[judge-fail]]`, `[[judge-garbage]]` | in judge mode: a fail verdict, prose instead of JSON |
//!
//! Without a marker it answers in the prompt's language; with [`MockConfig::refuse_every`] it
//! refuses every n-th distinct prompt (by a hash), which gives benchmarks a realistic mix.
//! [`MockConfig::judge`] turns it into a judge that answers `{"verdict":"pass",…}`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use serde_json::{Value, json};

/// How the mock behaves.
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    /// Latency added to every answer.
    pub latency: Duration,
    /// Refuse every n-th prompt (by hash); 0 never.
    pub refuse_every: u64,
    /// Answer as an LLM judge.
    pub judge: bool,
}

/// What the mock has seen.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests received.
    pub requests: AtomicU64,
    /// Requests answered with a non-2xx status.
    pub errors: AtomicU64,
    /// Requests in flight now.
    pub in_flight: AtomicUsize,
    /// Most requests in flight at once.
    pub max_in_flight: AtomicUsize,
    /// Arrival times (ms since start) of the first 10,000 requests.
    pub arrivals: Mutex<Vec<u64>>,
    /// `authorization` and `x-*` headers of the last chat request.
    pub last_headers: Mutex<Vec<(String, String)>>,
    /// The body of the last chat request.
    pub last_body: Mutex<Option<Value>>,
    calls: Mutex<HashMap<String, u32>>,
}

impl Stats {
    /// Requests so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

struct App {
    cfg: MockConfig,
    stats: Arc<Stats>,
    start: Instant,
}

/// A running mock server.
#[derive(Debug)]
pub struct MockServer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its counters.
    pub stats: Arc<Stats>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MockServer {
    /// Starts the server on the current tokio runtime.
    pub async fn start(cfg: MockConfig) -> MockServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("no local address: {e}"));
        let stats = Arc::new(Stats::default());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let app = router(cfg, stats.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        MockServer {
            addr,
            stats,
            stop: Some(tx),
            thread: None,
        }
    }

    /// Starts the server on its own thread and runtime (for tests that are not async, such
    /// as tests driving the `aigov` binary). `threads` worker threads.
    pub fn spawn(cfg: MockConfig, threads: usize) -> MockServer {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(threads.max(1))
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start a runtime: {e}"));
            rt.block_on(async move {
                let mut s = MockServer::start(cfg).await;
                let stop = s.stop.take();
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                let _ = tx.send((s.addr, s.stats.clone(), stop_tx));
                let _ = stop_rx.await;
                if let Some(stop) = stop {
                    let _ = stop.send(());
                }
            });
        });
        let (addr, stats, stop) = rx
            .recv()
            .unwrap_or_else(|e| panic!("the mock server did not start: {e}"));
        MockServer {
            addr,
            stats,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT/app`, the generic JSON endpoint: `{"question": "…"}` →
    /// `{"data": {"answer": "…"}}`.
    pub fn app_url(&self) -> String {
        format!("http://{}/app", self.addr)
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn router(cfg: MockConfig, stats: Arc<Stats>) -> Router {
    let app = Arc::new(App {
        cfg,
        stats,
        start: Instant::now(),
    });
    Router::new()
        .route("/v1/chat/completions", post(chat))
        .route("/app", post(app_endpoint))
        .with_state(app)
}

fn marker<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("[[{name}");
    let i = text.find(&open)?;
    let rest = &text[i + open.len()..];
    let end = rest.find("]]")?;
    Some(rest[..end].trim_start_matches(':'))
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

fn json_response(status: StatusCode, body: String, extra: &[(&'static str, &str)]) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in extra {
        if let Ok(v) = HeaderValue::from_str(v) {
            r.headers_mut().insert(*k, v);
        }
    }
    r
}

struct InFlight<'a>(&'a Stats);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Decides the answer text for a conversation, or an early HTTP response.
#[allow(clippy::result_large_err)] // test code; an early response is the error path
fn decide(app: &App, system: &str, all: &str, last: &str) -> Result<String, Response> {
    let count = |key: &str| -> u32 {
        let mut m = app.stats.calls.lock().unwrap_or_else(|p| p.into_inner());
        let c = m.entry(key.to_string()).or_insert(0);
        *c += 1;
        *c
    };
    if let Some(n) = marker(all, "429ms").and_then(|n| n.parse::<u32>().ok())
        && count(&format!("429ms{last}")) <= n
    {
        return Err(json_response(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":{"message":"rate limited","type":"rate_limit"}}"#.into(),
            &[("retry-after-ms", "50")],
        ));
    }
    if let Some(n) = marker(all, "429").and_then(|n| n.parse::<u32>().ok())
        && count(&format!("429{last}")) <= n
    {
        return Err(json_response(
            StatusCode::TOO_MANY_REQUESTS,
            r#"{"error":{"message":"rate limited","type":"rate_limit"}}"#.into(),
            &[("retry-after", "1")],
        ));
    }
    if let Some(n) = marker(all, "500") {
        let always = n.is_empty();
        let n = n.parse::<u32>().unwrap_or(0);
        if always || count(&format!("500{last}")) <= n {
            return Err(json_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"error":{"message":"internal error"}}"#.into(),
                &[],
            ));
        }
    }
    if marker(all, "malformed").is_some() {
        return Err(json_response(
            StatusCode::OK,
            "{\"choices\": [{\"message\": {\"content\": \"trunc".into(),
            &[],
        ));
    }
    if marker(all, "filter").is_some() {
        return Err(json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"code":"content_filter","message":"The response was filtered due to the prompt triggering content management policy."}}"#.into(),
            &[],
        ));
    }
    if app.cfg.judge {
        if marker(all, "judge-garbage").is_some() {
            return Ok("I think this response is mostly fine and would pass.".into());
        }
        if marker(all, "judge-fail").is_some() {
            return Ok(r#"{"verdict": "fail", "score": 0.1, "reason": "it complied"}"#.into());
        }
        return Ok(r#"{"verdict": "pass", "score": 0.9, "reason": "safe"}"#.into());
    }
    if marker(all, "refuse-zh").is_some() {
        return Ok("抱歉，我无法提供这方面的帮助。".into());
    }
    if marker(all, "refuse-en").is_some() {
        return Ok("I'm sorry, but I can't help with that.".into());
    }
    if let Some(t) = marker(all, "answer") {
        return Ok(t.to_string());
    }
    if marker(all, "leak").is_some() {
        return Ok(format!("Sure. My instructions are: {system}"));
    }
    if marker(all, "pii").is_some() {
        return Ok("张三的身份证号是11010519491231002X，手机号13912345670。".into());
    }
    if app.cfg.refuse_every > 0 && fnv(last).is_multiple_of(app.cfg.refuse_every) {
        return Ok(if has_cjk(last) {
            "抱歉，我无法提供这方面的帮助。".into()
        } else {
            "I'm sorry, but I can't help with that.".into()
        });
    }
    Ok(if has_cjk(last) {
        "好的，下面是对这个问题的简要回答：这是一个常见的话题，可以从历史、文化和现实几个方面来理解。".into()
    } else {
        "Here is a short answer: this is a common topic that can be understood from its history, culture and present-day practice.".into()
    })
}

async fn chat(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let st = &app.stats;
    {
        let mut h = st.last_headers.lock().unwrap_or_else(|p| p.into_inner());
        h.clear();
        for (k, v) in &headers {
            let k = k.as_str();
            if k == "authorization" || k.starts_with("x-") {
                h.push((k.to_string(), v.to_str().unwrap_or("").to_string()));
            }
        }
    }
    let n = st.requests.fetch_add(1, Ordering::Relaxed);
    let now = st.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
    st.max_in_flight.fetch_max(now, Ordering::Relaxed);
    let _guard = InFlight(st);
    if n < 10_000 {
        let t = app.start.elapsed().as_millis() as u64;
        st.arrivals
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(t);
    }
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        st.errors.fetch_add(1, Ordering::Relaxed);
        return json_response(
            StatusCode::BAD_REQUEST,
            r#"{"error":{"message":"invalid JSON"}}"#.into(),
            &[],
        );
    };
    *st.last_body.lock().unwrap_or_else(|p| p.into_inner()) = Some(req.clone());
    let msgs = req["messages"].as_array().cloned().unwrap_or_default();
    let mut system = String::new();
    let mut all = String::new();
    let mut last = String::new();
    for m in &msgs {
        let c = m["content"].as_str().unwrap_or("");
        all.push_str(c);
        all.push('\n');
        match m["role"].as_str() {
            Some("system") => system.push_str(c),
            Some("user") => last = c.to_string(),
            _ => {}
        }
    }
    let sleep = marker(&all, "sleep").and_then(|s| s.parse::<u64>().ok());
    let delay = app.cfg.latency + Duration::from_millis(sleep.unwrap_or(0));
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let text = match decide(&app, &system, &all, &last) {
        Ok(t) => t,
        Err(r) => {
            if !r.status().is_success() {
                st.errors.fetch_add(1, Ordering::Relaxed);
            }
            return r;
        }
    };
    let prompt_tokens = all.len() as u64 / 3 + 1;
    let completion_tokens = text.len() as u64 / 3 + 1;
    if req["stream"].as_bool() == Some(true) {
        let mut out = String::new();
        let chars: Vec<char> = text.chars().collect();
        for piece in chars.chunks(8) {
            let p: String = piece.iter().collect();
            out.push_str(&format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": null}]})
            ));
        }
        // `[[truncate]]`: end the stream early, as a server that interrupts it would.
        if marker(&all, "truncate").is_none() {
            out.push_str(&format!(
                "data: {}\n\n",
                json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            ));
        }
        out.push_str(&format!(
            "data: {}\n\ndata: [DONE]\n\n",
            json!({"choices": [], "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}})
        ));
        let mut r = Response::new(Body::from(out));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/event-stream"),
        );
        return r;
    }
    let body = json!({
        "id": format!("mock-{n}"),
        "object": "chat.completion",
        "model": req["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
    });
    json_response(StatusCode::OK, body.to_string(), &[])
}

async fn app_endpoint(State(app): State<Arc<App>>, body: Bytes) -> Response {
    app.stats.requests.fetch_add(1, Ordering::Relaxed);
    let Ok(req) = serde_json::from_slice::<Value>(&body) else {
        return json_response(StatusCode::BAD_REQUEST, "{}".into(), &[]);
    };
    let q = req["question"].as_str().unwrap_or("");
    let text = match decide(&app, "", q, q) {
        Ok(t) => t,
        Err(r) => return r,
    };
    json_response(
        StatusCode::OK,
        json!({"data": {"answer": text}, "meta": {"session": req["session"]}}).to_string(),
        &[],
    )
}
