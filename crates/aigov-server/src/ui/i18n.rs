//! The UI's strings in zh-CN and en: two complete tables (`i18n/zh-CN.toml`, `i18n/en.toml`,
//! embedded) and one lookup, [`t`]. A test keeps the two tables' keys identical and checks
//! that every key the templates and the UI code use exists.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// The cookie that holds the chosen language.
pub const LANG_COOKIE: &str = "aigov_lang";

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// 简体中文.
    Zh,
    /// English.
    En,
}

impl Lang {
    /// Both languages.
    pub const ALL: [Lang; 2] = [Lang::Zh, Lang::En];

    /// `zh` / `en` (cookie and URL value).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Parses `zh` / `en` (also `zh-CN`).
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" | "zh-CN" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }
}

const ZH: &str = include_str!("../../i18n/zh-CN.toml");
const EN: &str = include_str!("../../i18n/en.toml");

fn parse(src: &str) -> BTreeMap<String, String> {
    let table: toml::Table = src.parse().unwrap_or_default();
    table
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
        .collect()
}

/// The table of a language.
pub fn table(lang: Lang) -> &'static BTreeMap<String, String> {
    static T: OnceLock<[BTreeMap<String, String>; 2]> = OnceLock::new();
    let t = T.get_or_init(|| [parse(ZH), parse(EN)]);
    match lang {
        Lang::Zh => &t[0],
        Lang::En => &t[1],
    }
}

/// The string for `key` in `lang`; the key itself when missing (a test forbids that).
pub fn t(lang: Lang, key: &str) -> &str {
    match table(lang).get(key) {
        Some(s) => s.as_str(),
        None => {
            tracing::warn!(key, "missing UI string");
            key
        }
    }
}

/// `t` with `{name}` placeholders filled in.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key).to_string();
    for (k, v) in args {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// The label of an enumerated word (`risk_status` + `identified`), or the word itself.
pub fn word<'a>(lang: Lang, group: &str, value: &'a str) -> &'a str {
    match table(lang).get(&format!("{group}.{value}")) {
        Some(s) => s.as_str(),
        None => value,
    }
}

/// Translates a store or API field-error message when the table knows it (`err.<message>`).
pub fn field_message(lang: Lang, message: &str) -> String {
    match table(lang).get(&format!("err.{message}")) {
        Some(s) => s.clone(),
        None => message.to_string(),
    }
}

/// The enumerated word groups the UI labels, with their values (for the completeness test).
pub fn word_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    use aigov_core::inventory::{Stage, SystemStatus, SystemType};
    use aigov_core::risk::{
        AcceptanceStatus, AssessmentKind, Basis, ChecklistStatus, ControlStatus, IncidentStatus,
        RiskStatus, Severity, Treatment,
    };
    fn all<T: Copy>(xs: &[T], f: fn(T) -> &'static str) -> Vec<&'static str> {
        xs.iter().map(|x| f(*x)).collect()
    }
    vec![
        ("risk_status", all(RiskStatus::ALL, RiskStatus::as_str)),
        (
            "checklist_status",
            all(ChecklistStatus::ALL, ChecklistStatus::as_str),
        ),
        ("stage", all(Stage::ALL, Stage::as_str)),
        ("system_type", all(SystemType::ALL, SystemType::as_str)),
        (
            "system_status",
            all(SystemStatus::ALL, SystemStatus::as_str),
        ),
        ("treatment", all(Treatment::ALL, Treatment::as_str)),
        (
            "assessment_kind",
            all(AssessmentKind::ALL, AssessmentKind::as_str),
        ),
        ("basis", all(Basis::ALL, Basis::as_str)),
        (
            "control_status",
            all(ControlStatus::ALL, ControlStatus::as_str),
        ),
        (
            "acceptance_status",
            all(AcceptanceStatus::ALL, AcceptanceStatus::as_str),
        ),
        ("severity", all(Severity::ALL, Severity::as_str)),
        (
            "incident_status",
            all(IncidentStatus::ALL, IncidentStatus::as_str),
        ),
        (
            "role",
            aigov_core::access::Role::ALL
                .iter()
                .map(|r| r.as_str())
                .collect(),
        ),
    ]
}
