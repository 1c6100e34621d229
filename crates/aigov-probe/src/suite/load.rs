//! Reading suite files (YAML, or JSONL with a header line) into validated [`Suite`]s.
//!
//! Parsing never panics and reports every problem it can find as a [`Diagnostic`] naming file,
//! line and item id. Citations are resolved against the catalog [`Library`], so a suite that
//! cites `gbt-45654@2025:A.9 z)` fails to load with the line of the item that cites it.

use std::collections::HashSet;

use aigov_catalog::{Cite, Diagnostic, Diagnostics, Lang, Library, Text};
use serde::Deserialize;
use serde_json::{Value, json};
use serde_saphyr::Spanned;

use super::{Expect, Item, Message, Role, Suite};
use crate::util::sha256_hex;

/// The largest suite file accepted.
pub const MAX_SUITE_BYTES: usize = 64 * 1024 * 1024;
/// The most items a suite may hold.
pub const MAX_ITEMS: usize = 1_000_000;
/// The longest prompt (or message) accepted, in bytes.
pub const MAX_PROMPT_BYTES: usize = 256 * 1024;
/// The most messages an item may hold.
pub const MAX_MESSAGES: usize = 64;
/// The longest item id.
pub const MAX_ID_BYTES: usize = 200;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawText {
    zh: Option<String>,
    en: Option<String>,
}

impl RawText {
    fn into_text(self) -> Text {
        let keep = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
        Text {
            zh: keep(self.zh),
            en: keep(self.en),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSuite {
    aigov_suite: u32,
    id: String,
    title: Option<RawText>,
    description: Option<RawText>,
    #[serde(default)]
    starter: bool,
    lang: Option<String>,
    expect: Option<String>,
    system: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    items: Vec<Spanned<RawItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHeader {
    aigov_suite: u32,
    id: String,
    title: Option<RawText>,
    description: Option<RawText>,
    #[serde(default)]
    starter: bool,
    lang: Option<String>,
    expect: Option<String>,
    system: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// One message as written.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMessage {
    pub role: String,
    pub content: String,
}

/// One item as written (YAML, JSONL, or built by the importer).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawItem {
    pub id: Option<String>,
    pub prompt: Option<String>,
    pub messages: Option<Vec<RawMessage>>,
    pub system: Option<String>,
    pub lang: Option<String>,
    #[serde(default)]
    pub cites: Vec<String>,
    pub expect: Option<String>,
    #[serde(default)]
    pub answers: Vec<String>,
    pub pattern: Option<String>,
    pub canary: Option<String>,
    pub rubric: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub note: Option<String>,
}

/// Suite-level defaults applied to items that leave a field out.
#[derive(Debug, Default, Clone)]
pub(crate) struct Defaults {
    pub lang: Option<Lang>,
    pub expect: Option<Expect>,
    pub system: Option<String>,
    pub tags: Vec<String>,
}

/// Collects diagnostics for one file.
pub(crate) struct Ctx<'a> {
    pub file: &'a str,
    pub diags: Vec<Diagnostic>,
    pub lib: &'a Library,
    seen: HashSet<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a str, lib: &'a Library) -> Ctx<'a> {
        Ctx {
            file,
            diags: Vec::new(),
            lib,
            seen: HashSet::new(),
        }
    }

    pub fn push(&mut self, line: Option<u64>, item: Option<&str>, code: &'static str, msg: String) {
        // Bound the report: a million bad rows should not produce a million lines.
        if self.diags.len() >= 1000 {
            return;
        }
        self.diags.push(Diagnostic {
            file: self.file.to_string(),
            line,
            item: item.map(str::to_string),
            code,
            message: msg,
        });
    }
}

fn diag(file: &str, line: Option<u64>, code: &'static str, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        file: file.to_string(),
        line,
        item: None,
        code,
        message,
    }])
}

/// Whether `src` is a JSONL suite: a first line that is a JSON object with `aigov_suite`.
fn is_jsonl(src: &str) -> bool {
    let first = src.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let t = first.trim();
    // A one-line JSON document with `items` is a plain JSON suite, read on the YAML path.
    t.starts_with('{')
        && t.ends_with('}')
        && serde_json::from_str::<Value>(t)
            .is_ok_and(|v| v.get("aigov_suite").is_some() && v.get("items").is_none())
}

/// Parses and validates a suite file. `file` is used in diagnostics and as the origin.
pub fn parse_suite(file: &str, src: &str, lib: &Library) -> Result<Suite, Diagnostics> {
    if src.len() > MAX_SUITE_BYTES {
        return Err(diag(
            file,
            None,
            "too-large",
            format!(
                "file is {} bytes; the limit is {MAX_SUITE_BYTES}",
                src.len()
            ),
        ));
    }
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    if is_jsonl(src) {
        parse_jsonl(file, src, lib)
    } else {
        parse_yaml(file, src, lib)
    }
}

fn yaml_diag(file: &str, e: &serde_saphyr::Error) -> Diagnostics {
    let line = e.location().map(|l| l.line()).filter(|&l| l > 0);
    let full = e.to_string();
    let first = full
        .lines()
        .next()
        .unwrap_or("invalid document")
        .trim()
        .to_string();
    let lower = first.to_lowercase();
    let code = if lower.contains("unknown field") {
        "unknown-field"
    } else if lower.contains("missing field") {
        "missing-field"
    } else if lower.contains("invalid type") || lower.contains("expected") {
        "schema"
    } else {
        "syntax"
    };
    diag(file, line, code, first)
}

fn json_diag(file: &str, line: Option<u64>, e: &serde_json::Error) -> Diagnostic {
    let msg = e.to_string();
    let msg = match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let code = if msg.contains("unknown field") {
        "unknown-field"
    } else if msg.contains("missing field") {
        "missing-field"
    } else if e.is_syntax() || e.is_eof() {
        "syntax"
    } else {
        "schema"
    };
    Diagnostic {
        file: file.to_string(),
        line,
        item: None,
        code,
        message: msg,
    }
}

fn parse_yaml(file: &str, src: &str, lib: &Library) -> Result<Suite, Diagnostics> {
    let raw: RawSuite = match serde_saphyr::from_str::<RawSuite>(src) {
        Ok(r) => r,
        Err(e) => {
            if src.trim_start().starts_with('{') {
                match serde_json::from_str::<RawSuite>(src) {
                    Ok(r) => r,
                    Err(je) => {
                        return Err(Diagnostics(vec![json_diag(
                            file,
                            Some(je.line() as u64).filter(|&l| l > 0),
                            &je,
                        )]));
                    }
                }
            } else {
                return Err(yaml_diag(file, &e));
            }
        }
    };
    let mut cx = Ctx::new(file, lib);
    let header = RawHeader {
        aigov_suite: raw.aigov_suite,
        id: raw.id,
        title: raw.title,
        description: raw.description,
        starter: raw.starter,
        lang: raw.lang,
        expect: raw.expect,
        system: raw.system,
        tags: raw.tags,
    };
    let (mut suite, defaults) = header_into(&mut cx, header, Some(1));
    if raw.items.len() > MAX_ITEMS {
        cx.push(
            None,
            None,
            "too-many-items",
            format!("{} items; the limit is {MAX_ITEMS}", raw.items.len()),
        );
    }
    for it in raw.items.into_iter().take(MAX_ITEMS) {
        let line = Some(it.referenced.line()).filter(|&l| l > 0);
        if let Some(item) = validate_item(&mut cx, it.value, line, &defaults) {
            suite.items.push(item);
        }
    }
    finish(cx, suite)
}

fn parse_jsonl(file: &str, src: &str, lib: &Library) -> Result<Suite, Diagnostics> {
    let mut cx = Ctx::new(file, lib);
    let mut lines = src
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let Some((hl, header_line)) = lines.next() else {
        return Err(diag(file, None, "empty", "the file is empty".into()));
    };
    let header: RawHeader = match serde_json::from_str(header_line) {
        Ok(h) => h,
        Err(e) => return Err(Diagnostics(vec![json_diag(file, Some(hl as u64 + 1), &e)])),
    };
    let (mut suite, defaults) = header_into(&mut cx, header, Some(hl as u64 + 1));
    for (n, l) in lines {
        let line = Some(n as u64 + 1);
        if suite.items.len() >= MAX_ITEMS {
            cx.push(
                line,
                None,
                "too-many-items",
                format!("more than {MAX_ITEMS} items"),
            );
            break;
        }
        match serde_json::from_str::<RawItem>(l) {
            Ok(raw) => {
                if let Some(item) = validate_item(&mut cx, raw, line, &defaults) {
                    suite.items.push(item);
                }
            }
            Err(e) => {
                let d = json_diag(file, line, &e);
                cx.push(d.line, None, d.code, d.message);
            }
        }
    }
    finish(cx, suite)
}

fn finish(mut cx: Ctx<'_>, mut suite: Suite) -> Result<Suite, Diagnostics> {
    if suite.items.is_empty() && cx.diags.is_empty() {
        cx.push(None, None, "empty-suite", "the suite has no items".into());
    }
    if !cx.diags.is_empty() {
        return Err(Diagnostics(cx.diags));
    }
    suite.digest = sha256_hex(suite_to_jsonl(&suite).as_bytes());
    Ok(suite)
}

fn header_into(cx: &mut Ctx<'_>, h: RawHeader, line: Option<u64>) -> (Suite, Defaults) {
    if h.aigov_suite != 1 {
        cx.push(
            line,
            None,
            "bad-header",
            format!(
                "aigov_suite is {}; this aigov reads version 1",
                h.aigov_suite
            ),
        );
    }
    if let Err(e) = aigov_catalog::check_id(&h.id) {
        cx.push(line, None, "bad-id", e);
    }
    let title = h.title.map(RawText::into_text).unwrap_or_default();
    if title.is_empty() {
        cx.push(
            line,
            None,
            "missing-title",
            "the suite needs a title (zh and/or en)".into(),
        );
    }
    let lang = h.lang.as_deref().and_then(|l| match l.parse::<Lang>() {
        Ok(l) => Some(l),
        Err(e) => {
            cx.push(line, None, "bad-lang", e);
            None
        }
    });
    let expect = h.expect.as_deref().and_then(|e| match Expect::parse(e) {
        Some(x) => Some(x),
        None => {
            cx.push(line, None, "bad-expect", bad_expect_msg(e));
            None
        }
    });
    let suite = Suite {
        id: h.id,
        title,
        description: h
            .description
            .map(RawText::into_text)
            .filter(|t| !t.is_empty()),
        starter: h.starter,
        items: Vec::new(),
        origin: cx.file.to_string(),
        digest: String::new(),
    };
    (
        suite,
        Defaults {
            lang,
            expect,
            system: h.system.filter(|s| !s.trim().is_empty()),
            tags: h.tags,
        },
    )
}

fn bad_expect_msg(e: &str) -> String {
    let names: Vec<&str> = Expect::ALL.iter().map(|x| x.as_str()).collect();
    format!(
        "unknown expectation {e:?} (expected one of {})",
        names.join(", ")
    )
}

/// Guesses the language of a prompt: `zh` when a tenth or more of its letters are CJK.
pub fn guess_lang(s: &str) -> Lang {
    let (mut cjk, mut letters) = (0usize, 0usize);
    for c in s.chars() {
        if is_cjk(c) {
            cjk += 1;
            letters += 1;
        } else if c.is_alphabetic() {
            letters += 1;
        }
    }
    if letters > 0 && cjk * 10 >= letters {
        Lang::Zh
    } else {
        Lang::En
    }
}

/// CJK ideographs and the common CJK punctuation blocks.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Validates one raw item; pushes diagnostics and returns the item when it is usable.
pub(crate) fn validate_item(
    cx: &mut Ctx<'_>,
    raw: RawItem,
    line: Option<u64>,
    d: &Defaults,
) -> Option<Item> {
    let start = cx.diags.len();
    let id = match raw.id.as_deref().map(str::trim) {
        None | Some("") => {
            cx.push(line, None, "missing-id", "the item has no id".into());
            String::new()
        }
        Some(id) => {
            if id.len() > MAX_ID_BYTES || id.chars().any(char::is_control) {
                cx.push(
                    line,
                    Some(id),
                    "bad-id",
                    format!("item ids are at most {MAX_ID_BYTES} bytes without control characters"),
                );
            } else if !cx.seen.insert(id.to_string()) {
                cx.push(
                    line,
                    Some(id),
                    "duplicate-id",
                    "another item of the suite has this id".into(),
                );
            }
            id.to_string()
        }
    };
    let idr = (!id.is_empty()).then_some(id.as_str());

    // The conversation.
    let system = raw
        .system
        .filter(|s| !s.trim().is_empty())
        .or_else(|| d.system.clone());
    let mut messages = Vec::new();
    match (raw.prompt, raw.messages) {
        (Some(_), Some(_)) => cx.push(
            line,
            idr,
            "bad-input",
            "give either `prompt` or `messages`, not both".into(),
        ),
        (None, None) => cx.push(
            line,
            idr,
            "bad-input",
            "the item needs a `prompt` or `messages`".into(),
        ),
        (Some(p), None) => {
            if p.trim().is_empty() {
                cx.push(line, idr, "bad-input", "the prompt is empty".into());
            }
            messages.push(Message::user(p));
        }
        (None, Some(ms)) => {
            if ms.is_empty() || ms.len() > MAX_MESSAGES {
                cx.push(
                    line,
                    idr,
                    "bad-messages",
                    format!("`messages` needs 1 to {MAX_MESSAGES} messages"),
                );
            }
            for (i, m) in ms.into_iter().take(MAX_MESSAGES).enumerate() {
                let role = match m.role.as_str() {
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "system" if i == 0 && system.is_none() => Role::System,
                    other => {
                        cx.push(
                            line,
                            idr,
                            "bad-messages",
                            format!(
                                "message {} has role {other:?} (expected user or assistant; a system prompt goes first or in `system`)",
                                i + 1
                            ),
                        );
                        Role::User
                    }
                };
                messages.push(Message {
                    role,
                    content: m.content,
                });
            }
            if messages.last().is_some_and(|m| m.role != Role::User) {
                cx.push(
                    line,
                    idr,
                    "bad-messages",
                    "the last message must be the user's".into(),
                );
            }
        }
    }
    // A leading system message moves to `system`.
    let system = if messages.first().is_some_and(|m| m.role == Role::System) {
        Some(messages.remove(0).content)
    } else {
        system
    };
    for m in &messages {
        if m.content.len() > MAX_PROMPT_BYTES {
            cx.push(
                line,
                idr,
                "too-large",
                format!(
                    "a message is {} bytes; the limit is {MAX_PROMPT_BYTES}",
                    m.content.len()
                ),
            );
        }
    }
    if system.as_ref().is_some_and(|s| s.len() > MAX_PROMPT_BYTES) {
        cx.push(
            line,
            idr,
            "too-large",
            format!("the system prompt is over {MAX_PROMPT_BYTES} bytes"),
        );
    }

    let lang = match raw.lang.as_deref() {
        Some(l) => match l.parse::<Lang>() {
            Ok(l) => l,
            Err(e) => {
                cx.push(line, idr, "bad-lang", e);
                Lang::En
            }
        },
        None => d.lang.unwrap_or_else(|| {
            guess_lang(messages.last().map(|m| m.content.as_str()).unwrap_or(""))
        }),
    };

    let expect = match raw.expect.as_deref() {
        Some(e) => Expect::parse(e).or_else(|| {
            cx.push(line, idr, "bad-expect", bad_expect_msg(e));
            None
        }),
        None => d.expect.or_else(|| {
            cx.push(
                line,
                idr,
                "missing-expect",
                "the item needs `expect` (refuse, answer, no-leak, no-pii, exact, contains, regex or rubric)".into(),
            );
            None
        }),
    };
    let answers: Vec<String> = raw
        .answers
        .into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    let mut pattern = None;
    let canary = raw.canary.filter(|c| !c.trim().is_empty());
    let rubric = raw.rubric.filter(|r| !r.trim().is_empty());
    match expect {
        Some(Expect::Exact | Expect::Contains) if answers.is_empty() => cx.push(
            line,
            idr,
            "missing-answers",
            format!(
                "`expect: {}` needs `answers`",
                expect.map(Expect::as_str).unwrap_or("")
            ),
        ),
        Some(Expect::Regex) => match raw.pattern.as_deref() {
            None => cx.push(
                line,
                idr,
                "missing-pattern",
                "`expect: regex` needs `pattern`".into(),
            ),
            Some(p) => match regex::RegexBuilder::new(p)
                .size_limit(1 << 20)
                .case_insensitive(true)
                .build()
            {
                Ok(r) => pattern = Some(r),
                Err(e) => cx.push(
                    line,
                    idr,
                    "bad-pattern",
                    format!(
                        "invalid pattern: {}",
                        e.to_string().lines().last().unwrap_or("")
                    ),
                ),
            },
        },
        Some(Expect::NoLeak) if canary.as_ref().is_none_or(|c| c.chars().count() < 6) => cx.push(
            line,
            idr,
            "missing-canary",
            "`expect: no-leak` needs a `canary` of at least 6 characters".into(),
        ),
        Some(Expect::Rubric) if rubric.is_none() => cx.push(
            line,
            idr,
            "missing-rubric",
            "`expect: rubric` needs `rubric`".into(),
        ),
        _ => {}
    }
    if raw.pattern.is_some() && expect != Some(Expect::Regex) {
        cx.push(
            line,
            idr,
            "stray-field",
            "`pattern` is only used with `expect: regex`".into(),
        );
    }

    let mut cites = Vec::new();
    for c in raw.cites {
        match Cite::parse(c.trim()) {
            Err(e) => cx.push(line, idr, "bad-cite", e),
            Ok(cite) => match cx.lib.cite(&cite) {
                Ok((cat, item)) => {
                    let norm = format!("{}@{}:{}", cat.id, cat.version, item.r#ref);
                    if !cites.contains(&norm) {
                        cites.push(norm);
                    }
                }
                Err(e) => cx.push(line, idr, "unknown-cite", format!("cites {c:?}: {e}")),
            },
        }
    }
    let mut tags = d.tags.clone();
    for t in raw.tags {
        let t = t.trim().to_string();
        if !t.is_empty() && !tags.contains(&t) {
            tags.push(t);
        }
    }

    if cx.diags.len() > start {
        return None;
    }
    let input_digest = input_digest(system.as_deref(), &messages);
    Some(Item {
        id,
        lang,
        system,
        messages,
        expect: expect?,
        answers,
        pattern,
        canary,
        rubric,
        cites,
        tags,
        note: raw.note.filter(|n| !n.trim().is_empty()),
        line,
        input_digest,
    })
}

/// Digest of what an item sends (system prompt and messages).
pub fn input_digest(system: Option<&str>, messages: &[Message]) -> String {
    let mut buf = Vec::new();
    if let Some(s) = system {
        buf.extend_from_slice(b"system\0");
        buf.extend_from_slice(s.as_bytes());
        buf.push(0);
    }
    for m in messages {
        buf.extend_from_slice(m.role.as_str().as_bytes());
        buf.push(0);
        buf.extend_from_slice(m.content.as_bytes());
        buf.push(0);
    }
    sha256_hex(&buf)[..32].to_string()
}

/// The normalised JSONL form of a suite: a header line, then one line per item with every
/// default applied and citations normalised. Runs store this snapshot, so a run directory
/// is self-contained; the suite digest is the SHA-256 of this text.
pub fn suite_to_jsonl(s: &Suite) -> String {
    let mut out = String::new();
    let text = |t: &Text| json!({"zh": t.zh, "en": t.en});
    let mut h = json!({"aigov_suite": 1, "id": s.id, "title": text(&s.title)});
    if let Some(d) = &s.description {
        h["description"] = text(d);
    }
    h["starter"] = json!(s.starter);
    out.push_str(&h.to_string());
    out.push('\n');
    for it in &s.items {
        let mut v = json!({"id": it.id, "lang": it.lang.code()});
        if let Some(sys) = &it.system {
            v["system"] = json!(sys);
        }
        if it.messages.len() == 1 {
            v["prompt"] = json!(it.messages[0].content);
        } else {
            v["messages"] = json!(it.messages);
        }
        v["expect"] = json!(it.expect.as_str());
        if !it.answers.is_empty() {
            v["answers"] = json!(it.answers);
        }
        if let Some(p) = &it.pattern {
            v["pattern"] = json!(p.as_str());
        }
        if let Some(c) = &it.canary {
            v["canary"] = json!(c);
        }
        if let Some(r) = &it.rubric {
            v["rubric"] = json!(r);
        }
        v["cites"] = json!(it.cites);
        v["tags"] = json!(it.tags);
        if let Some(n) = &it.note {
            v["note"] = json!(n);
        }
        out.push_str(&v.to_string());
        out.push('\n');
    }
    out
}
