//! Risk-assessment methodologies as data: likelihood and impact scales, an N×M grid that maps
//! them to risk levels, level labels (zh/en) and colours, and the appetite per level (who must
//! approve an acceptance, and within how many days treatment must start).
//!
//! The default is aigov's own 5×5 matrix over the five grades 低 / 一般 / 较大 / 重大 / 特别重大
//! (low, general, significant, major, extremely severe). The grid and appetite values are
//! aigov defaults, not figures from a standard; organisations set their own.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::access::Role;
use crate::error::FieldError;

/// Text in both languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Label {
    /// Chinese.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
    /// English.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Label {
    /// A label in both languages.
    pub fn new(zh: &str, en: &str) -> Label {
        Label {
            zh: Some(zh.into()),
            en: Some(en.into()),
        }
    }

    /// The text in `zh` or `en`, falling back to the other.
    pub fn get(&self, lang: &str) -> &str {
        let (a, b) = if lang == "zh" {
            (&self.zh, &self.en)
        } else {
            (&self.en, &self.zh)
        };
        a.as_deref().or(b.as_deref()).unwrap_or("")
    }
}

/// One step of a likelihood or impact scale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScaleStep {
    /// Label.
    pub label: Label,
    /// What the step means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
}

/// A risk level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Level {
    /// Stable id (`major`).
    pub id: String,
    /// Label (`重大` / `Major`).
    pub label: Label,
    /// Display colour (`#e65100`); always shown with the label.
    pub color: String,
    /// Who must approve accepting a risk at this level.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub approver: Role,
    /// Days after assessment within which treatment must start.
    pub treatment_days: i64,
}

/// A methodology.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Methodology {
    /// Stable id (`aigov-5x5`).
    pub id: String,
    /// Name.
    pub name: Label,
    /// What it is and where it comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<Label>,
    /// Likelihood steps, lowest first (value 1 = the first step).
    pub likelihood: Vec<ScaleStep>,
    /// Impact steps, lowest first.
    pub impact: Vec<ScaleStep>,
    /// Levels, lowest first.
    pub levels: Vec<Level>,
    /// `grid[likelihood - 1][impact - 1]` = index into `levels`.
    pub grid: Vec<Vec<usize>>,
}

impl Methodology {
    /// Every problem, by field.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 80
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            e.push(FieldError::new(
                "id",
                "must be lowercase letters, digits and '-' (e.g. org-4x4)",
            ));
        }
        if self.name.zh.is_none() && self.name.en.is_none() {
            e.push(FieldError::new("name", "needs zh or en"));
        }
        for (field, n) in [
            ("likelihood", self.likelihood.len()),
            ("impact", self.impact.len()),
            ("levels", self.levels.len()),
        ] {
            if !(2..=10).contains(&n) {
                e.push(FieldError::new(
                    field,
                    format!("must have 2 to 10 steps (has {n})"),
                ));
            }
        }
        for (i, l) in self.levels.iter().enumerate() {
            if self.levels[..i].iter().any(|o| o.id == l.id) {
                e.push(FieldError::new(
                    format!("levels[{i}].id"),
                    format!("{} is used twice", l.id),
                ));
            }
            let hex = l.color.len() == 7
                && l.color.starts_with('#')
                && l.color[1..].bytes().all(|b| b.is_ascii_hexdigit());
            if !hex {
                e.push(FieldError::new(
                    format!("levels[{i}].color"),
                    "must be #rrggbb",
                ));
            }
            if !(0..=3650).contains(&l.treatment_days) {
                e.push(FieldError::new(
                    format!("levels[{i}].treatment_days"),
                    "must be 0 to 3650",
                ));
            }
            if l.label.zh.is_none() && l.label.en.is_none() {
                e.push(FieldError::new(
                    format!("levels[{i}].label"),
                    "needs zh or en",
                ));
            }
        }
        if self.grid.len() != self.likelihood.len() {
            e.push(FieldError::new(
                "grid",
                format!(
                    "needs one row per likelihood step ({} rows, has {})",
                    self.likelihood.len(),
                    self.grid.len()
                ),
            ));
        }
        for (r, row) in self.grid.iter().enumerate() {
            if row.len() != self.impact.len() {
                e.push(FieldError::new(
                    format!("grid[{r}]"),
                    format!("needs one cell per impact step ({})", self.impact.len()),
                ));
            }
            for (c, v) in row.iter().enumerate() {
                if *v >= self.levels.len() {
                    e.push(FieldError::new(
                        format!("grid[{r}][{c}]"),
                        format!("level index {v} is out of range (0..{})", self.levels.len()),
                    ));
                }
            }
        }
        e
    }

    /// The level of `likelihood` × `impact` (1-based).
    pub fn level(&self, likelihood: usize, impact: usize) -> Option<&Level> {
        let i = *self
            .grid
            .get(likelihood.checked_sub(1)?)?
            .get(impact.checked_sub(1)?)?;
        self.levels.get(i)
    }

    /// A level by id.
    pub fn level_by_id(&self, id: &str) -> Option<&Level> {
        self.levels.iter().find(|l| l.id == id)
    }

    /// The rank of a level (0 = lowest).
    pub fn rank(&self, id: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.id == id)
    }

    /// Maps a 1-based value from a scale of `from_n` steps onto one of `to_n` steps by relative
    /// position, used when a system switches methodology.
    pub fn rescale(value: usize, from_n: usize, to_n: usize) -> usize {
        if from_n <= 1 || to_n <= 1 {
            return 1;
        }
        let pos = (value.clamp(1, from_n) - 1) as f64 / (from_n - 1) as f64;
        (pos * (to_n - 1) as f64).round() as usize + 1
    }
}

/// aigov's default 5×5 methodology with the five grades.
pub fn default_methodology() -> Methodology {
    let step = |zh: &str, en: &str| ScaleStep {
        label: Label::new(zh, en),
        description: None,
    };
    let level = |id: &str, zh: &str, en: &str, color: &str, approver: Role, days: i64| Level {
        id: id.into(),
        label: Label::new(zh, en),
        color: color.into(),
        approver,
        treatment_days: days,
    };
    Methodology {
        id: "aigov-5x5".into(),
        name: Label::new("aigov 默认 5×5 矩阵", "aigov default 5×5 matrix"),
        description: Some(Label::new(
            "可能性 × 影响 映射到五个等级（低、一般、较大、重大、特别重大）。矩阵与风险偏好取值为 aigov 的默认设置，并非标准规定，请按组织要求调整。",
            "Likelihood × impact mapped to five grades (low, general, significant, major, extremely severe). The grid and appetite values are aigov defaults, not figures from a standard; adjust them to your organisation.",
        )),
        likelihood: vec![
            step("极少", "Rare"),
            step("不太可能", "Unlikely"),
            step("可能", "Possible"),
            step("很可能", "Likely"),
            step("几乎肯定", "Almost certain"),
        ],
        impact: vec![
            step("轻微", "Negligible"),
            step("较小", "Minor"),
            step("中等", "Moderate"),
            step("严重", "Major"),
            step("灾难性", "Severe"),
        ],
        levels: vec![
            level("low", "低", "Low", "#2e7d32", Role::RiskManager, 180),
            level(
                "general",
                "一般",
                "General",
                "#1565c0",
                Role::RiskManager,
                90,
            ),
            level(
                "significant",
                "较大",
                "Significant",
                "#f9a825",
                Role::RiskManager,
                30,
            ),
            level("major", "重大", "Major", "#ef6c00", Role::Admin, 14),
            level(
                "extremely-severe",
                "特别重大",
                "Extremely severe",
                "#c62828",
                Role::Admin,
                7,
            ),
        ],
        // Rows: likelihood 1..5; columns: impact 1..5.
        grid: vec![
            vec![0, 0, 1, 1, 2],
            vec![0, 1, 1, 2, 3],
            vec![1, 1, 2, 3, 3],
            vec![1, 2, 3, 3, 4],
            vec![2, 3, 3, 4, 4],
        ],
    }
}

/// Converts a CISO Assistant risk matrix (`{urn?, name, probability: [..], impact: [..],
/// risk: [{abbreviation, name, hexcolor}], grid: [[..]]}`, either bare or under `json_definition`
/// or `fields`) into a methodology. Approvers and treatment days are not in that format; they
/// take `approver` and `treatment_days` for every level, to be adjusted afterwards.
pub fn from_ciso_matrix(
    v: &Value,
    id: &str,
    approver: Role,
    treatment_days: i64,
) -> Result<Methodology, Vec<FieldError>> {
    let m = v
        .get("json_definition")
        .or_else(|| v.get("fields"))
        .unwrap_or(v);
    let m = if let Some(s) = m.as_str() {
        serde_json::from_str::<Value>(s).map_err(|e| {
            vec![FieldError::new(
                "json_definition",
                format!("is not JSON: {e}"),
            )]
        })?
    } else {
        m.clone()
    };
    let text = |x: &Value| -> Label {
        let name = x
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| x.get("abbreviation").and_then(Value::as_str))
            .unwrap_or("")
            .to_string();
        let mut l = Label {
            zh: None,
            en: Some(name),
        };
        if let Some(tr) = x
            .get("translations")
            .and_then(|t| t.get("zh"))
            .and_then(|z| z.get("name"))
            .and_then(Value::as_str)
        {
            l.zh = Some(tr.to_string());
        }
        l
    };
    let list = |k: &str| -> Result<Vec<Value>, Vec<FieldError>> {
        m.get(k)
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| vec![FieldError::new(k, "is missing (expected a list)")])
    };
    let prob = list("probability")?;
    let imp = list("impact")?;
    let risk = list("risk")?;
    let grid_v = m
        .get("grid")
        .and_then(Value::as_array)
        .ok_or_else(|| vec![FieldError::new("grid", "is missing")])?;
    let mut grid = Vec::new();
    for (r, row) in grid_v.iter().enumerate() {
        let cells = row
            .as_array()
            .ok_or_else(|| vec![FieldError::new(format!("grid[{r}]"), "is not a list")])?;
        let mut out = Vec::new();
        for (c, x) in cells.iter().enumerate() {
            out.push(x.as_u64().ok_or_else(|| {
                vec![FieldError::new(
                    format!("grid[{r}][{c}]"),
                    "is not a level index",
                )]
            })? as usize);
        }
        grid.push(out);
    }
    let palette = ["#2e7d32", "#1565c0", "#f9a825", "#ef6c00", "#c62828"];
    let levels = risk
        .iter()
        .enumerate()
        .map(|(i, x)| Level {
            id: x
                .get("abbreviation")
                .and_then(Value::as_str)
                .map(|a| {
                    a.to_lowercase()
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                        .collect::<String>()
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("level-{i}")),
            label: text(x),
            color: x
                .get("hexcolor")
                .and_then(Value::as_str)
                .filter(|h| h.len() == 7 && h.starts_with('#'))
                .map(str::to_lowercase)
                .unwrap_or_else(|| palette[i.min(palette.len() - 1)].to_string()),
            approver,
            treatment_days,
        })
        .collect();
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .or_else(|| m.get("name").and_then(Value::as_str))
        .unwrap_or(id);
    let meth = Methodology {
        id: id.to_string(),
        name: Label {
            zh: None,
            en: Some(name.to_string()),
        },
        description: Some(Label {
            zh: None,
            en: Some("Imported from a CISO Assistant risk matrix".into()),
        }),
        likelihood: prob
            .iter()
            .map(|x| ScaleStep {
                label: text(x),
                description: x.get("description").and_then(Value::as_str).map(|d| Label {
                    zh: None,
                    en: Some(d.into()),
                }),
            })
            .collect(),
        impact: imp
            .iter()
            .map(|x| ScaleStep {
                label: text(x),
                description: x.get("description").and_then(Value::as_str).map(|d| Label {
                    zh: None,
                    en: Some(d.into()),
                }),
            })
            .collect(),
        levels,
        grid,
    };
    let errs = meth.validate();
    if errs.is_empty() { Ok(meth) } else { Err(errs) }
}
