//! Targets: what a run sends prompts to.
//!
//! - `openai` — an OpenAI-compatible `/chat/completions` endpoint (base URL, model, API key from
//!   an environment variable, extra headers and parameters, a system prompt, optional SSE
//!   streaming).
//! - `http` — any JSON-over-HTTP application: a request template with `{{prompt}}`,
//!   `{{messages}}` and `{{system}}` placeholders, and a JSON pointer to the answer.
//! - `command` — a program that reads the prompt on stdin and writes the answer on stdout.
//! - `replay` — stored responses (a run directory or a JSONL file), for re-running detectors
//!   and tests without a live model.
//!
//! An [`Endpoint`] wraps a backend with the limits of [`limit`]: concurrency, requests per
//! second and tokens per minute, a timeout per request, retries with exponential backoff and
//! jitter that honour `Retry-After` (and pause the whole target while they wait), and a circuit
//! breaker. Targets are described by a [`TargetConfig`], read from a YAML/JSON file or a short
//! spec (`openai:http://127.0.0.1:8080/v1,model=qwen2`).

pub mod backends;
pub mod limit;

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::suite::Message;
use crate::util::{Rng, sha256_hex};
pub use backends::install_crypto;
use limit::{Breaker, Limiter, RetryPolicy};

/// The kinds of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// OpenAI-compatible chat completions.
    #[default]
    Openai,
    /// Generic JSON over HTTP.
    Http,
    /// A local program.
    Command,
    /// Stored responses.
    Replay,
}

impl Kind {
    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Openai => "openai",
            Kind::Http => "http",
            Kind::Command => "command",
            Kind::Replay => "replay",
        }
    }
}

/// A target, as written in a target file (YAML or JSON) or built from a spec.
///
/// Secrets never go in here: `api_key_env` names an environment variable, and a header value
/// written `env:NAME` is read from the environment when the run starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TargetConfig {
    /// `openai`, `http`, `command` or `replay`.
    pub kind: Kind,
    /// A display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `openai`: base URL up to `/v1` (the client appends `/chat/completions`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `openai`: model name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `openai`: environment variable holding the API key (sent as a bearer token).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// `openai`: use server-sent events.
    pub stream: bool,
    /// `openai`: extra body parameters (`temperature`, `max_tokens` …).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// `openai`/`http`: a system prompt put before the item's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// `http`: the URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// `http`: the method (default POST).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// `http`: the JSON body template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
    /// `http`: JSON pointer (RFC 6901) to the answer in the response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response_pointer: Option<String>,
    /// `openai`/`http`: extra headers; a value `env:NAME` is read from the environment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// `command`: the program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// `command`: its arguments.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// `command`: `text` (the last user message on stdin, the default) or `json`
    /// (`{"system": …, "messages": […]}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// `replay`: a run directory or a JSONL file of stored responses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Requests in flight at most (default 16; 4 for `command`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Requests per second at most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rps: Option<f64>,
    /// Tokens per minute at most (estimated before a request, corrected from `usage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_min: Option<u64>,
    /// Seconds per request (default 60).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<f64>,
    /// Retries after a retryable failure (default 4).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
    /// First backoff in milliseconds (default 500).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backoff_ms: Option<u64>,
    /// Longest backoff in milliseconds (default 30000).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_backoff_ms: Option<u64>,
    /// Longest `Retry-After` honoured, in seconds (default 120).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retry_after_s: Option<f64>,
    /// Consecutive failed attempts that stop the run (default 20; 0 never stops).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker: Option<u32>,
    /// HTTP statuses that mean "blocked by the provider's content filter" (counted as refusals).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub blocked_status: Vec<u16>,
    /// A regex over an error body that means "blocked" (default for `openai`: content-filter
    /// codes of common providers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_pattern: Option<String>,
}

/// The default `blocked_pattern` for OpenAI-compatible targets.
pub const DEFAULT_BLOCKED_PATTERN: &str =
    "content_filter|content_policy|data_inspection_failed|不安全或敏感|敏感内容|内容审核|内容安全";

/// Errors building a target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The configuration is wrong.
    #[error("{0}")]
    Config(String),
    /// A file could not be read.
    #[error("cannot read {path}: {err}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        err: std::io::Error,
    },
}

/// Splits a spec on commas that are not inside `{}`, `[]` or a JSON string, so that
/// `template={"q":"{{prompt}}","n":1}` stays whole.
fn split_top_level(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    for c in s.chars() {
        if in_str {
            cur.push(c);
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' if depth > 0 => {
                in_str = true;
                cur.push(c);
            }
            '{' | '[' => {
                depth += 1;
                cur.push(c);
            }
            '}' | ']' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth <= 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn opt_f64(k: &str, v: &str) -> Result<f64, String> {
    v.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("{k}={v:?} is not a non-negative number"))
}

impl TargetConfig {
    /// Reads a target file (YAML or JSON).
    pub fn from_file_text(name: &str, src: &str) -> Result<TargetConfig, TargetError> {
        let c: TargetConfig = serde_saphyr::from_str(src).map_err(|e| {
            TargetError::Config(format!(
                "{name}: {}",
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or("invalid target file")
            ))
        })?;
        c.validate()?;
        Ok(c)
    }

    /// Parses a spec: `openai:URL[,key=value…]`, `http:URL,template=JSON|@FILE,pointer=/p`,
    /// `command:PROGRAM [ARGS…]`, `replay:PATH`. Keys: `model`, `key-env`, `stream`, `system`,
    /// `param.NAME`, `header.NAME`, `concurrency`, `rps`, `tpm`, `timeout`, `retries`,
    /// `breaker`, `method`, `template`, `pointer`, `name`.
    pub fn from_spec(spec: &str) -> Result<TargetConfig, TargetError> {
        let bad = |m: String| TargetError::Config(m);
        let (kind, rest) = spec.split_once(':').ok_or_else(|| {
            bad(format!(
                "{spec:?} is not a target spec (expected openai:URL,model=NAME, http:URL,…, command:PROGRAM, replay:PATH, or a target file)"
            ))
        })?;
        let mut c = TargetConfig::default();
        match kind {
            "openai" | "http" => {
                c.kind = if kind == "openai" {
                    Kind::Openai
                } else {
                    Kind::Http
                };
                let parts = split_top_level(rest);
                let mut parts = parts.iter().map(String::as_str);
                let url = parts.next().unwrap_or("").trim().to_string();
                if kind == "openai" {
                    c.base_url = Some(url);
                } else {
                    c.url = Some(url);
                }
                for p in parts {
                    let (k, v) = p
                        .split_once('=')
                        .ok_or_else(|| bad(format!("{p:?} in the target spec is not key=value")))?;
                    let (k, v) = (k.trim(), v.trim());
                    c.set(k, v).map_err(bad)?;
                }
            }
            "command" => {
                c.kind = Kind::Command;
                let mut words = rest.split_whitespace().map(str::to_string);
                c.program = words.next();
                c.args = words.collect();
            }
            "replay" => {
                c.kind = Kind::Replay;
                c.path = Some(rest.to_string());
            }
            other => {
                return Err(bad(format!(
                    "unknown target kind {other:?} (expected openai, http, command or replay)"
                )));
            }
        }
        c.validate()?;
        Ok(c)
    }

    fn set(&mut self, k: &str, v: &str) -> Result<(), String> {
        let num = |v: &str| opt_f64(k, v);
        match k {
            "model" => self.model = Some(v.to_string()),
            "key-env" | "api-key-env" | "api_key_env" => self.api_key_env = Some(v.to_string()),
            "stream" => self.stream = matches!(v, "true" | "1" | "yes"),
            "system" => self.system_prompt = Some(v.to_string()),
            "name" => self.name = Some(v.to_string()),
            "method" => self.method = Some(v.to_uppercase()),
            "pointer" => self.response_pointer = Some(v.to_string()),
            "template" => {
                let text = match v.strip_prefix('@') {
                    Some(path) => std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read template {path}: {e}"))?,
                    None => v.to_string(),
                };
                self.template = Some(
                    serde_json::from_str(&text)
                        .map_err(|e| format!("the template is not JSON: {e}"))?,
                );
            }
            "concurrency" => self.concurrency = Some(num(v)? as usize),
            "rps" => self.rps = Some(num(v)?),
            "tpm" => self.tokens_per_min = Some(num(v)? as u64),
            "timeout" => self.timeout_s = Some(num(v)?),
            "retries" => self.retries = Some(num(v)? as u32),
            "breaker" => self.breaker = Some(num(v)? as u32),
            _ => {
                if let Some(p) = k.strip_prefix("param.") {
                    let val = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.into()));
                    self.params.insert(p.to_string(), val);
                } else if let Some(h) = k.strip_prefix("header.") {
                    self.headers.insert(h.to_string(), v.to_string());
                } else {
                    return Err(format!(
                        "unknown target option {k:?} (model, key-env, stream, system, param.NAME, header.NAME, concurrency, rps, tpm, timeout, retries, breaker, method, template, pointer, name)"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Checks that the fields the kind needs are there.
    pub fn validate(&self) -> Result<(), TargetError> {
        let bad = |m: &str| Err(TargetError::Config(m.to_string()));
        let url_ok = |u: &Option<String>| {
            u.as_deref()
                .is_some_and(|u| u.starts_with("http://") || u.starts_with("https://"))
        };
        match self.kind {
            Kind::Openai => {
                if !url_ok(&self.base_url) {
                    return bad("an openai target needs base_url (http:// or https://, up to /v1)");
                }
                if self.model.as_deref().is_none_or(str::is_empty) {
                    return bad("an openai target needs a model (model=NAME)");
                }
            }
            Kind::Http => {
                if !url_ok(&self.url) {
                    return bad("an http target needs url (http:// or https://)");
                }
                if self.template.is_none() {
                    return bad(
                        "an http target needs a JSON template (template={\"q\":\"{{prompt}}\"} or template=@FILE)",
                    );
                }
                if self
                    .response_pointer
                    .as_deref()
                    .is_none_or(|p| !p.starts_with('/'))
                {
                    return bad(
                        "an http target needs response_pointer, a JSON pointer such as /answer",
                    );
                }
            }
            Kind::Command => {
                if self.program.as_deref().is_none_or(str::is_empty) {
                    return bad("a command target needs a program");
                }
                if self
                    .input
                    .as_deref()
                    .is_some_and(|i| i != "text" && i != "json")
                {
                    return bad("a command target's input is text or json");
                }
            }
            Kind::Replay => {
                if self.path.as_deref().is_none_or(str::is_empty) {
                    return bad("a replay target needs a path (a run directory or a JSONL file)");
                }
            }
        }
        if let Some(p) = &self.blocked_pattern
            && let Err(e) = regex::Regex::new(p)
        {
            return Err(TargetError::Config(format!("blocked_pattern: {e}")));
        }
        if self.concurrency == Some(0) {
            return bad("concurrency must be at least 1");
        }
        Ok(())
    }

    /// Requests in flight at most.
    pub fn concurrency(&self) -> usize {
        self.concurrency.unwrap_or(match self.kind {
            Kind::Command => 4,
            _ => 16,
        })
    }

    /// The timeout per request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs_f64(self.timeout_s.unwrap_or(60.0).max(0.001))
    }

    /// The retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries.unwrap_or(4),
            base: Duration::from_millis(self.backoff_ms.unwrap_or(500)),
            cap: Duration::from_millis(self.max_backoff_ms.unwrap_or(30_000)),
            max_retry_after: Duration::from_secs_f64(self.max_retry_after_s.unwrap_or(120.0)),
        }
    }

    /// What identifies the target's behaviour (kind, endpoint, model, parameters, templates);
    /// part of every attempt id. Names, headers, limits and streaming are left out: changing
    /// them does not change what the target answers.
    pub fn identity(&self) -> String {
        let v = serde_json::json!({
            "kind": self.kind.as_str(),
            "base_url": self.base_url.as_deref().map(|u| u.trim_end_matches('/')),
            "model": self.model,
            "params": self.params,
            "system_prompt": self.system_prompt,
            "url": self.url,
            "method": self.method,
            "template": self.template,
            "response_pointer": self.response_pointer,
            "program": self.program,
            "args": self.args,
            "input": self.input,
            "path": self.path,
        });
        sha256_hex(v.to_string().as_bytes())[..32].to_string()
    }

    /// A short human label: `openai:MODEL@URL`, `http:URL`, `command:PROGRAM`, `replay:PATH`.
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match self.kind {
            Kind::Openai => format!(
                "openai:{}@{}",
                self.model.as_deref().unwrap_or("?"),
                self.base_url.as_deref().unwrap_or("?")
            ),
            Kind::Http => format!("http:{}", self.url.as_deref().unwrap_or("?")),
            Kind::Command => format!("command:{}", self.program.as_deref().unwrap_or("?")),
            Kind::Replay => format!("replay:{}", self.path.as_deref().unwrap_or("?")),
        }
    }

    /// The config with literal secret-looking header values replaced by `<redacted>` (values
    /// written `env:NAME` are kept: they are references, not secrets). Stored in manifests.
    pub fn redacted(&self) -> TargetConfig {
        let mut c = self.clone();
        for (k, v) in c.headers.iter_mut() {
            let kl = k.to_lowercase();
            let secret = kl.contains("auth")
                || kl.contains("key")
                || kl.contains("token")
                || kl.contains("secret")
                || kl.contains("cookie");
            if secret && !v.starts_with("env:") {
                *v = "<redacted>".into();
            }
        }
        c
    }
}

/// A request to a target.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// System prompt.
    pub system: Option<&'a str>,
    /// Conversation; the last message is the user's.
    pub messages: &'a [Message],
    /// For replay: the attempt's key.
    pub key: ReplayKey<'a>,
}

/// What a replay target looks responses up by.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayKey<'a> {
    /// Suite id.
    pub suite: &'a str,
    /// Item id.
    pub item: &'a str,
    /// Transform chain (`none`, `base64+roleplay`).
    pub transforms: &'a str,
    /// Repetition.
    pub rep: u32,
    /// Turn index in a multi-turn script.
    pub turn: usize,
}

/// Token usage reported by the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Usage {
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
}

/// A target's answer.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Response {
    /// The answer text.
    pub text: String,
    /// Why generation stopped (`stop`, `length`, `content_filter` …).
    pub finish_reason: Option<String>,
    /// The provider blocked the request or answer (content filter): counted as a refusal.
    pub blocked: bool,
    /// Token usage.
    pub usage: Option<Usage>,
    /// Time to first token (streaming), in ms.
    pub ttft_ms: Option<u64>,
    /// HTTP status.
    pub status: Option<u16>,
}

/// A failed try.
#[derive(Debug, Clone, PartialEq)]
pub struct CallError {
    /// `timeout`, `connect`, `status`, `bad-response`, `command`, `not-found`, `io`.
    pub kind: &'static str,
    /// What happened.
    pub message: String,
    /// HTTP status, if any.
    pub status: Option<u16>,
    /// Worth retrying.
    pub retryable: bool,
    /// The server's `Retry-After`.
    pub retry_after: Option<Duration>,
}

/// A completed call: the response, how many retries it took and how long.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// The answer.
    pub response: Response,
    /// Retries before success.
    pub retries: u32,
    /// Wall time of the successful try, in ms.
    pub latency_ms: u64,
}

/// A call that failed for good (after retries).
#[derive(Debug, Clone)]
pub struct Failure {
    /// The last error.
    pub error: CallError,
    /// Retries made.
    pub retries: u32,
    /// True when this failure tripped the circuit breaker.
    pub tripped: bool,
}

/// A target with its limits, ready to call.
#[derive(Debug)]
pub struct Endpoint {
    cfg: TargetConfig,
    backend: backends::Backend,
    limiter: Limiter,
    policy: RetryPolicy,
    breaker: Breaker,
    timeout: Duration,
    clock: crate::util::SharedClock,
}

impl Endpoint {
    /// Builds the endpoint: reads the API key and `env:` headers, loads replay data.
    pub fn new(
        cfg: &TargetConfig,
        clock: crate::util::SharedClock,
    ) -> Result<Endpoint, TargetError> {
        cfg.validate()?;
        let backend = backends::Backend::new(cfg)?;
        Ok(Endpoint {
            limiter: Limiter::new(cfg.concurrency(), cfg.rps, cfg.tokens_per_min),
            policy: cfg.retry_policy(),
            breaker: Breaker::new(cfg.breaker.unwrap_or(20)),
            timeout: cfg.timeout(),
            cfg: cfg.clone(),
            backend,
            clock,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &TargetConfig {
        &self.cfg
    }

    /// The circuit breaker.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// Sends a request, with limits, timeout and retries.
    pub async fn call(&self, req: Request<'_>, rng: &mut Rng) -> Result<Exchange, Failure> {
        let estimate = estimate_tokens(&self.cfg, req);
        let mut retries = 0u32;
        loop {
            let permit = self.limiter.acquire(estimate).await;
            let t0 = tokio::time::Instant::now();
            let r = match tokio::time::timeout(
                self.timeout,
                self.backend.send(&self.cfg, req, self.clock.now_ms()),
            )
            .await
            {
                Ok(r) => r,
                Err(_) => Err(CallError {
                    kind: "timeout",
                    message: format!("no answer within {:.1} s", self.timeout.as_secs_f64()),
                    status: None,
                    retryable: true,
                    retry_after: None,
                }),
            };
            drop(permit);
            match r {
                Ok(response) => {
                    self.breaker.success();
                    if let Some(u) = response.usage {
                        self.limiter
                            .settle(estimate, u.prompt_tokens + u.completion_tokens);
                    }
                    return Ok(Exchange {
                        response,
                        retries,
                        latency_ms: t0.elapsed().as_millis() as u64,
                    });
                }
                Err(e) => {
                    let too_long = e
                        .retry_after
                        .is_some_and(|ra| ra > self.policy.max_retry_after);
                    if e.retryable && retries < self.policy.retries && !too_long {
                        if let Some(ra) = e.retry_after {
                            self.limiter.pause_for(ra);
                        }
                        tokio::time::sleep(self.policy.backoff(retries, e.retry_after, rng)).await;
                        retries += 1;
                        continue;
                    }
                    let mut e = e;
                    if too_long {
                        e.message = format!(
                            "{} (Retry-After {:.0} s is longer than the {:.0} s honoured)",
                            e.message,
                            e.retry_after.unwrap_or_default().as_secs_f64(),
                            self.policy.max_retry_after.as_secs_f64()
                        );
                    }
                    let tripped = self.breaker.failure(&e.message);
                    return Err(Failure {
                        error: e,
                        retries,
                        tripped,
                    });
                }
            }
        }
    }
}

/// Rough token estimate for the per-minute budget: a token per 3 bytes of input plus the
/// requested completion length (`max_tokens`, else 256).
fn estimate_tokens(cfg: &TargetConfig, req: Request<'_>) -> u64 {
    if cfg.tokens_per_min.is_none() {
        return 0;
    }
    let bytes: usize = req.system.map_or(0, str::len)
        + req.messages.iter().map(|m| m.content.len()).sum::<usize>();
    let out = cfg
        .params
        .get("max_tokens")
        .or_else(|| cfg.params.get("max_completion_tokens"))
        .and_then(Value::as_u64)
        .unwrap_or(256);
    (bytes as u64).div_ceil(3) + out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        let c = TargetConfig::from_spec(
            "openai:http://127.0.0.1:9/v1,model=m,key-env=K,param.temperature=0,header.X-A=b,rps=5",
        )
        .unwrap();
        assert_eq!(c.model.as_deref(), Some("m"));
        assert_eq!(c.params["temperature"], serde_json::json!(0));
        assert_eq!(c.headers["X-A"], "b");
        assert_eq!(c.rps, Some(5.0));
        assert_eq!(c.label(), "openai:m@http://127.0.0.1:9/v1");
        let e = TargetConfig::from_spec("openai:http://x/v1").unwrap_err();
        assert!(e.to_string().contains("needs a model"), "{e}");
        assert!(TargetConfig::from_spec("gpt:x").is_err());
        assert!(TargetConfig::from_spec("openai:http://x/v1,model=m,bogus=1").is_err());
        let c = TargetConfig::from_spec("command:python3 bot.py --fast").unwrap();
        assert_eq!(c.program.as_deref(), Some("python3"));
        assert_eq!(c.args, ["bot.py", "--fast"]);
        let c = TargetConfig::from_spec(
            r#"http:http://127.0.0.1:9/ask,template={"q":"{{prompt}}","opts":{"n":1,"s":"a,b"}},pointer=/a,rps=2"#,
        )
        .unwrap();
        assert_eq!(c.template.unwrap()["opts"]["s"], "a,b");
        assert_eq!(
            (c.response_pointer.as_deref(), c.rps),
            (Some("/a"), Some(2.0))
        );
    }

    #[test]
    fn identity_ignores_limits_and_headers() {
        let a = TargetConfig::from_spec("openai:http://h/v1,model=m").unwrap();
        let mut b = a.clone();
        b.concurrency = Some(3);
        b.headers.insert("Authorization".into(), "Bearer x".into());
        assert_eq!(a.identity(), b.identity());
        b.model = Some("n".into());
        assert_ne!(a.identity(), b.identity());
        let mut c = a.clone();
        c.headers
            .insert("Authorization".into(), "Bearer secret".into());
        c.headers.insert("X-Key".into(), "env:MY_KEY".into());
        let r = c.redacted();
        assert_eq!(r.headers["Authorization"], "<redacted>");
        assert_eq!(r.headers["X-Key"], "env:MY_KEY");
    }
}
