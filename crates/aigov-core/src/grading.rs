//! A grading questionnaire in the style of TC260's five-level grading: four factors — the kind
//! of object harmed (客体类别), the degree of impact (影响程度), its scope (影响范围) and
//! recoverability (可恢复性) — yield one of the five grades with the reasons.
//!
//! The four factors are those reported for Framework 3.0's Appendix 1 (a secondary source;
//! see `catalogs/README.md` rules on provenance). How they combine here — points for degree,
//! scope and recoverability, with floors set by the object category — is aigov's own scheme,
//! stated in every result so nobody mistakes it for the official formula.

use serde::{Deserialize, Serialize};

/// The five grades, lowest first (ids of the default methodology's levels).
pub const GRADES: [&str; 5] = ["low", "general", "significant", "major", "extremely-severe"];

/// Who or what would be harmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ObjectCategory {
    /// Lawful rights and interests of individuals or organisations.
    IndividualsOrOrganisations,
    /// Social order and the public interest.
    PublicInterest,
    /// National security.
    NationalSecurity,
}

/// How badly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Degree {
    /// Slight.
    Slight,
    /// Noticeable but limited.
    General,
    /// Serious.
    Serious,
    /// Especially serious.
    EspeciallySerious,
}

/// How far the harm reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Scope {
    /// A single person or organisation.
    Individual,
    /// A group of people or organisations.
    Group,
    /// A region or an industry.
    RegionOrIndustry,
    /// Nationwide or across borders.
    Nationwide,
}

/// Whether the harm can be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Recoverability {
    /// Quickly and fully.
    Recoverable,
    /// With considerable effort.
    WithEffort,
    /// Only partly, or with great difficulty.
    HardToRecover,
    /// Not at all.
    Irreversible,
}

/// The questionnaire's answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answers {
    /// Who or what would be harmed.
    pub object_category: ObjectCategory,
    /// How badly.
    pub degree: Degree,
    /// How far.
    pub scope: Scope,
    /// Whether it can be undone.
    pub recoverability: Recoverability,
}

/// A grade with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Grade {
    /// One of [`GRADES`].
    pub grade: String,
    /// Index in [`GRADES`] (0 = low).
    pub rank: usize,
    /// Why, step by step (English).
    pub reasons: Vec<String>,
    /// The scheme used.
    pub method: String,
}

fn points_degree(d: Degree) -> usize {
    match d {
        Degree::Slight => 1,
        Degree::General => 2,
        Degree::Serious => 3,
        Degree::EspeciallySerious => 4,
    }
}

fn points_scope(s: Scope) -> usize {
    match s {
        Scope::Individual => 1,
        Scope::Group => 2,
        Scope::RegionOrIndustry => 3,
        Scope::Nationwide => 4,
    }
}

fn points_recovery(r: Recoverability) -> usize {
    match r {
        Recoverability::Recoverable => 1,
        Recoverability::WithEffort => 2,
        Recoverability::HardToRecover => 3,
        Recoverability::Irreversible => 4,
    }
}

/// Grades the answers.
pub fn grade(a: &Answers) -> Grade {
    let (d, s, r) = (
        points_degree(a.degree),
        points_scope(a.scope),
        points_recovery(a.recoverability),
    );
    let total = d + s + r;
    let mut rank = match total {
        0..=4 => 0,
        5..=6 => 1,
        7..=8 => 2,
        9..=10 => 3,
        _ => 4,
    };
    let mut reasons = vec![format!(
        "degree of impact {:?} ({d}) + scope {:?} ({s}) + recoverability {:?} ({r}) = {total} points → {}",
        a.degree, a.scope, a.recoverability, GRADES[rank]
    )];
    let floor = match a.object_category {
        ObjectCategory::IndividualsOrOrganisations => 0,
        ObjectCategory::PublicInterest => 2,
        ObjectCategory::NationalSecurity => 3,
    };
    if floor > rank {
        reasons.push(format!(
            "harm to {:?} is graded at least {}",
            a.object_category, GRADES[floor]
        ));
        rank = floor;
    }
    if a.object_category == ObjectCategory::NationalSecurity
        && a.degree == Degree::EspeciallySerious
        && rank < 4
    {
        reasons
            .push("especially serious harm to national security is graded extremely-severe".into());
        rank = 4;
    }
    Grade {
        grade: GRADES[rank].to_string(),
        rank,
        reasons,
        method: "aigov grading scheme over the four factors reported for TC260 Framework 3.0 Appendix 1 (object category, degree of impact, scope, recoverability); the weights and floors are aigov's, not the official formula".into(),
    }
}
