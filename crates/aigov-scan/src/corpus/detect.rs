//! The detector engine: one term matcher per keyword library, one multi-pattern regex pass for personal information and secrets with validators on the candidates, and an
//! optional pass of custom regex rules.
//!
//! Hot path, per text:
//! 1. normalise into a reused buffer ([`crate::text::Normalized`]);
//! 2. run each library's [`TermMatcher`] over it, reporting every (overlapping) occurrence;
//! 3. run one lazy-DFA regex with every built-in candidate pattern, only over the ASCII runs of
//!    the normalised text (every built-in pattern is ASCII, so CJK stretches are skipped
//!    without being looked at twice), and hand each candidate to its validator;
//! 4. run the custom rules over the original text;
//! 5. map every span back to the original text.

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input};
use serde::Serialize;

use crate::ScanError;
use crate::corpus::pi;
use crate::corpus::terms::TermMatcher;
use crate::lexicon::{Lexicon, UniqueTerm};
use crate::text::{Normalized, fold_width};

/// What kind of detector a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RuleKind {
    /// A keyword library.
    Lexicon,
    /// A personal-information rule.
    PersonalInfo,
    /// A credential (API key, token, private key).
    Secret,
    /// A user-supplied regex.
    Custom,
}

impl RuleKind {
    /// `lexicon`, `personal-info`, `secret`, `custom`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Lexicon => "lexicon",
            RuleKind::PersonalInfo => "personal-info",
            RuleKind::Secret => "secret",
            RuleKind::Custom => "custom",
        }
    }
}

/// A rule of the detector, as reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// Stable id: `lexicon:<name>`, `pi.cn-resident-id`, `secret.github-token`, `custom:<name>`.
    pub id: String,
    /// Kind.
    pub kind: RuleKind,
    /// The risk a hit evidences (a catalog citation); for libraries, per term instead.
    pub category: Option<String>,
    /// How a candidate is confirmed (`checksum`, `number plan`, `format` …).
    pub validation: String,
    /// What it finds.
    pub description: String,
}

/// Personal information infringes GB/T 45654 A.4 f).
pub const PI_CATEGORY: &str = "gbt-45654@2025:A.4 f)";
/// Leaked credentials are TC260's data-leakage risk.
pub const SECRET_CATEGORY: &str = "tc260-aisgf@1.0:3.1.2(d)";

/// A built-in rule.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    /// Stable id.
    pub id: &'static str,
    /// Kind.
    pub kind: RuleKind,
    /// How candidates are confirmed.
    pub validation: &'static str,
    /// What it finds.
    pub description: &'static str,
    /// On unless disabled.
    pub default_on: bool,
}

const fn pi(id: &'static str, validation: &'static str, description: &'static str) -> Builtin {
    Builtin {
        id,
        kind: RuleKind::PersonalInfo,
        validation,
        description,
        default_on: true,
    }
}

const fn secret(id: &'static str, description: &'static str) -> Builtin {
    Builtin {
        id,
        kind: RuleKind::Secret,
        validation: "prefix and shape",
        description,
        default_on: true,
    }
}

/// Every built-in rule. `pi.cn-resident-id-15` (no check digit) is off unless enabled.
pub const BUILTINS: &[Builtin] = &[
    pi(
        "pi.cn-resident-id",
        "GB 11643 check character, province code, birth date",
        "mainland resident ID number (18 characters)",
    ),
    Builtin {
        id: "pi.cn-resident-id-15",
        kind: RuleKind::PersonalInfo,
        validation: "province code, birth date (no check digit)",
        description: "first-generation 15-digit resident ID number",
        default_on: false,
    },
    pi(
        "pi.cn-mobile",
        "allocated 1xx segments",
        "mainland mobile number (optionally +86)",
    ),
    pi(
        "pi.cn-landline",
        "area-code plan, local number length",
        "mainland landline number with area code",
    ),
    pi(
        "pi.bank-card",
        "Luhn check, issuer prefix and length (UnionPay 62…, Visa, Mastercard, Amex, JCB, Discover, Diners)",
        "payment-card number",
    ),
    pi("pi.email", "format", "e-mail address"),
    pi("pi.ipv4", "octets 0–255", "IPv4 address"),
    pi("pi.ipv6", "full parse", "IPv6 address"),
    pi("pi.cn-passport", "format (E/G + 8)", "PRC passport number"),
    pi(
        "pi.hk-macau-permit",
        "format (H/M + 8 or 10 digits)",
        "Hong Kong / Macau residents' permit to the mainland (回乡证)",
    ),
    pi(
        "pi.cn-hk-macau-travel-permit",
        "format (C + 8)",
        "mainland residents' permit to Hong Kong and Macau",
    ),
    pi(
        "pi.cn-taiwan-travel-permit",
        "format (L + 8 digits)",
        "mainland residents' permit to Taiwan",
    ),
    pi(
        "pi.tw-resident-permit",
        "format (8 or 10 digits) after 台胞证 / 通行证 within 16 characters",
        "Taiwan residents' permit to the mainland (台胞证)",
    ),
    pi(
        "pi.hk-id",
        "mod-11 check character",
        "Hong Kong identity card number",
    ),
    pi(
        "pi.macau-id",
        "format (7 digits and a bracketed digit)",
        "Macau identity card number",
    ),
    pi(
        "pi.tw-id",
        "check digit",
        "Taiwan national identification number",
    ),
    secret("secret.private-key", "PEM private key header"),
    secret("secret.jwt", "JSON Web Token"),
    secret(
        "secret.github-token",
        "GitHub token (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
    ),
    secret("secret.openai-key", "OpenAI API key (sk-…)"),
    secret("secret.anthropic-key", "Anthropic API key (sk-ant-…)"),
    secret("secret.stripe-key", "Stripe live secret key"),
    secret("secret.slack-token", "Slack token (xox…)"),
    secret("secret.google-api-key", "Google API key (AIza…)"),
    secret(
        "secret.aws-access-key-id",
        "AWS access key id (AKIA…/ASIA…)",
    ),
    secret(
        "secret.aliyun-access-key-id",
        "Alibaba Cloud AccessKey id (LTAI…)",
    ),
    secret("secret.tencent-secret-id", "Tencent Cloud SecretId (AKID…)"),
    secret("secret.huggingface-token", "Hugging Face token (hf_…)"),
];

/// Candidate kinds of the built-in regex pass, in priority order (leftmost-first: at one
/// position the first listed pattern wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cand {
    Email,
    PrivateKey,
    Jwt,
    Github,
    SkKey,
    LiveKey,
    Slack,
    Google,
    Aws,
    Aliyun,
    Tencent,
    HfToken,
    MobileSep,
    CardGrouped,
    Landline,
    Ipv4,
    Ipv6,
    LetterDoc,
    DigitRun,
}

/// Patterns over the *normalised* (lower-cased) text; validators look at the original case.
const CANDIDATES: &[(Cand, &str)] = &[
    (
        Cand::Email,
        r"[a-z0-9._%+\-]{1,64}@(?:[a-z0-9\-]{1,63}\.){1,8}[a-z]{2,24}",
    ),
    (
        Cand::PrivateKey,
        r"-----begin [a-z0-9 ]{0,24}private key-----",
    ),
    (
        Cand::Jwt,
        r"eyj[a-z0-9_\-]{8,}\.eyj[a-z0-9_\-]{8,}\.[a-z0-9_\-]{8,}",
    ),
    (
        Cand::Github,
        r"gh[pousr]_[a-z0-9]{36}|github_pat_[a-z0-9_]{22,}",
    ),
    (Cand::SkKey, r"sk-[a-z0-9_\-]{20,}"),
    (Cand::LiveKey, r"[sr]k_live_[a-z0-9]{20,}"),
    (Cand::Slack, r"xox[abprs]-[a-z0-9\-]{10,}"),
    (Cand::Google, r"aiza[a-z0-9_\-]{35}"),
    (Cand::Aws, r"(?:akia|asia)[a-z0-9]{16}"),
    (Cand::Aliyun, r"ltai[a-z0-9]{12,20}"),
    (Cand::Tencent, r"akid[a-z0-9]{32}"),
    (Cand::HfToken, r"hf_[a-z]{34}"),
    (
        Cand::MobileSep,
        r"(?:\+86[ \-]?|86[ \-])?1[3-9][0-9](?:[ \-][0-9]{4}[ \-]?[0-9]{4}|[0-9]{4}[ \-][0-9]{4})|\+86[ \-]?1[3-9][0-9]{9}",
    ),
    (
        Cand::CardGrouped,
        r"[0-9]{4}(?:[ \-][0-9]{4}){2,3}(?:[ \-]?[0-9]{1,3})?",
    ),
    (
        Cand::Landline,
        r"(?:\(0[0-9]{2,3}\)[ \-]?|0[0-9]{2,3}[ \-])[0-9]{7,8}",
    ),
    (Cand::Ipv4, r"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
    (
        Cand::Ipv6,
        r"[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:(?:\.[0-9]{1,3}){3})?",
    ),
    (Cand::LetterDoc, r"[a-z]{1,2}[0-9]{6,10}(?:\([0-9a]\))?"),
    (Cand::DigitRun, r"[0-9]{6,}x?"),
];

/// The shortest text any built-in candidate can match; shorter ASCII runs are skipped.
const MIN_CANDIDATE: usize = 6;

/// How the scan for ASCII runs sees a byte (see [`RUN_CLASS`]).
const RUN_END: u8 = 0;
const RUN_BREAK: u8 = 1;
const RUN_WORD: u8 = 2;
const RUN_TRIGGER: u8 = 3;

/// Byte classes for finding the ASCII runs worth a regex search:
/// - [`RUN_TRIGGER`]: bytes without which a run holds no built-in candidate short of a long
///   token: digits (numbers, IPv4, documents), `@` (e-mail), `:` (IPv6), `_` and `-` (key
///   prefixes such as `ghp_`, `sk-`, `xoxb-`, `-----BEGIN`);
/// - [`RUN_WORD`]: letters and `.`, which make up the candidates without a trigger byte (AWS,
///   Google, Alibaba and Tencent keys, JWTs made only of letters): each of those is a streak of
///   at least [`LONG_RUN`] such bytes, so a run is searched once it holds one;
/// - [`RUN_BREAK`]: any other ASCII byte (ends a streak);
/// - [`RUN_END`]: non-ASCII bytes (end the run).
const RUN_CLASS: [u8; 256] = {
    let mut t = [RUN_END; 256];
    let mut c = 0;
    while c < 0x80 {
        t[c] = RUN_BREAK;
        c += 1;
    }
    let mut c = b'a';
    while c <= b'z' {
        t[c as usize] = RUN_WORD;
        t[c.to_ascii_uppercase() as usize] = RUN_WORD;
        c += 1;
    }
    t[b'.' as usize] = RUN_WORD;
    let mut c = b'0';
    while c <= b'9' {
        t[c as usize] = RUN_TRIGGER;
        c += 1;
    }
    t[b'@' as usize] = RUN_TRIGGER;
    t[b':' as usize] = RUN_TRIGGER;
    t[b'_' as usize] = RUN_TRIGGER;
    t[b'-' as usize] = RUN_TRIGGER;
    t
};

/// A streak of this many letters or dots is searched even without a trigger byte (it may hold
/// an AWS, Google, Alibaba or Tencent key, or a JWT, that happens to have no digit).
const LONG_RUN: usize = 16;

/// A user-supplied regex rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomRule {
    /// Name; the rule id becomes `custom:<name>`.
    pub name: String,
    /// Category citation, if any.
    pub category: Option<String>,
    /// Regex (Rust syntax), matched against the original text.
    pub pattern: String,
}

/// What the detector runs.
#[derive(Debug, Clone, Default)]
pub struct DetectorConfig {
    /// Keyword libraries.
    pub lexicons: Vec<Lexicon>,
    /// Run the built-in personal-information and secret rules.
    pub builtins: bool,
    /// Built-in rules to switch on in addition to the defaults (e.g. `pi.cn-resident-id-15`).
    pub enable: Vec<String>,
    /// Built-in rules to switch off.
    pub disable: Vec<String>,
    /// Custom regex rules.
    pub custom: Vec<CustomRule>,
}

/// One hit, with its span in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Index into [`Detector::rules`].
    pub rule: u32,
    /// Byte offset of the start in the original text.
    pub start: usize,
    /// Byte offset of the end (exclusive).
    pub end: usize,
    /// For library hits, the index of the term in [`Detector::terms`] of that library.
    pub term: Option<u32>,
    /// Extra detail (the card network).
    pub detail: Option<&'static str>,
}

struct LexMatcher {
    rule: u32,
    matcher: TermMatcher,
    terms: Vec<UniqueTerm>,
}

/// The compiled detectors. Immutable and shared by all workers.
pub struct Detector {
    rules: Vec<Rule>,
    lexicons: Vec<LexMatcher>,
    builtin: Option<Regex>,
    /// Rule index of each built-in id (by position in [`BUILTINS`]), `None` when disabled.
    builtin_rule: Vec<Option<u32>>,
    custom: Option<(Regex, Vec<u32>)>,
    fingerprint: String,
    /// Distinct category citations.
    categories: Vec<String>,
    /// Category indices of each term, per library (same order as `lexicons`).
    term_cats: Vec<Vec<Vec<u32>>>,
    /// Category index of each non-library rule.
    rule_cat: Vec<Option<u32>>,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("rules", &self.rules.len())
            .field("lexicons", &self.lexicons.len())
            .finish()
    }
}

/// Per-worker scratch space: the normalised buffer and regex caches. The default is an empty
/// placeholder (no caches: the regex passes are skipped); use [`Detector::scratch`].
#[derive(Debug, Default)]
pub struct Scratch {
    norm: Normalized,
    cache: Option<meta::Cache>,
    custom_cache: Option<meta::Cache>,
    tmp: String,
    /// Library hits of the current text, as `(end, start, term)` in normalised offsets.
    lex: Vec<(usize, usize, u32)>,
}

impl Detector {
    /// Compiles the detectors.
    pub fn new(cfg: &DetectorConfig) -> Result<Detector, ScanError> {
        use sha2::{Digest, Sha256};
        let mut fp = Sha256::new();
        let mut rules = Vec::new();
        let mut lexicons = Vec::new();
        let mut names = std::collections::HashSet::new();
        for lex in &cfg.lexicons {
            let mut name = lex.name.clone();
            let mut k = 2;
            while !names.insert(name.clone()) {
                name = format!("{}-{k}", lex.name);
                k += 1;
            }
            let terms = lex.unique();
            if terms.is_empty() {
                return Err(ScanError::Lexicon(format!(
                    "{}: the keyword library has no terms",
                    lex.path
                )));
            }
            let matcher = TermMatcher::new(terms.iter().map(|t| t.norm.as_str()));
            fp.update(b"lexicon\0");
            fp.update(name.as_bytes());
            for t in &terms {
                fp.update(t.norm.as_bytes());
                fp.update(b"\t");
                fp.update(t.categories.join(";").as_bytes());
                fp.update(b"\n");
            }
            lexicons.push(LexMatcher {
                rule: rules.len() as u32,
                matcher,
                terms,
            });
            rules.push(Rule {
                id: format!("lexicon:{name}"),
                kind: RuleKind::Lexicon,
                category: None,
                validation: "normalised exact match (width, case, invisible characters)".into(),
                description: format!("keyword library {}", lex.path),
            });
        }
        for id in cfg.enable.iter().chain(&cfg.disable) {
            if !BUILTINS.iter().any(|b| b.id == id) {
                return Err(ScanError::Config(format!(
                    "unknown rule {id:?}; built-in rules: {}",
                    BUILTINS.iter().map(|b| b.id).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut builtin_rule = vec![None; BUILTINS.len()];
        let mut builtin = None;
        if cfg.builtins {
            for (i, b) in BUILTINS.iter().enumerate() {
                let on = (b.default_on || cfg.enable.iter().any(|e| e == b.id))
                    && !cfg.disable.iter().any(|d| d == b.id);
                if !on {
                    continue;
                }
                fp.update(b"builtin\0");
                fp.update(b.id.as_bytes());
                builtin_rule[i] = Some(rules.len() as u32);
                rules.push(Rule {
                    id: b.id.to_string(),
                    kind: b.kind,
                    category: Some(
                        match b.kind {
                            RuleKind::Secret => SECRET_CATEGORY,
                            _ => PI_CATEGORY,
                        }
                        .to_string(),
                    ),
                    validation: b.validation.to_string(),
                    description: b.description.to_string(),
                });
            }
            if builtin_rule.iter().any(Option::is_some) {
                let pats: Vec<&str> = CANDIDATES.iter().map(|(_, p)| *p).collect();
                let re = Regex::builder()
                    .syntax(syntax::Config::new().unicode(false).utf8(false))
                    .configure(Regex::config().utf8_empty(false))
                    .build_many(&pats)
                    .map_err(|e| ScanError::Config(format!("built-in patterns: {e}")))?;
                builtin = Some(re);
            }
        }
        let mut custom = None;
        if !cfg.custom.is_empty() {
            let mut pats = Vec::new();
            let mut idx = Vec::new();
            for c in &cfg.custom {
                let id = format!("custom:{}", c.name);
                if rules.iter().any(|r| r.id == id) {
                    return Err(ScanError::Config(format!("rule {id} is defined twice")));
                }
                // Compile alone first, so that an error names the rule.
                Regex::new(&c.pattern)
                    .map_err(|e| ScanError::Config(format!("rule {id}: invalid regex: {e}")))?;
                fp.update(b"custom\0");
                fp.update(id.as_bytes());
                fp.update(c.pattern.as_bytes());
                idx.push(rules.len() as u32);
                rules.push(Rule {
                    id,
                    kind: RuleKind::Custom,
                    category: c.category.clone(),
                    validation: "regex".into(),
                    description: format!("custom rule /{}/", c.pattern),
                });
                pats.push(c.pattern.as_str());
            }
            let re = Regex::new_many(&pats)
                .map_err(|e| ScanError::Config(format!("custom rules: {e}")))?;
            custom = Some((re, idx));
        }
        if rules.is_empty() {
            return Err(ScanError::Config(
                "nothing to detect: give a keyword library, enable the built-in rules or add a custom rule".into(),
            ));
        }
        let fingerprint = fp
            .finalize()
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut categories: Vec<String> = Vec::new();
        let mut intern = |c: &str| -> u32 {
            match categories.iter().position(|x| x == c) {
                Some(i) => i as u32,
                None => {
                    categories.push(c.to_string());
                    (categories.len() - 1) as u32
                }
            }
        };
        let term_cats = lexicons
            .iter()
            .map(|l| {
                l.terms
                    .iter()
                    .map(|t| t.categories.iter().map(|c| intern(c)).collect())
                    .collect()
            })
            .collect();
        let rule_cat = rules
            .iter()
            .map(|r| r.category.as_deref().map(&mut intern))
            .collect();
        Ok(Detector {
            rules,
            lexicons,
            builtin,
            builtin_rule,
            custom,
            fingerprint,
            categories,
            term_cats,
            rule_cat,
        })
    }

    /// Every rule, indexed by [`Hit::rule`].
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The distinct terms of the library behind rule `rule` (empty for other rules).
    pub fn terms(&self, rule: u32) -> &[UniqueTerm] {
        self.lexicons
            .iter()
            .find(|l| l.rule == rule)
            .map_or(&[], |l| &l.terms)
    }

    /// Every category citation any rule or term carries; indexed by [`Detector::hit_categories`].
    pub fn categories(&self) -> &[String] {
        &self.categories
    }

    /// The categories (indices into [`Detector::categories`]) a hit evidences: the term's for
    /// a library hit, the rule's otherwise.
    pub fn hit_categories(&self, h: &Hit) -> &[u32] {
        if let Some(t) = h.term
            && let Some(li) = self.lexicons.iter().position(|l| l.rule == h.rule)
        {
            return self.term_cats[li]
                .get(t as usize)
                .map_or(&[], Vec::as_slice);
        }
        match self.rule_cat.get(h.rule as usize) {
            Some(Some(c)) => std::slice::from_ref(c),
            _ => &[],
        }
    }

    /// A short digest of everything that decides what is found (libraries, rules, patterns).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Fresh scratch space for one worker.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            norm: Normalized::new(),
            cache: self.builtin.as_ref().map(Regex::create_cache),
            custom_cache: self.custom.as_ref().map(|(r, _)| r.create_cache()),
            tmp: String::new(),
            lex: Vec::new(),
        }
    }

    /// Finds every hit in `text`, appending to `out` (spans in `text`'s byte offsets).
    pub fn scan(&self, text: &str, s: &mut Scratch, out: &mut Vec<Hit>) {
        if text.is_empty() {
            return;
        }
        s.norm.set(text);
        let n = s.norm.as_str();
        for lex in &self.lexicons {
            s.lex.clear();
            lex.matcher
                .find(n, |start, end, term| s.lex.push((end, start, term)));
            // Reported by end, then start (longest first), as a streaming automaton would.
            s.lex.sort_unstable();
            for &(end, start, term) in &s.lex {
                let (a, b) = s.norm.span_to_original(text, start, end);
                out.push(Hit {
                    rule: lex.rule,
                    start: a,
                    end: b,
                    term: Some(term),
                    detail: None,
                });
            }
        }
        self.scan_builtin(text, s, out, false);
        if let (Some((re, idx)), Some(cache)) = (&self.custom, s.custom_cache.as_mut()) {
            let mut input = Input::new(text);
            while let Some(m) = re.search_with(cache, &input) {
                if m.end() > m.start() {
                    out.push(Hit {
                        rule: idx[m.pattern().as_usize()],
                        start: m.start(),
                        end: m.end(),
                        term: None,
                        detail: None,
                    });
                }
                if m.end() >= text.len() {
                    break;
                }
                // Step past empty matches; stay on a char boundary.
                let mut next = m.end().max(m.start() + 1);
                while next < text.len() && !text.is_char_boundary(next) {
                    next += 1;
                }
                input.set_start(next);
            }
        }
    }

    /// The built-in regex pass over the ASCII runs of the normalised text. `search_all` searches
    /// every run, even those that cannot hold a candidate (the reference for tests).
    fn scan_builtin(&self, text: &str, s: &mut Scratch, out: &mut Vec<Hit>, search_all: bool) {
        let (Some(re), Some(cache)) = (&self.builtin, s.cache.as_mut()) else {
            return;
        };
        let n = s.norm.as_str();
        let bytes = n.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            i = run_end(bytes, i, true);
            // Take the ASCII run; search it only if a candidate could be in it.
            let start = i;
            i = run_end(bytes, i, false);
            let run = &bytes[start..i];
            if run.len() < MIN_CANDIDATE
                || !(search_all || has_trigger(run) || has_long_streak(run))
            {
                continue;
            }
            let mut input = Input::new(bytes).range(start..i).anchored(Anchored::No);
            while let Some(m) = re.search_with(cache, &input) {
                let kind = CANDIDATES[m.pattern().as_usize()].0;
                if let Some((b, ms, me, detail)) =
                    classify(kind, n, m.start(), m.end(), text, &s.norm, &mut s.tmp)
                    && let Some(rule) = self.builtin_rule[b]
                {
                    let (a, e) = s.norm.span_to_original(text, ms, me);
                    out.push(Hit {
                        rule,
                        start: a,
                        end: e,
                        term: None,
                        detail,
                    });
                }
                if m.end() >= i {
                    break;
                }
                input.set_start(m.end().max(m.start() + 1));
            }
        }
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The end of the run of non-ASCII (`wide`) or ASCII bytes starting at `i`, eight bytes at a
/// time where possible.
#[inline]
fn run_end(bytes: &[u8], mut i: usize, wide: bool) -> usize {
    while let Some(w) = bytes.get(i..i + 8) {
        let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        // High bits of the bytes that end the run.
        let stop = if wide { !w & HIGHS } else { w & HIGHS };
        if stop != 0 {
            return i + stop.trailing_zeros() as usize / 8;
        }
        i += 8;
    }
    while i < bytes.len() && (bytes[i] >= 0x80) == wide {
        i += 1;
    }
    i
}

/// Whether a word of eight ASCII bytes holds a [`RUN_TRIGGER`] byte: a digit, `:` (both in
/// 0x30–0x3A), `@`, `_` or `-`. Exact: no byte's sum carries into the next.
#[inline]
fn word_has_trigger(w: u64) -> bool {
    let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let ge_30 = w + ONES * (0x80 - 0x30);
    let ge_3b = w + ONES * (0x80 - 0x3B);
    let digits = ge_30 & !ge_3b & HIGHS;
    digits
        | zero(w ^ (ONES * u64::from(b'@')))
        | zero(w ^ (ONES * u64::from(b'_')))
        | zero(w ^ (ONES * u64::from(b'-')))
        != 0
}

/// Whether a run of ASCII bytes holds a [`RUN_TRIGGER`] byte.
fn has_trigger(run: &[u8]) -> bool {
    let mut words = run.chunks_exact(8);
    for w in &mut words {
        if word_has_trigger(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))) {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|&c| RUN_CLASS[usize::from(c)] == RUN_TRIGGER)
}

/// Whether every byte of a word of eight ASCII bytes is a [`RUN_WORD`] byte (a letter or `.`).
/// Exact per byte: no sum carries into the next byte.
#[inline]
fn word_all_word_bytes(w: u64) -> bool {
    const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    let l = w | (ONES * 0x20);
    let letters = (l + ONES * (0x80 - 0x61)) & !(l + ONES * (0x80 - 0x7B)) & HIGHS;
    let d = w ^ (ONES * u64::from(b'.'));
    let dots = !(((d & LOW7) + LOW7) | d) & HIGHS;
    letters | dots == HIGHS
}

/// Whether a run of ASCII bytes holds [`LONG_RUN`] [`RUN_WORD`] bytes in a row.
fn has_long_streak(run: &[u8]) -> bool {
    if run.len() < LONG_RUN {
        return false;
    }
    // Any LONG_RUN (16) bytes in a row cover a whole eight-byte chunk of the run: without a
    // chunk made only of word bytes there is no streak.
    let whole_chunk = run
        .chunks_exact(8)
        .any(|c| word_all_word_bytes(u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))));
    if !whole_chunk {
        return false;
    }
    let mut streak = 0;
    for &c in run {
        if RUN_CLASS[usize::from(c)] == RUN_WORD {
            streak += 1;
            if streak >= LONG_RUN {
                return true;
            }
        } else {
            streak = 0;
        }
    }
    false
}

fn builtin_index(id: &str) -> usize {
    BUILTINS.iter().position(|b| b.id == id).unwrap_or(0)
}

fn is_alnum(b: Option<&u8>) -> bool {
    b.is_some_and(u8::is_ascii_alphanumeric)
}

/// The candidate as written (width-folded so that the case can be checked).
fn original<'a>(
    text: &'a str,
    norm: &Normalized,
    s: usize,
    e: usize,
    tmp: &'a mut String,
) -> &'a str {
    let (a, b) = norm.span_to_original(text, s, e);
    let o = &text[a..b];
    if o.is_ascii() {
        o
    } else {
        *tmp = fold_width(o);
        tmp.as_str()
    }
}

/// Decides a candidate: the built-in rule (index into [`BUILTINS`]) and the span to report.
#[allow(clippy::too_many_arguments)]
fn classify(
    kind: Cand,
    n: &str,
    s: usize,
    e: usize,
    text: &str,
    norm: &Normalized,
    tmp: &mut String,
) -> Option<(usize, usize, usize, Option<&'static str>)> {
    let nb = n.as_bytes();
    let cand = &nb[s..e];
    let prev = s.checked_sub(1).and_then(|p| nb.get(p));
    let next = nb.get(e);
    let bounded = !is_alnum(prev) && !is_alnum(next);
    let rule = |id: &str| Some((builtin_index(id), s, e, None));
    match kind {
        Cand::Email => {
            let local = cand.split(|&b| b == b'@').next().unwrap_or(&[]);
            let dot_ok = !local.starts_with(b".")
                && !local.ends_with(b".")
                && !local.windows(2).any(|w| w == b"..");
            // The local part must not have been cut at 64 characters.
            let cut = prev.is_some_and(|p| p.is_ascii_alphanumeric() || b"._%+-".contains(p));
            (dot_ok && !cut && !is_alnum(next)).then_some(())?;
            rule("pi.email")
        }
        Cand::PrivateKey => original(text, norm, s, e, tmp)
            .starts_with("-----BEGIN ")
            .then(|| (builtin_index("secret.private-key"), s, e, None)),
        Cand::Jwt => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("eyJ") && o.contains(".eyJ")).then_some(())?;
            rule("secret.jwt")
        }
        Cand::Github => {
            let o = original(text, norm, s, e, tmp);
            (bounded && (o.starts_with("gh") || o.starts_with("github_pat_"))).then_some(())?;
            rule("secret.github-token")
        }
        Cand::SkKey => {
            let o = original(text, norm, s, e, tmp);
            if !bounded || !o.starts_with("sk-") {
                return None;
            }
            let body = &o[3..];
            let mixed = body.bytes().any(|b| b.is_ascii_digit())
                && body.bytes().any(|b| b.is_ascii_uppercase())
                && body.bytes().any(|b| b.is_ascii_lowercase());
            if !mixed {
                return None;
            }
            if o.starts_with("sk-ant-") {
                rule("secret.anthropic-key")
            } else {
                rule("secret.openai-key")
            }
        }
        Cand::LiveKey => {
            let o = original(text, norm, s, e, tmp);
            (bounded && (o.starts_with("sk_live_") || o.starts_with("rk_live_"))).then_some(())?;
            rule("secret.stripe-key")
        }
        Cand::Slack => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("xox") && o.bytes().filter(u8::is_ascii_digit).count() >= 4)
                .then_some(())?;
            rule("secret.slack-token")
        }
        Cand::Google => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("AIza")).then_some(())?;
            rule("secret.google-api-key")
        }
        Cand::Aws => {
            let o = original(text, norm, s, e, tmp);
            (bounded
                && o.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()))
            .then_some(())?;
            rule("secret.aws-access-key-id")
        }
        Cand::Aliyun => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("LTAI")).then_some(())?;
            rule("secret.aliyun-access-key-id")
        }
        Cand::Tencent => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("AKID")).then_some(())?;
            rule("secret.tencent-secret-id")
        }
        Cand::HfToken => {
            let o = original(text, norm, s, e, tmp);
            (bounded && o.starts_with("hf_")).then_some(())?;
            rule("secret.huggingface-token")
        }
        Cand::MobileSep => {
            if is_alnum(prev) || is_alnum(next) {
                return None;
            }
            let digits: Vec<u8> = cand.iter().copied().filter(u8::is_ascii_digit).collect();
            let d = if digits.len() == 13 && digits.starts_with(b"86") {
                &digits[2..]
            } else {
                &digits[..]
            };
            pi::cn_mobile(d).then_some(())?;
            rule("pi.cn-mobile")
        }
        Cand::CardGrouped => {
            if !bounded {
                return None;
            }
            let seps: Vec<u8> = cand
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_digit())
                .collect();
            if seps.windows(2).any(|w| w[0] != w[1]) {
                return None;
            }
            let digits: Vec<u8> = cand.iter().copied().filter(u8::is_ascii_digit).collect();
            let net = pi::bank_card(&digits)?;
            Some((builtin_index("pi.bank-card"), s, e, Some(net)))
        }
        Cand::Landline => {
            if is_alnum(prev) || is_alnum(next) {
                return None;
            }
            // Area code: the digits before the separator or inside the brackets.
            let area_len = cand
                .iter()
                .skip_while(|b| **b == b'(')
                .take_while(|b| b.is_ascii_digit())
                .count();
            let digits: Vec<u8> = cand.iter().copied().filter(u8::is_ascii_digit).collect();
            let expect_area = match digits.get(1) {
                Some(b'1' | b'2') => 3,
                _ => 4,
            };
            (area_len == expect_area && pi::cn_landline(&digits)).then_some(())?;
            rule("pi.cn-landline")
        }
        Cand::Ipv4 => {
            if is_alnum(prev) || prev == Some(&b'.') || is_alnum(next) {
                return None;
            }
            if next == Some(&b'.') && is_alnum(nb.get(e + 1)) {
                return None;
            }
            let ok = cand.split(|&b| b == b'.').all(|o| {
                !o.is_empty()
                    && (o.len() == 1 || o[0] != b'0')
                    && std::str::from_utf8(o)
                        .ok()
                        .and_then(|x| x.parse::<u16>().ok())
                        .is_some_and(|v| v <= 255)
            });
            ok.then_some(())?;
            rule("pi.ipv4")
        }
        Cand::Ipv6 => {
            if is_alnum(prev) || prev == Some(&b':') || is_alnum(next) || next == Some(&b':') {
                return None;
            }
            let hex = cand.iter().filter(|b| b.is_ascii_hexdigit()).count();
            if hex < 4 {
                return None;
            }
            let st = std::str::from_utf8(cand).ok()?;
            st.parse::<std::net::Ipv6Addr>().ok()?;
            rule("pi.ipv6")
        }
        Cand::LetterDoc => {
            if !bounded {
                return None;
            }
            let o = original(text, norm, s, e, tmp);
            let ob = o.as_bytes();
            if !ob.first().is_some_and(u8::is_ascii_uppercase) {
                return None;
            }
            if ob.len() == 10 && pi::tw_id(ob) {
                return rule("pi.tw-id");
            }
            if pi::hk_id(ob) {
                return rule("pi.hk-id");
            }
            if ob.contains(&b'(') {
                return None;
            }
            let id = pi::travel_document(ob)?;
            rule(id)
        }
        Cand::DigitRun => classify_digits(nb, s, e),
    }
}

/// Decides a run of digits (possibly ending in `x`) by its length and validators.
fn classify_digits(
    nb: &[u8],
    s: usize,
    e: usize,
) -> Option<(usize, usize, usize, Option<&'static str>)> {
    let cand = &nb[s..e];
    let prev = s.checked_sub(1).and_then(|p| nb.get(p));
    let next = nb.get(e);
    if is_alnum(prev) || is_alnum(next) {
        return None;
    }
    // Decimal numbers: 3.14159265358979, 12345678.90.
    let digit_before = s >= 2 && nb[s - 2].is_ascii_digit();
    if matches!(prev, Some(b'.' | b',')) && digit_before {
        return None;
    }
    if matches!(next, Some(b'.' | b',')) && nb.get(e + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let rule = |id: &str| Some((builtin_index(id), s, e, None));
    let n = cand.len();
    if cand.last() == Some(&b'x') {
        return (n == 18 && pi::cn_resident_id_18(cand))
            .then(|| (builtin_index("pi.cn-resident-id"), s, e, None));
    }
    match n {
        18 if pi::cn_resident_id_18(cand) => return rule("pi.cn-resident-id"),
        15 if pi::cn_resident_id_15(cand) => return rule("pi.cn-resident-id-15"),
        11 if cand[0] == b'1' => {
            return pi::cn_mobile(cand).then(|| (builtin_index("pi.cn-mobile"), s, e, None));
        }
        11 | 12 if cand[0] == b'0' => {
            return pi::cn_landline(cand).then(|| (builtin_index("pi.cn-landline"), s, e, None));
        }
        13 if cand.starts_with(b"86") && pi::cn_mobile(&cand[2..]) => return rule("pi.cn-mobile"),
        7 => {
            // Macau ID: 1234567(8), first digit 1, 5, 7 or 8.
            let tail = &nb[e..];
            if matches!(cand[0], b'1' | b'5' | b'7' | b'8')
                && tail.len() >= 3
                && tail[0] == b'('
                && tail[1].is_ascii_digit()
                && tail[2] == b')'
                && !is_alnum(tail.get(3))
            {
                return Some((builtin_index("pi.macau-id"), s, e + 3, None));
            }
            return None;
        }
        8 | 10 => {
            // Taiwan residents' permit: only after its name.
            let from = s.saturating_sub(48);
            let window = String::from_utf8_lossy(&nb[from..s]);
            if window.contains("台胞证") || window.contains("通行证") || window.contains("台胞證")
            {
                return rule("pi.tw-resident-permit");
            }
            return None;
        }
        _ => {}
    }
    let net = pi::bank_card(cand)?;
    Some((builtin_index("pi.bank-card"), s, e, Some(net)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(builtins: bool, terms: &[&str]) -> Detector {
        let lexicons = if terms.is_empty() {
            vec![]
        } else {
            let lib = aigov_catalog::Library::builtin().unwrap();
            let req = crate::requirements::Requirements::new(&lib).unwrap();
            let src = terms.join("\n");
            vec![crate::lexicon::parse(
                "kw",
                "kw.txt",
                src.as_bytes(),
                &req,
                Some(&lib),
                Default::default(),
            )]
        };
        Detector::new(&DetectorConfig {
            lexicons,
            builtins,
            ..Default::default()
        })
        .unwrap()
    }

    fn found(d: &Detector, text: &str) -> Vec<(String, String)> {
        let mut s = d.scratch();
        let mut out = Vec::new();
        d.scan(text, &mut s, &mut out);
        out.iter()
            .map(|h| {
                (
                    d.rules()[h.rule as usize].id.clone(),
                    text[h.start..h.end].to_string(),
                )
            })
            .collect()
    }

    fn ids(d: &Detector, text: &str) -> Vec<String> {
        found(d, text).into_iter().map(|(r, _)| r).collect()
    }

    proptest::proptest! {
        /// The word-at-a-time trigger test agrees with the byte table on any ASCII run.
        #[test]
        fn trigger_words_agree_with_the_table(run in proptest::collection::vec(0u8..0x80, 0..40)) {
            let table = run.iter().any(|&c| RUN_CLASS[usize::from(c)] == RUN_TRIGGER);
            proptest::prop_assert_eq!(has_trigger(&run), table);
        }

        /// The chunk test never hides a streak: it agrees with counting byte by byte.
        #[test]
        fn long_streaks_agree_with_the_table(
            parts in proptest::collection::vec(
                ("[aZ.]{0,20}", proptest::sample::select(&[" ", "0", "\u{e}", "@", "`", "{", "[", "/"][..])),
                0..6,
            ),
        ) {
            let run: Vec<u8> = parts.iter().flat_map(|(w, sep)| [w.as_bytes(), sep.as_bytes()].concat()).collect();
            let mut streak = 0;
            let mut table = false;
            for &c in &run {
                streak = if RUN_CLASS[usize::from(c)] == RUN_WORD { streak + 1 } else { 0 };
                table |= streak >= LONG_RUN;
            }
            proptest::prop_assert_eq!(has_long_streak(&run), table);
        }

        /// Runs end where a byte of the other kind starts, or at the end.
        #[test]
        fn runs_end_at_the_first_byte_of_the_other_kind(
            bytes in proptest::collection::vec(proptest::sample::select(&[0x41u8, 0x20, 0xE4, 0xB8][..]), 0..40),
            from in 0usize..40,
        ) {
            let from = from.min(bytes.len());
            for wide in [false, true] {
                let want = bytes[from..]
                    .iter()
                    .position(|&c| (c >= 0x80) != wide)
                    .map_or(bytes.len(), |k| from + k);
                proptest::prop_assert_eq!(run_end(&bytes, from, wide), want);
            }
        }

        /// The runs the built-in pass skips (no trigger byte, no long streak of letters) never
        /// hold a hit: skipping them finds exactly what searching every run finds.
        #[test]
        fn skipped_runs_hold_no_hit(parts in proptest::collection::vec(
            proptest::sample::select(&[
                "AKIA", "ASIA", "AIza", "LTAI", "AKID", "eyJ", "EYJ", ".", "ABCDEFGHIJ", "KLMNOP",
                "qrstuvwx", "yz", " ", "  ", "中文", "，", "Ａ", "\u{200b}", "\u{3000}", "7",
                "13812345678", "@", "mail", ":", "_", "-", "sk-", "ghp_", "hf_", "xoxb-", "(",
                ")", "/", "+86 ", "example.com", "Ｅ", "G", "H",
            ][..]),
            0..48,
        )) {
            let text = parts.concat();
            let d = det(true, &[]);
            let mut s = d.scratch();
            s.norm.set(&text);
            let (mut fast, mut all) = (Vec::new(), Vec::new());
            d.scan_builtin(&text, &mut s, &mut fast, false);
            d.scan_builtin(&text, &mut s, &mut all, true);
            proptest::prop_assert_eq!(fast, all);
        }
    }

    #[test]
    fn skipped_runs_reference_finds_letter_only_keys() {
        // A letter-only key has no trigger byte: the streak makes the run searched.
        let d = det(true, &[]);
        assert_eq!(
            ids(&d, "密钥 AKIAABCDEFGHIJKLMNOP 结束"),
            vec!["secret.aws-access-key-id".to_string()]
        );
    }

    #[test]
    fn candidates_compile_and_every_builtin_is_reachable() {
        assert_eq!(CANDIDATES.len(), 19);
        let d = det(true, &[]);
        assert_eq!(
            d.rules().len(),
            BUILTINS.iter().filter(|b| b.default_on).count()
        );
    }

    #[test]
    fn lexicon_hits_survive_evasions() {
        let d = det(false, &["炸药", "bomb"]);
        let f = found(&d, "如何制作炸\u{200b}药和ＢＯＭＢ, Bomb");
        assert_eq!(
            f,
            vec![
                ("lexicon:kw".into(), "炸\u{200b}药".into()),
                ("lexicon:kw".into(), "ＢＯＭＢ".into()),
                ("lexicon:kw".into(), "Bomb".into()),
            ]
        );
    }

    #[test]
    fn personal_information() {
        let d = det(true, &[]);
        let cases: &[(&str, &str, &str)] = &[
            (
                "身份证号11010519491231002X。",
                "pi.cn-resident-id",
                "11010519491231002X",
            ),
            ("电话：13812345678", "pi.cn-mobile", "13812345678"),
            (
                "call +86 138-1234-5678 now",
                "pi.cn-mobile",
                "+86 138-1234-5678",
            ),
            (
                "手机１３８１２３４５６７８",
                "pi.cn-mobile",
                "１３８１２３４５６７８",
            ),
            ("座机010-62345678", "pi.cn-landline", "010-62345678"),
            ("(0755)28345678", "pi.cn-landline", "(0755)28345678"),
            ("卡号6212345678901232", "pi.bank-card", "6212345678901232"),
            (
                "card 4111 1111 1111 1111.",
                "pi.bank-card",
                "4111 1111 1111 1111",
            ),
            ("mail a.b@example.com", "pi.email", "a.b@example.com"),
            ("ip 192.168.1.20 ok", "pi.ipv4", "192.168.1.20"),
            (
                "ip 2001:db8::8a2e:370:7334 ok",
                "pi.ipv6",
                "2001:db8::8a2e:370:7334",
            ),
            ("护照E12345678", "pi.cn-passport", "E12345678"),
            ("回乡证H12345678", "pi.hk-macau-permit", "H12345678"),
            (
                "港澳通行证C12345678",
                "pi.cn-hk-macau-travel-permit",
                "C12345678",
            ),
            ("赴台L12345678", "pi.cn-taiwan-travel-permit", "L12345678"),
            ("台胞证号码：12345678", "pi.tw-resident-permit", "12345678"),
            ("HKID A123456(3)", "pi.hk-id", "A123456(3)"),
            ("澳门身份证1234567(8)", "pi.macau-id", "1234567(8)"),
            ("TW A123456789", "pi.tw-id", "A123456789"),
        ];
        for (text, rule, span) in cases {
            let f = found(&d, text);
            assert_eq!(f, vec![(rule.to_string(), span.to_string())], "in {text:?}");
        }
    }

    #[test]
    fn wrong_check_digits_are_not_reported() {
        let d = det(true, &[]);
        for text in [
            "身份证号110105194912310021。",
            "卡号6212345678901234",
            "card 4111 1111 1111 1112.",
            "HKID A123456(4)",
            "TW A123456788",
            "12012345678",
            "3.141592653589793",
            "version 1.2.3.400",
            "time 12:30:45",
            "E12345678X",
            "ID110105194912310021",
            "ghp_short",
        ] {
            assert!(
                ids(&d, text).is_empty(),
                "{text:?} gave {:?}",
                found(&d, text)
            );
        }
    }

    #[test]
    fn secrets() {
        let d = det(true, &[]);
        let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z";
        assert_eq!(
            ids(&d, &format!("key={key} end")),
            vec!["secret.openai-key"]
        );
        assert_eq!(
            ids(&d, "AKIAIOSFODNN7EXAMPLE"),
            vec!["secret.aws-access-key-id"]
        );
        assert!(ids(&d, "akiaiosfodnn7example").is_empty());
        assert_eq!(
            ids(&d, "-----BEGIN RSA PRIVATE KEY-----"),
            vec!["secret.private-key"]
        );
        assert_eq!(
            ids(&d, "token ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghij"),
            vec!["secret.github-token"]
        );
    }

    #[test]
    fn rule_selection_and_custom_rules() {
        let err = Detector::new(&DetectorConfig {
            builtins: true,
            disable: vec!["pi.nope".into()],
            ..Default::default()
        })
        .unwrap_err();
        assert!(err.to_string().contains("unknown rule"), "{err}");
        let d = Detector::new(&DetectorConfig {
            builtins: true,
            enable: vec!["pi.cn-resident-id-15".into()],
            disable: vec!["pi.email".into()],
            custom: vec![CustomRule {
                name: "order".into(),
                category: None,
                pattern: r"订单号\d{4}".into(),
            }],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            ids(&d, "旧证110105491231002 a@b.com 订单号1234"),
            vec!["pi.cn-resident-id-15", "custom:order"]
        );
        let e = Detector::new(&DetectorConfig {
            custom: vec![CustomRule {
                name: "bad".into(),
                category: None,
                pattern: "(".into(),
            }],
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.to_string().contains("custom:bad"), "{e}");
    }
}
