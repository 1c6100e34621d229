//! Suites: the prompts a run sends and what each one expects of the target.
//!
//! A suite is a file (YAML, or JSONL with a header line) of items. An item has an id, a prompt
//! or a multi-turn conversation, a language, citations of catalog items
//! (`gbt-45654@2025:A.1 d)`), an expected behaviour and tags. The format is documented in
//! `suites/README.md`. [`load`] parses and validates files (every problem with file, line and
//! item id; citations are resolved against the catalog library), [`import`] turns users' own
//! question banks (CSV or JSONL with a column mapping) into suites, and [`builtin`] holds the
//! starter suites embedded from `suites/`.

pub mod builtin;
pub mod import;
pub mod load;

use aigov_catalog::{Lang, Text};
use serde::{Deserialize, Serialize};

pub use load::{parse_suite, suite_to_jsonl};

/// Who speaks in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The user (the prober).
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The name used by chat APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The speaker.
    pub role: Role,
    /// The text.
    pub content: String,
}

impl Message {
    /// A user message.
    pub fn user(s: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: s.into(),
        }
    }

    /// An assistant message.
    pub fn assistant(s: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: s.into(),
        }
    }
}

/// What an item expects of the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Expect {
    /// Must refuse (a harmful request). Failing it is an attack success.
    Refuse,
    /// Must answer (a benign request on a sensitive-looking topic). Refusing is a false refusal.
    Answer,
    /// Must not reveal the item's canary (system-prompt leak, prompt injection).
    NoLeak,
    /// Must not output personal information (ID numbers, phone numbers, e-mail, bank cards).
    NoPii,
    /// The answer must equal one of `answers` (after trimming and case folding).
    Exact,
    /// The answer must contain one of `answers` (case-insensitive).
    Contains,
    /// The answer must match `pattern`.
    Regex,
    /// Judged by an LLM judge against the item's `rubric`.
    Rubric,
}

impl Expect {
    /// Every value, in documentation order.
    pub const ALL: [Expect; 8] = [
        Expect::Refuse,
        Expect::Answer,
        Expect::NoLeak,
        Expect::NoPii,
        Expect::Exact,
        Expect::Contains,
        Expect::Regex,
        Expect::Rubric,
    ];

    /// The name as written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Refuse => "refuse",
            Expect::Answer => "answer",
            Expect::NoLeak => "no-leak",
            Expect::NoPii => "no-pii",
            Expect::Exact => "exact",
            Expect::Contains => "contains",
            Expect::Regex => "regex",
            Expect::Rubric => "rubric",
        }
    }

    /// Parses a name, accepting common synonyms of imported banks (`must-refuse`, `应拒答`,
    /// `非拒答` …).
    pub fn parse(s: &str) -> Option<Expect> {
        let t = s.trim().to_lowercase();
        if let Some(e) = Expect::ALL.into_iter().find(|e| e.as_str() == t) {
            return Some(e);
        }
        Some(match t.as_str() {
            "must-refuse" | "must_refuse" | "refusal" | "应拒答" | "拒答" | "应当拒答" => {
                Expect::Refuse
            }
            "must-answer" | "must_answer" | "non-refusal" | "非拒答" | "不应拒答" | "应回答" => {
                Expect::Answer
            }
            "no_leak" | "canary" => Expect::NoLeak,
            "no_pii" | "pii" => Expect::NoPii,
            "judge" => Expect::Rubric,
            _ => return None,
        })
    }

    /// Adversarial expectations: failing one is an attack success.
    pub fn is_attack(self) -> bool {
        matches!(self, Expect::Refuse | Expect::NoLeak | Expect::NoPii)
    }

    /// Expectations under which a refusal is a false refusal.
    pub fn should_answer(self) -> bool {
        matches!(
            self,
            Expect::Answer | Expect::Exact | Expect::Contains | Expect::Regex
        )
    }

    /// Expectations checked against known answers (accuracy).
    pub fn is_answer_check(self) -> bool {
        matches!(self, Expect::Exact | Expect::Contains | Expect::Regex)
    }
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated suite item.
#[derive(Debug, Clone)]
pub struct Item {
    /// Unique within the suite.
    pub id: String,
    /// Language of the prompt.
    pub lang: Lang,
    /// System prompt, if any.
    pub system: Option<String>,
    /// The conversation to send; never empty, the last message is the user's.
    pub messages: Vec<Message>,
    /// What the target should do.
    pub expect: Expect,
    /// Accepted answers (`exact`, `contains`).
    pub answers: Vec<String>,
    /// The answer pattern (`regex`).
    pub pattern: Option<regex::Regex>,
    /// The secret that must not leak (`no-leak`).
    pub canary: Option<String>,
    /// The rubric for an LLM judge (required for `rubric`, optional otherwise).
    pub rubric: Option<String>,
    /// Catalog citations, normalised to `id@version:ref`.
    pub cites: Vec<String>,
    /// Free tags (`topic:history`, `attack:injection` …).
    pub tags: Vec<String>,
    /// A free note (why the item is there).
    pub note: Option<String>,
    /// Line in the source file.
    pub line: Option<u64>,
    /// Digest of what is sent (system prompt and messages), part of the attempt id.
    pub input_digest: String,
}

impl Item {
    /// The text of the last user message.
    pub fn prompt(&self) -> &str {
        self.messages
            .last()
            .map(|m| m.content.as_str())
            .unwrap_or("")
    }

    /// Whether the item carries the tag.
    pub fn has_tag(&self, t: &str) -> bool {
        self.tags.iter().any(|x| x == t)
    }
}

/// A validated suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Suite id (lowercase letters, digits, '-').
    pub id: String,
    /// Title in zh and/or en.
    pub title: Text,
    /// What the suite is for.
    pub description: Option<Text>,
    /// True for the starter suites aigov ships: representative, not a compliant bank.
    pub starter: bool,
    /// The items.
    pub items: Vec<Item>,
    /// Where it came from (`builtin:<file>` or the path given).
    pub origin: String,
    /// SHA-256 of the normalised JSONL form ([`suite_to_jsonl`]).
    pub digest: String,
}

impl Suite {
    /// The item with this id.
    pub fn item(&self, id: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.id == id)
    }
}
