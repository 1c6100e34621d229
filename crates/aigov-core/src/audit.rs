//! The tamper-evident audit log: events, canonical JSON and the sha256 hash chain.
//!
//! Each event's `hash = sha256(prev_hash || canonical_json(event))`, where `event` is every
//! field except the two hashes, and `prev_hash` of the first event is 64 zeros. The store
//! also records the chain head (last sequence number and hash), so removing events at the end
//! is detected as well as editing, removing or inserting them in the middle.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// 1, 2, 3 … without gaps.
    pub seq: i64,
    /// Stable id (UUIDv7).
    pub id: String,
    /// When.
    pub at: String,
    /// Who: `user:<username>`, `token:<id>`, `cli:<os user>` or `system`.
    pub actor: String,
    /// What, e.g. `system.create`, `user.disable`.
    pub action: String,
    /// The kind of object (`system`, `user`, `token` …).
    pub object_type: String,
    /// The object's id.
    pub object_id: String,
    /// sha256 of the object's canonical JSON before the change (None when created).
    pub before_digest: Option<String>,
    /// sha256 of the object's canonical JSON after the change (None when deleted).
    pub after_digest: Option<String>,
    /// Action-specific details (never secrets).
    pub details: Value,
    /// The previous event's hash.
    pub prev_hash: String,
    /// This event's hash.
    pub hash: String,
}

/// The hashed content of an event (everything but the two hashes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventBody<'a> {
    /// Sequence number.
    pub seq: i64,
    /// Id.
    pub id: &'a str,
    /// Time.
    pub at: &'a str,
    /// Actor.
    pub actor: &'a str,
    /// Action.
    pub action: &'a str,
    /// Object type.
    pub object_type: &'a str,
    /// Object id.
    pub object_id: &'a str,
    /// Digest before.
    pub before_digest: Option<&'a str>,
    /// Digest after.
    pub after_digest: Option<&'a str>,
    /// Details.
    pub details: &'a Value,
}

impl AuditEvent {
    /// The hashed body.
    pub fn body(&self) -> EventBody<'_> {
        EventBody {
            seq: self.seq,
            id: &self.id,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            object_type: &self.object_type,
            object_id: &self.object_id,
            before_digest: self.before_digest.as_deref(),
            after_digest: self.after_digest.as_deref(),
            details: &self.details,
        }
    }

    /// Recomputes this event's hash from its body and `prev_hash`.
    pub fn compute_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.body())
    }
}

/// Canonical JSON: object keys sorted, no insignificant whitespace. Stable for a given value,
/// so digests of the same object state are equal.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).unwrap_or_default());
                out.push(':');
                write_canonical(&m[*k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The digest of an object's state: sha256 of its canonical JSON.
pub fn digest(v: &Value) -> String {
    sha256_hex(canonical_json(v).as_bytes())
}

/// `sha256(prev_hash || canonical_json(body))` as lowercase hex.
pub fn chain_hash(prev_hash: &str, body: &EventBody<'_>) -> String {
    chain_hash_raw(prev_hash, body, &canonical_json(body.details))
}

fn push_json_str(out: &mut String, s: &str) {
    // serde_json's escaping of a string, without building a Value.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

fn push_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => push_json_str(out, s),
        None => out.push_str("null"),
    }
}

/// [`chain_hash`] with `details` given as its canonical JSON text, as the store keeps it: the
/// event body is written straight into canonical form (keys in sorted order), so verifying a
/// long log needs no JSON parsing. `chain_hash` and this function agree byte for byte.
pub fn chain_hash_raw(prev_hash: &str, body: &EventBody<'_>, details_canonical: &str) -> String {
    let mut s = String::with_capacity(256 + details_canonical.len());
    s.push_str("{\"action\":");
    push_json_str(&mut s, body.action);
    s.push_str(",\"actor\":");
    push_json_str(&mut s, body.actor);
    s.push_str(",\"after_digest\":");
    push_opt(&mut s, body.after_digest);
    s.push_str(",\"at\":");
    push_json_str(&mut s, body.at);
    s.push_str(",\"before_digest\":");
    push_opt(&mut s, body.before_digest);
    s.push_str(",\"details\":");
    s.push_str(details_canonical);
    s.push_str(",\"id\":");
    push_json_str(&mut s, body.id);
    s.push_str(",\"object_id\":");
    push_json_str(&mut s, body.object_id);
    s.push_str(",\"object_type\":");
    push_json_str(&mut s, body.object_type);
    s.push_str(",\"seq\":");
    s.push_str(&body.seq.to_string());
    s.push('}');
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(s.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The generic definition the fast path must match: canonical JSON of the whole body.
#[doc(hidden)]
pub fn chain_hash_reference(prev_hash: &str, body: &EventBody<'_>) -> String {
    let v = serde_json::to_value(body).unwrap_or(Value::Null);
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(canonical_json(&v).as_bytes());
    hex(&h.finalize())
}

/// An event as stored, borrowed: its body, its stored `details` text, and its hashes.
#[derive(Debug, Clone)]
pub struct RawEvent<'a> {
    /// The body (its `details` value is not used; `details` below is).
    pub body: EventBody<'a>,
    /// The stored canonical JSON text of the details.
    pub details: &'a str,
    /// The stored previous hash.
    pub prev_hash: &'a str,
    /// The stored hash.
    pub hash: &'a str,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    /// The first sequence number at which the chain does not hold.
    pub seq: i64,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for BrokenLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "audit chain broken at event {}: {}",
            self.seq, self.reason
        )
    }
}

/// Verifies a chain incrementally: feed events in sequence order, then [`Verifier::finish`]
/// with the recorded head. Memory stays constant however long the log is.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: i64,
    prev_hash: String,
    count: u64,
    broken: Option<BrokenLink>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            count: 0,
            broken: None,
        }
    }
}

impl Verifier {
    /// A verifier at the start of the chain.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Checks the next event given as stored, with `details` as its stored text. After the
    /// first break, further events are ignored.
    pub fn push_raw(&mut self, e: &RawEvent<'_>) {
        if self.broken.is_some() {
            return;
        }
        self.count += 1;
        if let Some(b) = self.link(e.body.seq, e.prev_hash) {
            self.broken = Some(b);
            return;
        }
        let h = chain_hash_raw(e.prev_hash, &e.body, e.details);
        if h != e.hash {
            self.broken = Some(BrokenLink {
                seq: e.body.seq,
                reason: "content does not match its hash (the event was edited)".into(),
            });
            return;
        }
        self.prev_hash = h;
        self.expected_seq += 1;
    }

    fn link(&self, seq: i64, prev_hash: &str) -> Option<BrokenLink> {
        if seq != self.expected_seq {
            return Some(if seq > self.expected_seq {
                BrokenLink {
                    seq: self.expected_seq,
                    reason: format!(
                        "event {} is missing (next stored event is {seq})",
                        self.expected_seq
                    ),
                }
            } else {
                BrokenLink {
                    seq,
                    reason: format!(
                        "event {seq} is out of order or duplicated (expected {})",
                        self.expected_seq
                    ),
                }
            });
        }
        if prev_hash != self.prev_hash {
            return Some(BrokenLink { seq, reason: "prev_hash does not match the previous event's hash (an event before it was changed, removed or inserted)".into() });
        }
        None
    }

    /// Checks the next event. After the first break, further events are ignored.
    pub fn push(&mut self, e: &AuditEvent) {
        if self.broken.is_some() {
            return;
        }
        self.count += 1;
        let fail = |seq: i64, reason: String| Some(BrokenLink { seq, reason });
        if e.seq != self.expected_seq {
            self.broken = if e.seq > self.expected_seq {
                fail(
                    self.expected_seq,
                    format!(
                        "event {} is missing (next stored event is {})",
                        self.expected_seq, e.seq
                    ),
                )
            } else {
                fail(
                    e.seq,
                    format!(
                        "event {} is out of order or duplicated (expected {})",
                        e.seq, self.expected_seq
                    ),
                )
            };
            return;
        }
        if e.prev_hash != self.prev_hash {
            self.broken = fail(e.seq, "prev_hash does not match the previous event's hash (an event before it was changed, removed or inserted)".into());
            return;
        }
        let h = e.compute_hash();
        if h != e.hash {
            self.broken = fail(
                e.seq,
                "content does not match its hash (the event was edited)".into(),
            );
            return;
        }
        self.prev_hash = h;
        self.expected_seq += 1;
    }

    /// Ends verification against the stored head `(last_seq, last_hash)` (`(0, GENESIS)` for
    /// an empty log). Returns the number of events checked.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<u64, BrokenLink> {
        if let Some(b) = self.broken {
            return Err(b);
        }
        let last = self.expected_seq - 1;
        if last < head_seq {
            return Err(BrokenLink {
                seq: last + 1,
                reason: format!(
                    "events {}..={head_seq} recorded in the chain head are missing",
                    last + 1
                ),
            });
        }
        if last > head_seq {
            return Err(BrokenLink {
                seq: head_seq + 1,
                reason: format!(
                    "event {} and later are not part of the recorded chain (inserted after the head {head_seq})",
                    head_seq + 1
                ),
            });
        }
        if self.prev_hash != head_hash {
            return Err(BrokenLink {
                seq: last.max(1),
                reason: "the last event's hash does not match the recorded chain head".into(),
            });
        }
        Ok(self.count)
    }

    /// The hash of the last verified event.
    pub fn head_hash(&self) -> &str {
        &self.prev_hash
    }
}
