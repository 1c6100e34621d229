//! Rules as data: default framework adoption, item applicability, candidate-risk
//! identification, lifecycle stage gates and incident reporting deadlines, read from the YAML
//! files under `rules/` at the repository root (embedded in the binary).
//!
//! Conditions test *facts* about a system — its own fields and what its linked models and
//! datasets say — so every decision can say why it was taken.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::methodology::Label;

/// Facts about a system: `system.system_type`, `system.tc260_roles`, `datasets.personal_information` …
pub type Facts = BTreeMap<String, Value>;

/// A condition over facts.
///
/// YAML forms: a map of `fact: value` (all must hold; a list-valued fact holds when it contains
/// the value; a list of values holds when the fact equals any of them), or `{all: [...]}`,
/// `{any: [...]}`, `{not: ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    /// All must hold.
    All {
        /// The conditions.
        all: Vec<Condition>,
    },
    /// At least one must hold.
    Any {
        /// The conditions.
        any: Vec<Condition>,
    },
    /// Must not hold.
    Not {
        /// The condition.
        not: Box<Condition>,
    },
    /// `fact: value` pairs, all of which must hold.
    Facts(BTreeMap<String, Value>),
}

fn fact_holds(actual: Option<&Value>, want: &Value) -> bool {
    let Some(actual) = actual else {
        return want.is_null() || want == &Value::Bool(false);
    };
    match (actual, want) {
        (Value::Array(items), Value::Array(any_of)) => any_of.iter().any(|w| items.contains(w)),
        (Value::Array(items), w) => items.contains(w),
        (a, Value::Array(any_of)) => any_of.contains(a),
        (a, w) => a == w,
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Condition {
    /// Whether it holds, with the facts that decided it.
    pub fn eval(&self, facts: &Facts) -> (bool, Vec<String>) {
        match self {
            Condition::All { all } => {
                let mut why = Vec::new();
                for c in all {
                    let (ok, w) = c.eval(facts);
                    if !ok {
                        return (false, w);
                    }
                    why.extend(w);
                }
                (true, why)
            }
            Condition::Any { any } => {
                let mut why = Vec::new();
                for c in any {
                    let (ok, w) = c.eval(facts);
                    if ok {
                        return (true, w);
                    }
                    why.extend(w);
                }
                (false, why)
            }
            Condition::Not { not } => {
                let (ok, w) = not.eval(facts);
                (!ok, w.into_iter().map(|x| format!("not ({x})")).collect())
            }
            Condition::Facts(m) => {
                let mut why = Vec::new();
                for (k, want) in m {
                    let actual = facts.get(k);
                    let ok = fact_holds(actual, want);
                    let got = actual.map(show).unwrap_or_else(|| "unset".into());
                    why.push(format!("{k} is {got}"));
                    if !ok {
                        return (false, vec![format!("{k} is {got}, not {}", show(want))]);
                    }
                }
                (true, why)
            }
        }
    }

    /// The fact names the condition reads.
    pub fn facts_used(&self, out: &mut Vec<String>) {
        match self {
            Condition::All { all } => all.iter().for_each(|c| c.facts_used(out)),
            Condition::Any { any } => any.iter().for_each(|c| c.facts_used(out)),
            Condition::Not { not } => not.facts_used(out),
            Condition::Facts(m) => out.extend(m.keys().cloned()),
        }
    }
}

/// Every fact name aigov computes; rules may only use these.
pub const KNOWN_FACTS: &[&str] = &[
    "system.system_type",
    "system.public_facing",
    "system.key_area",
    "system.sector",
    "system.lifecycle_stage",
    "system.status",
    "system.tc260_roles",
    "system.modalities",
    "datasets.personal_information",
    "datasets.sensitive_personal_information",
    "datasets.count",
    "models.count",
    "models.third_party",
    "endpoints.count",
];

/// A catalog to adopt by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdoptionRule {
    /// `catalog@version`.
    pub catalog: String,
    /// When.
    pub when: Condition,
    /// Why.
    pub reason: Label,
}

/// Which items of a catalog a rule selects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Select {
    /// Items below (or at) this ref.
    #[serde(default)]
    pub under: Option<String>,
    /// Items of these kinds.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Items with this tag.
    #[serde(default)]
    pub tag: Option<String>,
}

/// An applicability rule: selected items apply when `when` holds (always without `when`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicabilityRule {
    /// Which items.
    pub select: Select,
    /// When they apply.
    #[serde(default)]
    pub when: Option<Condition>,
    /// Why they apply.
    pub reason: Label,
    /// Why they do not, when `when` fails.
    #[serde(default)]
    pub otherwise: Option<Label>,
    /// `false`: the selected items never apply (with `reason` as the reason).
    #[serde(default = "yes")]
    pub applies: bool,
}

fn yes() -> bool {
    true
}

/// Applicability rules of one catalog id (or `*` for any catalog without its own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogApplicability {
    /// Catalog id, or `*`.
    pub catalog: String,
    /// Item kinds that go on a checklist at all.
    pub checklist_kinds: Vec<String>,
    /// Rules, first match wins.
    pub rules: Vec<ApplicabilityRule>,
}

/// A candidate-risk rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentificationRule {
    /// Stable id (`processes-personal-information`).
    pub id: String,
    /// When.
    pub when: Condition,
    /// Taxonomy items raised, as `catalog@version:ref`.
    pub raises: Vec<String>,
    /// Why.
    pub reason: Label,
}

/// A stage gate: what must hold before a system moves to `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StageGate {
    /// The stage being entered (`deploy`).
    pub to: String,
    /// Open risks graded above this level (by current assessment) must be accepted or closed.
    #[serde(default)]
    pub max_unaccepted_level: Option<String>,
    /// Every adopted catalog's checklist must have at least this share (percent) of applicable
    /// items with a status other than `not-started`.
    #[serde(default)]
    pub min_checklist_coverage: Option<f64>,
    /// Every open risk must have a current assessment.
    #[serde(default)]
    pub require_assessed: bool,
    /// No open incident at or above this severity.
    #[serde(default)]
    pub max_open_incident_severity: Option<String>,
}

/// Reporting deadline per severity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReportingRule {
    /// `low`, `medium`, `high` or `critical`.
    pub severity: String,
    /// Hours after detection by which the incident must be reported; none when unset.
    #[serde(default)]
    pub report_within_hours: Option<i64>,
}

/// All rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Default adoption.
    pub adoption: Vec<AdoptionRule>,
    /// Applicability per catalog.
    pub applicability: Vec<CatalogApplicability>,
    /// Candidate risks.
    pub identification: Vec<IdentificationRule>,
    /// Default stage gates.
    pub stage_gates: Vec<StageGate>,
    /// Default reporting deadlines (organisation policy, not regulation).
    pub incident_reporting: Vec<ReportingRule>,
}

/// The built-in rule files.
pub const BUILTIN_FILES: [(&str, &str); 5] = [
    (
        "rules/adoption.yaml",
        include_str!("../../../rules/adoption.yaml"),
    ),
    (
        "rules/applicability.yaml",
        include_str!("../../../rules/applicability.yaml"),
    ),
    (
        "rules/identification.yaml",
        include_str!("../../../rules/identification.yaml"),
    ),
    (
        "rules/stage-gates.yaml",
        include_str!("../../../rules/stage-gates.yaml"),
    ),
    (
        "rules/incident-reporting.yaml",
        include_str!("../../../rules/incident-reporting.yaml"),
    ),
];

/// Errors in rule files.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct RuleError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

fn parse<T: for<'de> Deserialize<'de>>(file: &str, src: &str) -> Result<T, RuleError> {
    serde_saphyr::from_str(src).map_err(|e| RuleError {
        file: file.into(),
        message: e
            .to_string()
            .lines()
            .next()
            .unwrap_or("invalid")
            .to_string(),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdoptionFile {
    adoption: Vec<AdoptionRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplicabilityFile {
    applicability: Vec<CatalogApplicability>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdentificationFile {
    identification: Vec<IdentificationRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GatesFile {
    stage_gates: Vec<StageGate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportingFile {
    incident_reporting: Vec<ReportingRule>,
}

impl Rules {
    /// The built-in rules.
    pub fn builtin() -> Result<Rules, RuleError> {
        Rules::from_files(&BUILTIN_FILES.map(|(f, s)| (f.to_string(), s.to_string())))
    }

    /// The built-in rules with the files present in `dir` (same names, without the `rules/`
    /// prefix) in their place. Every file is checked as the built-in ones are.
    pub fn load_dir(dir: &std::path::Path) -> Result<Rules, RuleError> {
        if !dir.is_dir() {
            return Err(RuleError {
                file: dir.display().to_string(),
                message: "is not a directory".into(),
            });
        }
        let mut files = BUILTIN_FILES.map(|(f, s)| (f.to_string(), s.to_string()));
        for (name, src) in files.iter_mut() {
            let base = name.trim_start_matches("rules/");
            let p = dir.join(base);
            if p.exists() {
                *src = std::fs::read_to_string(&p).map_err(|e| RuleError {
                    file: p.display().to_string(),
                    message: e.to_string(),
                })?;
                *name = p.display().to_string();
            }
        }
        Rules::from_files(&files)
    }

    fn from_files(files: &[(String, String); 5]) -> Result<Rules, RuleError> {
        let [a, b, c, d, e] = files;
        let rules = Rules {
            adoption: parse::<AdoptionFile>(&a.0, &a.1)?.adoption,
            applicability: parse::<ApplicabilityFile>(&b.0, &b.1)?.applicability,
            identification: parse::<IdentificationFile>(&c.0, &c.1)?.identification,
            stage_gates: parse::<GatesFile>(&d.0, &d.1)?.stage_gates,
            incident_reporting: parse::<ReportingFile>(&e.0, &e.1)?.incident_reporting,
        };
        rules.check()?;
        Ok(rules)
    }

    /// Every fact used is known; ids are unique.
    pub fn check(&self) -> Result<(), RuleError> {
        let mut used = Vec::new();
        for r in &self.adoption {
            r.when.facts_used(&mut used);
        }
        for a in &self.applicability {
            for r in &a.rules {
                if let Some(w) = &r.when {
                    w.facts_used(&mut used);
                }
            }
        }
        for (i, r) in self.identification.iter().enumerate() {
            r.when.facts_used(&mut used);
            if self.identification[..i].iter().any(|o| o.id == r.id) {
                return Err(RuleError {
                    file: "rules/identification.yaml".into(),
                    message: format!("rule id {} is used twice", r.id),
                });
            }
        }
        if let Some(f) = used.iter().find(|f| !KNOWN_FACTS.contains(&f.as_str())) {
            return Err(RuleError {
                file: "rules/".into(),
                message: format!("unknown fact {f:?} (known: {})", KNOWN_FACTS.join(", ")),
            });
        }
        Ok(())
    }

    /// The applicability rules for a catalog id.
    pub fn applicability_for(&self, catalog: &str) -> Option<&CatalogApplicability> {
        self.applicability
            .iter()
            .find(|a| a.catalog == catalog)
            .or_else(|| self.applicability.iter().find(|a| a.catalog == "*"))
    }

    /// The hours within which an incident of `severity` must be reported.
    pub fn report_within(&self, severity: &str) -> Option<i64> {
        self.incident_reporting
            .iter()
            .find(|r| r.severity == severity)
            .and_then(|r| r.report_within_hours)
    }
}
