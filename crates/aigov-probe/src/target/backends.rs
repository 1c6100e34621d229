//! The four backends: OpenAI-compatible, generic HTTP JSON, command, replay.

use std::collections::HashMap;
use std::sync::Once;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::limit::parse_retry_after;
use super::{
    CallError, DEFAULT_BLOCKED_PATTERN, Kind, Request, Response, TargetConfig, TargetError, Usage,
};
use crate::suite::Role;
use crate::util::excerpt;

/// The largest response body read.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Installs rustls' `ring` crypto provider as the process default (once). reqwest is built
/// without a provider so that no C crypto library is compiled.
pub fn install_crypto() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[derive(Debug)]
pub(crate) enum Backend {
    Openai {
        client: reqwest::Client,
        url: String,
        headers: Vec<(String, String)>,
        blocked: Option<regex::Regex>,
    },
    Http {
        client: reqwest::Client,
        method: reqwest::Method,
        headers: Vec<(String, String)>,
        blocked: Option<regex::Regex>,
    },
    Command,
    Replay(HashMap<String, String>),
}

fn client(cfg: &TargetConfig) -> Result<reqwest::Client, TargetError> {
    install_crypto();
    reqwest::Client::builder()
        .pool_max_idle_per_host(cfg.concurrency())
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(15).min(cfg.timeout()))
        .user_agent(concat!("aigov-probe/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| TargetError::Config(format!("cannot build the HTTP client: {e}")))
}

fn resolve_headers(cfg: &TargetConfig) -> Result<Vec<(String, String)>, TargetError> {
    let mut out = Vec::new();
    for (k, v) in &cfg.headers {
        let v = if let Some(var) = v.strip_prefix("env:") {
            std::env::var(var).map_err(|_| {
                TargetError::Config(format!("header {k}: environment variable {var} is not set"))
            })?
        } else if v == "<redacted>" {
            return Err(TargetError::Config(format!(
                "header {k} was redacted from the run manifest; give its value as env:NAME in a target file"
            )));
        } else {
            v.clone()
        };
        out.push((k.clone(), v));
    }
    Ok(out)
}

fn blocked_regex(cfg: &TargetConfig) -> Result<Option<regex::Regex>, TargetError> {
    let p = match (&cfg.blocked_pattern, cfg.kind) {
        (Some(p), _) => p.as_str(),
        (None, Kind::Openai) => DEFAULT_BLOCKED_PATTERN,
        (None, _) => return Ok(None),
    };
    if p.is_empty() {
        return Ok(None);
    }
    regex::Regex::new(p)
        .map(Some)
        .map_err(|e| TargetError::Config(format!("blocked_pattern: {e}")))
}

impl Backend {
    pub(crate) fn new(cfg: &TargetConfig) -> Result<Backend, TargetError> {
        Ok(match cfg.kind {
            Kind::Openai => {
                let mut headers = resolve_headers(cfg)?;
                if let Some(var) = &cfg.api_key_env {
                    let key = std::env::var(var).map_err(|_| {
                        TargetError::Config(format!(
                            "environment variable {var} (api_key_env) is not set"
                        ))
                    })?;
                    headers.push(("Authorization".into(), format!("Bearer {key}")));
                }
                let base = cfg.base_url.as_deref().unwrap_or("").trim_end_matches('/');
                Backend::Openai {
                    client: client(cfg)?,
                    url: format!("{base}/chat/completions"),
                    headers,
                    blocked: blocked_regex(cfg)?,
                }
            }
            Kind::Http => Backend::Http {
                client: client(cfg)?,
                method: reqwest::Method::from_bytes(
                    cfg.method.as_deref().unwrap_or("POST").as_bytes(),
                )
                .map_err(|_| TargetError::Config("invalid HTTP method".into()))?,
                headers: resolve_headers(cfg)?,
                blocked: blocked_regex(cfg)?,
            },
            Kind::Command => Backend::Command,
            Kind::Replay => Backend::Replay(load_replay(cfg.path.as_deref().unwrap_or(""))?),
        })
    }

    pub(crate) async fn send(
        &self,
        cfg: &TargetConfig,
        req: Request<'_>,
        now_ms: u64,
    ) -> Result<Response, CallError> {
        match self {
            Backend::Openai {
                client,
                url,
                headers,
                blocked,
            } => {
                let body = openai_body(cfg, req);
                let mut rb = client
                    .post(url)
                    .header("content-type", "application/json")
                    .body(body);
                for (k, v) in headers {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                let resp = rb.send().await.map_err(transport)?;
                let status = resp.status().as_u16();
                if !(200..300).contains(&status) {
                    return status_error(cfg, resp, blocked.as_ref(), now_ms).await;
                }
                if cfg.stream {
                    read_sse(resp, status).await
                } else {
                    let bytes = read_body(resp).await?;
                    parse_openai(&bytes, status)
                }
            }
            Backend::Http {
                client,
                method,
                headers,
                blocked,
            } => {
                let body = fill_template(cfg.template.as_ref().unwrap_or(&Value::Null), cfg, req);
                let mut rb = client
                    .request(method.clone(), cfg.url.as_deref().unwrap_or(""))
                    .header("content-type", "application/json")
                    .body(body.to_string());
                for (k, v) in headers {
                    rb = rb.header(k.as_str(), v.as_str());
                }
                let resp = rb.send().await.map_err(transport)?;
                let status = resp.status().as_u16();
                if !(200..300).contains(&status) {
                    return status_error(cfg, resp, blocked.as_ref(), now_ms).await;
                }
                let bytes = read_body(resp).await?;
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    bad_response(format!(
                        "the response is not JSON ({e}): {}",
                        excerpt(&String::from_utf8_lossy(&bytes), 120)
                    ))
                })?;
                let p = cfg.response_pointer.as_deref().unwrap_or("");
                let text = match v.pointer(p) {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => {
                        return Err(bad_response(format!(
                            "no answer at {p} in {}",
                            excerpt(&v.to_string(), 120)
                        )));
                    }
                    Some(other) => other.to_string(),
                };
                Ok(Response {
                    text,
                    status: Some(status),
                    ..Response::default()
                })
            }
            Backend::Command => run_command(cfg, req).await,
            Backend::Replay(map) => replay_lookup(map, req),
        }
    }
}

fn transport(e: reqwest::Error) -> CallError {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "io"
    };
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    CallError {
        kind,
        message: msg,
        status: None,
        retryable: true,
        retry_after: None,
    }
}

fn bad_response(message: String) -> CallError {
    CallError {
        kind: "bad-response",
        message,
        status: None,
        retryable: false,
        retry_after: None,
    }
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, CallError> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        if out.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(bad_response(format!(
                "the response is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

async fn status_error(
    cfg: &TargetConfig,
    resp: reqwest::Response,
    blocked: Option<&regex::Regex>,
    now_ms: u64,
) -> Result<Response, CallError> {
    let status = resp.status().as_u16();
    let h = resp.headers();
    let retry_after = h
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|ms| ms.is_finite() && *ms >= 0.0)
        .map(|ms| Duration::from_secs_f64(ms.min(86_400_000.0) / 1000.0))
        .or_else(|| {
            h.get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, now_ms))
        });
    let body = read_body(resp).await.unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    let is_blocked = cfg.blocked_status.contains(&status)
        || ((400..500).contains(&status)
            && status != 429
            && blocked.is_some_and(|r| r.is_match(&body)));
    if is_blocked {
        return Ok(Response {
            text: String::new(),
            finish_reason: Some(format!("blocked: HTTP {status}: {}", excerpt(&body, 200))),
            blocked: true,
            usage: None,
            ttft_ms: None,
            status: Some(status),
        });
    }
    let retryable = matches!(status, 408 | 409 | 425 | 429 | 500 | 502 | 503 | 504 | 529);
    Err(CallError {
        kind: "status",
        message: format!("HTTP {status}: {}", excerpt(body.trim(), 200)),
        status: Some(status),
        retryable,
        retry_after,
    })
}

fn joined_system(cfg: &TargetConfig, req: Request<'_>) -> Option<String> {
    match (cfg.system_prompt.as_deref(), req.system) {
        (Some(a), Some(b)) => Some(format!("{a}\n\n{b}")),
        (Some(a), None) => Some(a.to_string()),
        (None, Some(b)) => Some(b.to_string()),
        (None, None) => None,
    }
}

fn openai_body(cfg: &TargetConfig, req: Request<'_>) -> Vec<u8> {
    let mut msgs = Vec::with_capacity(req.messages.len() + 1);
    if let Some(s) = joined_system(cfg, req) {
        msgs.push(json!({"role": "system", "content": s}));
    }
    for m in req.messages {
        msgs.push(json!({"role": m.role.as_str(), "content": m.content}));
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(cfg.model));
    body.insert("messages".into(), Value::Array(msgs));
    for (k, v) in &cfg.params {
        body.insert(k.clone(), v.clone());
    }
    if cfg.stream {
        body.insert("stream".into(), json!(true));
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    serde_json::to_vec(&Value::Object(body)).unwrap_or_default()
}

fn content_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

fn usage_of(v: &Value) -> Option<Usage> {
    let u = v.get("usage")?;
    Some(Usage {
        prompt_tokens: u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0),
        completion_tokens: u
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// Parses a non-streaming chat-completions body.
pub(crate) fn parse_openai(bytes: &[u8], status: u16) -> Result<Response, CallError> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| {
        bad_response(format!(
            "the response is not JSON ({}): {}",
            e.to_string().split(" at line").next().unwrap_or(""),
            excerpt(&String::from_utf8_lossy(bytes), 120)
        ))
    })?;
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| bad_response(format!("no choices in {}", excerpt(&v.to_string(), 160))))?;
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    let msg = choice.get("message");
    let mut text = content_text(msg.and_then(|m| m.get("content")));
    if text.is_empty() {
        // Legacy completions put the text at choices[0].text.
        text = content_text(choice.get("text"));
    }
    let refusal = msg
        .and_then(|m| m.get("refusal"))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty());
    if text.is_empty()
        && let Some(r) = refusal
    {
        text = r.to_string();
    }
    let blocked = finish.as_deref() == Some("content_filter");
    Ok(Response {
        text,
        finish_reason: finish,
        blocked,
        usage: usage_of(&v),
        ttft_ms: None,
        status: Some(status),
    })
}

async fn read_sse(mut resp: reqwest::Response, status: u16) -> Result<Response, CallError> {
    let t0 = tokio::time::Instant::now();
    let mut buf: Vec<u8> = Vec::new();
    let mut out = Response {
        status: Some(status),
        ..Response::default()
    };
    let mut total = 0usize;
    let mut done = false;
    while !done {
        let Some(chunk) = resp.chunk().await.map_err(transport)? else {
            break;
        };
        total += chunk.len();
        if total > MAX_BODY_BYTES {
            return Err(bad_response(format!(
                "the stream is larger than {MAX_BODY_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim();
            let Some(data) = line.strip_prefix("data:") else {
                continue;
            };
            let data = data.trim();
            if data == "[DONE]" {
                done = true;
                break;
            }
            let v: Value = serde_json::from_str(data).map_err(|e| {
                bad_response(format!("bad stream event ({e}): {}", excerpt(data, 120)))
            })?;
            if let Some(err) = v.get("error") {
                return Err(bad_response(format!(
                    "stream error: {}",
                    excerpt(&err.to_string(), 160)
                )));
            }
            if let Some(c) = v.get("choices").and_then(|c| c.get(0)) {
                let piece = content_text(c.get("delta").and_then(|d| d.get("content")));
                if !piece.is_empty() {
                    if out.ttft_ms.is_none() {
                        out.ttft_ms = Some(t0.elapsed().as_millis() as u64);
                    }
                    out.text.push_str(&piece);
                }
                if let Some(f) = c.get("finish_reason").and_then(Value::as_str) {
                    out.finish_reason = Some(f.to_string());
                }
            }
            if let Some(u) = usage_of(&v) {
                out.usage = Some(u);
            }
        }
    }
    // Every chunk stream of the chat-completions protocol ends with a finish_reason. Without
    // one the answer was cut off (a dropped connection, or a server that interrupts a stream
    // when the next request arrives, as llama-cpp-python does by default): do not record a
    // truncated answer as the model's response.
    if out.finish_reason.is_none() {
        return Err(CallError {
            kind: "bad-response",
            message: format!(
                "the stream ended without a finish_reason ({}; {} characters received)",
                if done {
                    "[DONE] came early"
                } else {
                    "the connection closed"
                },
                out.text.chars().count()
            ),
            status: Some(status),
            retryable: true,
            retry_after: None,
        });
    }
    out.blocked = out.finish_reason.as_deref() == Some("content_filter");
    Ok(out)
}

fn fill_template(t: &Value, cfg: &TargetConfig, req: Request<'_>) -> Value {
    let prompt = req
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or("");
    let system = joined_system(cfg, req);
    fn go(v: &Value, prompt: &str, system: Option<&str>, req: Request<'_>) -> Value {
        match v {
            Value::String(s) => match s.as_str() {
                "{{messages}}" => Value::Array(
                    req.messages
                        .iter()
                        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
                        .collect(),
                ),
                "{{system}}" => system.map_or(Value::Null, |s| Value::String(s.into())),
                _ => Value::String(
                    s.replace("{{prompt}}", prompt)
                        .replace("{{system}}", system.unwrap_or("")),
                ),
            },
            Value::Array(a) => Value::Array(a.iter().map(|x| go(x, prompt, system, req)).collect()),
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, x)| (k.clone(), go(x, prompt, system, req)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
    go(t, prompt, system.as_deref(), req)
}

async fn run_command(cfg: &TargetConfig, req: Request<'_>) -> Result<Response, CallError> {
    let fail = |kind: &'static str, message: String, retryable: bool| CallError {
        kind,
        message,
        status: None,
        retryable,
        retry_after: None,
    };
    let program = cfg.program.as_deref().unwrap_or("");
    let input = if cfg.input.as_deref() == Some("json") {
        json!({
            "system": joined_system(cfg, req),
            "messages": req.messages.iter().map(|m| json!({"role": m.role.as_str(), "content": m.content})).collect::<Vec<_>>(),
        })
        .to_string()
    } else {
        req.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.clone())
            .unwrap_or_default()
    };
    let mut child = tokio::process::Command::new(program)
        .args(&cfg.args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail("command", format!("cannot start {program}: {e}"), false))?;
    let mut stdin = child.stdin.take();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let write = async {
        if let Some(mut s) = stdin.take() {
            let _ = s.write_all(input.as_bytes()).await;
            let _ = s.shutdown().await;
        }
    };
    let read = async {
        let mut out = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.take(MAX_BODY_BYTES as u64).read_to_end(&mut out).await;
        }
        out
    };
    let read_err = async {
        let mut out = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.take(64 * 1024).read_to_end(&mut out).await;
        }
        out
    };
    let ((), out, err) = tokio::join!(write, read, read_err);
    let status = child
        .wait()
        .await
        .map_err(|e| fail("command", format!("{program}: {e}"), false))?;
    if !status.success() {
        return Err(fail(
            "command",
            format!(
                "{program} exited with {status}: {}",
                excerpt(String::from_utf8_lossy(&err).trim(), 200)
            ),
            false,
        ));
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    while text.ends_with('\n') || text.ends_with('\r') {
        text.pop();
    }
    Ok(Response {
        text,
        ..Response::default()
    })
}

/// Replay keys, most specific first.
pub(crate) fn replay_keys(k: &super::ReplayKey<'_>, prompt: &str) -> [String; 5] {
    [
        format!(
            "k\0{}\0{}\0{}\0{}\0{}",
            k.suite, k.item, k.transforms, k.rep, k.turn
        ),
        format!("s\0{}\0{}\0{}\0{}", k.suite, k.item, k.transforms, k.turn),
        format!("i\0{}\0{}\0{}", k.item, k.transforms, k.turn),
        format!("item\0{}", k.item),
        format!("prompt\0{prompt}"),
    ]
}

fn load_replay(path: &str) -> Result<HashMap<String, String>, TargetError> {
    let p = std::path::Path::new(path);
    let file = if p.is_dir() {
        p.join("attempts.jsonl")
    } else {
        p.to_path_buf()
    };
    use std::io::BufRead;
    let io = |e: std::io::Error| TargetError::Io {
        path: file.display().to_string(),
        err: e,
    };
    let mut r = std::io::BufReader::new(std::fs::File::open(&file).map_err(io)?);
    let mut map = HashMap::new();
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        if r.read_until(b'\n', &mut buf).map_err(io)? == 0 {
            break;
        }
        n += 1;
        let torn = buf.last() != Some(&b'\n');
        let line = String::from_utf8_lossy(&buf);
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
            // A torn last line of an interrupted run is expected; anything else is an error.
            if torn {
                break;
            }
            return Err(TargetError::Config(format!(
                "{}:{n}: not a JSON object",
                file.display()
            )));
        };
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
        let final_text = match v.get("response") {
            Some(Value::String(t)) => t.clone(),
            Some(r) => r
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            None => continue,
        };
        let transforms = match v.get("transforms") {
            Some(Value::Array(a)) if !a.is_empty() => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("+"),
            Some(Value::String(t)) => t.clone(),
            _ => "none".to_string(),
        };
        let rep = v.get("rep").and_then(Value::as_u64).unwrap_or(0) as u32;
        let mut texts: Vec<String> = v
            .get("turns")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        texts.push(final_text);
        let prompt = v
            .get("prompt")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                v.pointer("/request/messages")
                    .and_then(Value::as_array)
                    .and_then(|m| m.last())
                    .and_then(|m| m.get("content"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_default();
        for (turn, t) in texts.iter().enumerate() {
            let key = super::ReplayKey {
                suite: s("suite"),
                item: s("item"),
                transforms: &transforms,
                rep,
                turn,
            };
            let keys = replay_keys(&key, &prompt);
            let last = turn + 1 == texts.len();
            for (i, k) in keys.into_iter().enumerate() {
                let applicable = match i {
                    0..=2 => !s("item").is_empty(),
                    3 => !s("item").is_empty() && last,
                    _ => !prompt.is_empty() && last,
                };
                if applicable {
                    map.entry(k).or_insert_with(|| t.clone());
                }
            }
        }
    }
    if map.is_empty() {
        return Err(TargetError::Config(format!(
            "{}: no stored responses (lines need `response` and `item` or `prompt`)",
            file.display()
        )));
    }
    Ok(map)
}

fn replay_lookup(map: &HashMap<String, String>, req: Request<'_>) -> Result<Response, CallError> {
    let prompt = req
        .messages
        .last()
        .map(|m| m.content.as_str())
        .unwrap_or("");
    for k in replay_keys(&req.key, prompt) {
        if let Some(t) = map.get(&k) {
            return Ok(Response {
                text: t.clone(),
                ..Response::default()
            });
        }
    }
    Err(CallError {
        kind: "not-found",
        message: format!(
            "no stored response for item {:?} ({})",
            req.key.item, req.key.transforms
        ),
        status: None,
        retryable: false,
        retry_after: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_bodies() {
        let r = parse_openai(
            br#"{"choices":[{"message":{"content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}}"#,
            200,
        )
        .unwrap();
        assert_eq!(r.text, "hi");
        assert_eq!(
            r.usage,
            Some(Usage {
                prompt_tokens: 3,
                completion_tokens: 1
            })
        );
        let r = parse_openai(
            br#"{"choices":[{"message":{"content":null,"refusal":"I can't help"},"finish_reason":"content_filter"}]}"#,
            200,
        )
        .unwrap();
        assert!(r.blocked && r.text == "I can't help");
        let r = parse_openai(
            br#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
            200,
        )
        .unwrap();
        assert_eq!(r.text, "ab");
        let e = parse_openai(b"{not json", 200).unwrap_err();
        assert_eq!(e.kind, "bad-response");
        assert!(!e.retryable);
        assert!(parse_openai(br#"{"choices":[]}"#, 200).is_err());
    }

    #[test]
    fn templates_fill_placeholders() {
        let cfg = TargetConfig {
            system_prompt: Some("S".into()),
            ..TargetConfig::default()
        };
        let msgs = [crate::suite::Message::user("hello \"x\"")];
        let req = Request {
            system: None,
            messages: &msgs,
            key: Default::default(),
        };
        let t = json!({"q": "{{prompt}}", "ctx": {"sys": "{{system}}", "all": "{{messages}}"}, "n": 1, "s": "Q: {{prompt}}"});
        let v = fill_template(&t, &cfg, req);
        assert_eq!(v["q"], "hello \"x\"");
        assert_eq!(v["ctx"]["sys"], "S");
        assert_eq!(v["ctx"]["all"][0]["role"], "user");
        assert_eq!(v["s"], "Q: hello \"x\"");
        assert_eq!(v["n"], 1);
    }
}
