//! Methodologies, the grading questionnaire, rule conditions and rule files, risk status moves.

use aigov_core::access::Role;
use aigov_core::grading::{Answers, Degree, ObjectCategory, Recoverability, Scope, grade};
use aigov_core::methodology::{Methodology, default_methodology, from_ciso_matrix};
use aigov_core::risk::{RiskStatus, manual_transition};
use aigov_core::rules::{Condition, Facts, Rules};
use serde_json::json;

#[test]
fn the_default_methodology_is_valid_and_monotone() {
    let m = default_methodology();
    assert!(m.validate().is_empty(), "{:?}", m.validate());
    let labels: Vec<&str> = m
        .levels
        .iter()
        .map(|l| l.label.zh.as_deref().unwrap())
        .collect();
    assert_eq!(labels, ["低", "一般", "较大", "重大", "特别重大"]);
    assert_eq!(m.level(1, 1).unwrap().id, "low");
    assert_eq!(m.level(5, 5).unwrap().id, "extremely-severe");
    assert!(m.level(0, 1).is_none() && m.level(6, 1).is_none());
    // More likely or more severe is never graded lower.
    for l in 1..=5 {
        for i in 1..=5 {
            let r = m.rank(&m.level(l, i).unwrap().id).unwrap();
            if l < 5 {
                assert!(m.rank(&m.level(l + 1, i).unwrap().id).unwrap() >= r);
            }
            if i < 5 {
                assert!(m.rank(&m.level(l, i + 1).unwrap().id).unwrap() >= r);
            }
        }
    }
    // Appetite: the two top grades need an admin to accept.
    assert_eq!(m.level_by_id("major").unwrap().approver, Role::Admin);
    assert_eq!(
        m.level_by_id("significant").unwrap().approver,
        Role::RiskManager
    );
    assert_eq!(
        (
            Methodology::rescale(5, 5, 3),
            Methodology::rescale(1, 5, 3),
            Methodology::rescale(3, 5, 3)
        ),
        (3, 1, 2)
    );
}

#[test]
fn methodology_validation_names_every_bad_field() {
    let mut m = default_methodology();
    m.id = "Bad Id".into();
    m.levels[1].color = "blue".into();
    m.levels[2].id = "low".into();
    m.grid[0][0] = 9;
    m.grid.pop();
    let fields: Vec<String> = m.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "id",
            "levels[1].color",
            "levels[2].id",
            "grid",
            "grid[0][0]"
        ]
    );
}

#[test]
fn a_ciso_assistant_risk_matrix_imports_as_a_methodology() {
    // The shape of a CISO Assistant risk-matrix library object (abridged, written here).
    let matrix = json!({
        "urn": "urn:intuitem:risk:matrix:test-3x3",
        "name": "Test 3x3",
        "json_definition": {
            "probability": [{"abbreviation": "L", "name": "Low"}, {"abbreviation": "M", "name": "Medium"}, {"abbreviation": "H", "name": "High", "translations": {"zh": {"name": "高"}}}],
            "impact": [{"abbreviation": "L", "name": "Low"}, {"abbreviation": "M", "name": "Medium"}, {"abbreviation": "H", "name": "High"}],
            "risk": [{"abbreviation": "L", "name": "Low", "hexcolor": "#00FF00"}, {"abbreviation": "M", "name": "Medium", "hexcolor": "#FFFF00"}, {"abbreviation": "H", "name": "High", "hexcolor": "#FF0000"}],
            "grid": [[0, 0, 1], [0, 1, 2], [1, 2, 2]]
        }
    });
    let m = from_ciso_matrix(&matrix, "ciso-3x3", Role::RiskManager, 30).unwrap();
    assert_eq!(m.name.en.as_deref(), Some("Test 3x3"));
    assert_eq!(m.level(3, 3).unwrap().id, "h");
    assert_eq!(m.levels[0].color, "#00ff00");
    assert_eq!(m.likelihood[2].label.zh.as_deref(), Some("高"));
    // Broken input names the field.
    let e = from_ciso_matrix(
        &json!({"probability": [], "impact": [], "risk": []}),
        "x",
        Role::Admin,
        30,
    )
    .unwrap_err();
    assert_eq!(e[0].field, "grid");
    let e = from_ciso_matrix(&json!({"probability": [{"name": "a"}], "impact": [{"name": "a"}, {"name": "b"}], "risk": [{"name": "a"}, {"name": "b"}], "grid": [[0, 3]]}), "x", Role::Admin, 30).unwrap_err();
    let fields: Vec<String> = e.into_iter().map(|e| e.field).collect();
    assert!(
        fields.contains(&"likelihood".to_string()) && fields.contains(&"grid[0][1]".to_string()),
        "{fields:?}"
    );
}

#[test]
fn the_grading_questionnaire_grades_and_says_why() {
    let a = |o, d, s, r| Answers {
        object_category: o,
        degree: d,
        scope: s,
        recoverability: r,
    };
    use Degree::*;
    use ObjectCategory::*;
    let g = grade(&a(
        IndividualsOrOrganisations,
        Slight,
        Scope::Individual,
        Recoverability::Recoverable,
    ));
    assert_eq!((g.grade.as_str(), g.rank), ("low", 0));
    let g = grade(&a(
        IndividualsOrOrganisations,
        EspeciallySerious,
        Scope::Nationwide,
        Recoverability::Irreversible,
    ));
    assert_eq!(g.grade, "extremely-severe");
    // Harm to the public interest is graded at least significant, with the reason stated.
    let g = grade(&a(
        PublicInterest,
        Slight,
        Scope::Individual,
        Recoverability::Recoverable,
    ));
    assert_eq!(g.grade, "significant");
    assert!(
        g.reasons.iter().any(|r| r.contains("at least")),
        "{:?}",
        g.reasons
    );
    let g = grade(&a(
        NationalSecurity,
        EspeciallySerious,
        Scope::Individual,
        Recoverability::Recoverable,
    ));
    assert_eq!(g.grade, "extremely-severe");
    assert!(g.method.contains("not the official formula"));
}

#[test]
fn conditions_hold_on_facts_and_explain_themselves() {
    let mut f = Facts::new();
    f.insert("system.system_type".into(), json!("generative"));
    f.insert("system.tc260_roles".into(), json!(["service-provider"]));
    f.insert("endpoints.count".into(), json!(2));
    let c: Condition = serde_saphyr::from_str(
        "{system.system_type: generative, system.tc260_roles: service-provider}",
    )
    .unwrap();
    let (ok, why) = c.eval(&f);
    assert!(ok);
    assert_eq!(
        why,
        [
            "system.system_type is generative",
            "system.tc260_roles is [\"service-provider\"]"
        ]
    );
    let c: Condition = serde_saphyr::from_str("{system.system_type: [agent, embodied]}").unwrap();
    let (ok, why) = c.eval(&f);
    assert!(!ok && why[0].contains("not"), "{why:?}");
    let c: Condition = serde_saphyr::from_str("{all: [{not: {endpoints.count: 0}}, {any: [{system.key_area: true}, {system.system_type: generative}]}]}").unwrap();
    assert!(c.eval(&f).0);
    let empty: Condition = serde_saphyr::from_str("{}").unwrap();
    assert!(empty.eval(&Facts::new()).0);
}

#[test]
fn rule_files_are_checked_and_can_be_replaced_from_a_directory() {
    let builtin = Rules::builtin().unwrap();
    assert!(builtin.identification.len() >= 10);
    assert_eq!(builtin.report_within("critical"), Some(24));
    let d = tempfile::tempdir().unwrap();
    // A replaced file wins; the others stay built in.
    std::fs::write(
        d.path().join("incident-reporting.yaml"),
        "incident_reporting:\n  - severity: critical\n    report_within_hours: 4\n",
    )
    .unwrap();
    let r = Rules::load_dir(d.path()).unwrap();
    assert_eq!(r.report_within("critical"), Some(4));
    assert_eq!(r.report_within("high"), None);
    assert_eq!(r.identification, builtin.identification);
    // An unknown fact is refused, naming it.
    std::fs::write(d.path().join("identification.yaml"), "identification:\n  - id: x\n    when: {system.colour: red}\n    raises: []\n    reason: {en: x}\n").unwrap();
    let e = Rules::load_dir(d.path()).unwrap_err();
    assert!(e.to_string().contains("system.colour"), "{e}");
    // Malformed YAML names the file.
    std::fs::write(d.path().join("identification.yaml"), "identification: [[[").unwrap();
    let e = Rules::load_dir(d.path()).unwrap_err();
    assert!(e.file.ends_with("identification.yaml"), "{e}");
    assert!(Rules::load_dir(&d.path().join("missing")).is_err());
}

#[test]
fn risks_move_by_hand_only_where_the_loop_allows() {
    use RiskStatus::*;
    assert!(manual_transition(Assessed, Closed).is_ok());
    assert!(manual_transition(Closed, Identified).is_ok());
    let e = manual_transition(Assessed, Accepted).unwrap_err();
    assert!(e.contains("acceptance request"), "{e}");
    assert!(
        manual_transition(Identified, Treating)
            .unwrap_err()
            .contains("treatment")
    );
    assert!(
        manual_transition(Closed, Closed)
            .unwrap_err()
            .contains("already")
    );
}
