//! What every page shares: the page context ([`Ctx`]), errors as pages ([`UiError`]),
//! rendering, formatting, pagination, CSV downloads and the SVG chart models.

use aigov_core::access::{Perm, allowed};
use aigov_core::methodology::Methodology;
use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::i18n::{self, Lang};
use super::{ErrorPage, assets};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Principal, Via};

/// An error a page handler returns; the UI guard renders it as a page in the user's language.
#[derive(Debug)]
pub struct UiError(pub ApiError);

/// Result of a page handler.
pub type UiResult = Result<Response, UiError>;

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError(e)
    }
}

impl From<aigov_store::StoreError> for UiError {
    fn from(e: aigov_store::StoreError) -> Self {
        UiError(e.into())
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        tracing::error!(error = %e, "template failed");
        UiError(ApiError::new("internal", "a page failed to render"))
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let mut r = self.0.status().into_response();
        r.extensions_mut().insert(ErrorPage(self.0));
        r
    }
}

/// A navigation entry.
#[derive(Debug, Clone)]
pub struct NavItem {
    /// Link.
    pub href: &'static str,
    /// Label key.
    pub key: &'static str,
    /// The current section.
    pub active: bool,
}

/// What every page knows: language, who is logged in, the CSRF token, the current URL.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The language.
    pub lang: Lang,
    /// The caller (None on the login page).
    pub principal: Option<Principal>,
    /// The session's CSRF token ("" for token callers).
    pub csrf: String,
    /// Path and query of this request.
    pub here: String,
    /// Left navigation.
    pub nav: Vec<NavItem>,
    /// Product name.
    pub product: &'static str,
}

const NAV: &[(&str, &str, Option<Perm>)] = &[
    ("/", "nav.dashboard", Some(Perm::RiskRead)),
    ("/systems", "nav.systems", Some(Perm::InventoryRead)),
    ("/risks", "nav.risks", Some(Perm::RiskRead)),
    ("/incidents", "nav.incidents", Some(Perm::RiskRead)),
    ("/evidence", "nav.evidence", Some(Perm::RiskRead)),
    ("/catalogs", "nav.catalogs", Some(Perm::CatalogRead)),
    ("/crosswalk", "nav.crosswalk", Some(Perm::CatalogRead)),
    ("/reports", "nav.reports", Some(Perm::RiskRead)),
    ("/audit", "nav.audit", Some(Perm::AuditRead)),
    ("/admin/users", "nav.admin", Some(Perm::UserRead)),
    ("/admin/tokens", "nav.tokens", Some(Perm::TokenOwn)),
];

impl Ctx {
    /// The context of a request.
    pub fn new(_state: &AppState, lang: Lang, principal: Option<Principal>, here: &str) -> Ctx {
        let path = here.split('?').next().unwrap_or("/");
        let nav = match &principal {
            None => Vec::new(),
            Some(p) => NAV
                .iter()
                .filter(|(_, _, perm)| perm.is_none_or(|x| allowed(p.role, x)))
                .map(|(href, key, _)| NavItem {
                    href,
                    key,
                    active: if *href == "/" {
                        path == "/"
                    } else {
                        path == *href || path.starts_with(&format!("{href}/"))
                    },
                })
                .collect(),
        };
        let csrf = match principal.as_ref().map(|p| &p.via) {
            Some(Via::Session { csrf, .. }) => csrf.clone(),
            _ => String::new(),
        };
        Ctx {
            lang,
            principal,
            csrf,
            here: here.to_string(),
            nav,
            product: "aigov",
        }
    }

    /// A UI string.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::t(self.lang, key)
    }

    /// A UI string with `{name}` placeholders.
    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        i18n::tf(self.lang, key, args)
    }

    /// A UI string with one `{name}` placeholder.
    pub fn t1(&self, key: &str, name: &str, value: impl std::fmt::Display) -> String {
        i18n::tf(self.lang, key, &[(name, &value.to_string())])
    }

    /// An RFC 3339 time as shown (`2026-11-21 09:00`, UTC).
    pub fn when(&self, t: &str) -> String {
        when(t)
    }

    /// The label of an enumerated word.
    pub fn w<'a>(&self, group: &str, value: &'a str) -> &'a str {
        i18n::word(self.lang, group, value)
    }

    /// The caller, who must hold `perm` (403 page otherwise).
    pub fn require(&self, perm: Perm) -> Result<&Principal, UiError> {
        let p = self
            .principal
            .as_ref()
            .ok_or_else(|| UiError(ApiError::new("unauthenticated", "log in to see this page")))?;
        p.require(perm)?;
        Ok(p)
    }

    /// Whether the caller holds `perm` (to show or hide actions; handlers check again).
    pub fn can(&self, perm: &str) -> bool {
        let Some(p) = &self.principal else {
            return false;
        };
        aigov_core::access::Perm::ALL
            .iter()
            .find(|x| x.as_str() == perm)
            .is_some_and(|x| allowed(p.role, *x))
    }

    /// The actor the audit log will record for this caller.
    pub fn actor(&self) -> String {
        self.principal
            .as_ref()
            .map(|p| p.actor())
            .unwrap_or_default()
    }

    /// Display name of the caller.
    pub fn user_name(&self) -> &str {
        self.principal
            .as_ref()
            .map(|p| p.user.display_name.as_str())
            .unwrap_or("")
    }

    /// The caller's role label.
    pub fn role_label(&self) -> &str {
        self.principal
            .as_ref()
            .map(|p| i18n::word(self.lang, "role", p.role.as_str()))
            .unwrap_or("")
    }

    /// The language-switch link to `lang`, coming back here.
    pub fn lang_href(&self, lang: &str) -> String {
        format!("/lang/{lang}?next={}", urlencode(&self.here))
    }

    /// The HTML `lang` attribute.
    pub fn html_lang(&self) -> &'static str {
        self.lang.html()
    }

    /// Whether the UI is in English.
    pub fn is_en(&self) -> bool {
        self.lang == Lang::En
    }

    /// An asset URL.
    pub fn asset(&self, name: &str) -> &'static str {
        assets::url(name)
    }

    /// Text of a bilingual label in this language, falling back to the other with a marker.
    pub fn pick(&self, zh: Option<&str>, en: Option<&str>) -> (String, bool) {
        pick(self.lang, zh, en)
    }
}

/// The text in `lang`, else the other language (`true`: fell back).
pub fn pick(lang: Lang, zh: Option<&str>, en: Option<&str>) -> (String, bool) {
    let (first, second) = match lang {
        Lang::Zh => (zh, en),
        Lang::En => (en, zh),
    };
    match (
        first.filter(|s| !s.is_empty()),
        second.filter(|s| !s.is_empty()),
    ) {
        (Some(s), _) => (s.to_string(), false),
        (None, Some(s)) => (s.to_string(), true),
        (None, None) => (String::new(), false),
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, UiError> {
        let lang = parts.extensions.get::<Lang>().copied().unwrap_or(Lang::Zh);
        let principal = parts.extensions.get::<Principal>().cloned();
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx::new(state, lang, principal, &here))
    }
}

/// Whether the request came from htmx (answer with a fragment).
#[derive(Debug, Clone, Copy)]
pub struct Htmx(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Htmx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Htmx(
            parts.headers.contains_key("hx-request") && !parts.headers.contains_key("hx-boosted"),
        ))
    }
}

/// Renders a template as an HTML response.
pub fn render<T: Template>(t: &T) -> UiResult {
    Ok(Html(t.render()?).into_response())
}

/// Renders with a status (a form re-shown with its errors: 422).
pub fn render_status<T: Template>(status: StatusCode, t: &T) -> UiResult {
    Ok((status, Html(t.render()?)).into_response())
}

/// 303 See Other to a local URL.
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `base` with the non-empty fields of `filters` as its query string.
pub fn list_href<T: serde::Serialize>(base: &str, filters: &T) -> String {
    let q = serde_urlencoded::to_string(filters).unwrap_or_default();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

/// The sort parameter after clicking the header of `key`: ascending, or descending when it
/// already sorts ascending by `key`.
pub fn toggle_sort(current: Option<&str>, key: &str) -> String {
    if current == Some(key) {
        format!("-{key}")
    } else {
        key.to_string()
    }
}

/// `(value, label)` pairs of an enumerated word group, for a `<select>`.
pub fn options<'a, T: Copy>(
    c: &'a Ctx,
    group: &str,
    all: &[T],
    name: fn(T) -> &'static str,
) -> Vec<(&'static str, &'a str)> {
    all.iter()
        .map(|x| {
            let v = name(*x);
            (v, i18n::word(c.lang, group, v))
        })
        .collect()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("x", s)])
        .map(|v| v[2..].to_string())
        .unwrap_or_default()
}

/// `12408` → `12,408`.
pub fn group(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// An RFC 3339 time as `2026-11-21 09:00` (UTC).
pub fn when(s: &str) -> String {
    if s.len() >= 16 {
        format!("{} {}", &s[..10], &s[11..16])
    } else {
        s.to_string()
    }
}

/// An error page.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTpl<'a> {
    c: &'a Ctx,
    status: u16,
    heading: String,
    detail: String,
}

/// Renders an API error as a page.
pub fn error_page(c: &Ctx, e: &ApiError) -> Response {
    let status = e.status();
    let key = format!("error.{}", e.code());
    let heading = i18n::table(c.lang)
        .get(&key)
        .cloned()
        .unwrap_or_else(|| c.t("error.generic").to_string());
    let mut detail = e.detail().to_string();
    for f in e.field_errors() {
        detail = format!(
            "{detail}\n{}: {}",
            f.field,
            i18n::field_message(c.lang, &f.message)
        );
    }
    let t = ErrorTpl {
        c,
        status: status.as_u16(),
        heading,
        detail,
    };
    match t.render() {
        Ok(h) => (status, Html(h)).into_response(),
        Err(_) => (status, e.detail().to_string()).into_response(),
    }
}

/// Field errors of a form, by field, in the user's language.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(pub Vec<(String, String)>);

impl FieldErrors {
    /// From a validation error (other errors are returned as they are).
    pub fn from_api(lang: Lang, e: ApiError) -> Result<FieldErrors, UiError> {
        if e.code() != "validation-failed" && e.code() != "bad-request" {
            return Err(UiError(e));
        }
        if e.field_errors().is_empty() {
            return Err(UiError(e));
        }
        Ok(FieldErrors(
            e.field_errors()
                .iter()
                .map(|f| (f.field.clone(), i18n::field_message(lang, &f.message)))
                .collect(),
        ))
    }

    /// The message for `field`, or "".
    pub fn get(&self, field: &str) -> &str {
        self.0
            .iter()
            .find(|(f, _)| f == field || f.starts_with(&format!("{field}[")))
            .map(|(_, m)| m.as_str())
            .unwrap_or("")
    }

    /// Whether there are any.
    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

/// "1–50 of 12,408" with previous/next links.
#[derive(Debug, Clone)]
pub struct Pager {
    /// The range text.
    pub text: String,
    /// Previous page.
    pub prev: Option<String>,
    /// Next page.
    pub next: Option<String>,
}

impl Pager {
    /// For a page at `offset` of `limit` over `total`; `href(offset)` builds links.
    pub fn new(
        c: &Ctx,
        offset: i64,
        limit: i64,
        shown: usize,
        total: i64,
        href: impl Fn(i64) -> String,
    ) -> Pager {
        let text = if total == 0 {
            c.tf("pager.none", &[])
        } else {
            c.tf(
                "pager.range",
                &[
                    ("from", &group(offset + 1)),
                    ("to", &group(offset + shown as i64)),
                    ("total", &group(total)),
                ],
            )
        };
        Pager {
            text,
            prev: (offset > 0).then(|| href((offset - limit).max(0))),
            next: (offset + (shown as i64) < total).then(|| href(offset + limit)),
        }
    }
}

/// A CSV download. Cells that a spreadsheet would run as formulas are prefixed with `'`.
pub fn csv_response(name: &str, header_row: &[&str], rows: &[Vec<String>]) -> UiResult {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| UiError(ApiError::new("internal", format!("csv: {e}")));
    w.write_record(header_row).map_err(io)?;
    for r in rows {
        w.write_record(r.iter().map(|c| csv_cell(c))).map_err(io)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| UiError(ApiError::new("internal", format!("csv: {e}"))))?;
    let mut r = body.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"aigov-{name}.csv\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(r)
}

fn csv_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

/// Whether `?format=csv` was asked for.
pub fn wants_csv(format: &Option<String>) -> bool {
    format.as_deref() == Some("csv")
}

/// An empty string as None.
pub fn some(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
}

/// A grade badge: label and methodology colour.
#[derive(Debug, Clone)]
pub struct Grade {
    /// Level id (`major`), or "" when not assessed.
    pub id: String,
    /// Label in the UI language.
    pub label: String,
    /// Colour (`#ef6c00`).
    pub color: String,
}

/// The grade of a level id on a methodology.
pub fn grade(c: &Ctx, m: &Methodology, level: Option<&str>) -> Grade {
    match level.and_then(|l| m.level_by_id(l)) {
        Some(l) => Grade {
            id: l.id.clone(),
            label: l.label.get(c.lang.code()).to_string(),
            color: l.color.clone(),
        },
        None => Grade {
            id: level.unwrap_or("").to_string(),
            label: match level {
                Some(l) => l.to_string(),
                None => c.t("risk.unassessed").to_string(),
            },
            color: "#9e9e9e".into(),
        },
    }
}

/// A heat-map cell.
#[derive(Debug, Clone)]
pub struct HeatCell {
    /// Left.
    pub x: usize,
    /// Top.
    pub y: usize,
    /// Fill.
    pub fill: String,
    /// Count text.
    pub count: String,
    /// Whether the count is zero (drawn faint).
    pub zero: bool,
    /// Text colour.
    pub ink: &'static str,
    /// Tooltip.
    pub title: String,
}

/// The likelihood × impact heat map.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Cells.
    pub cells: Vec<HeatCell>,
    /// Likelihood labels, top (highest) to bottom, with their y.
    pub rows: Vec<(usize, String)>,
    /// Impact labels, left to right, with their x.
    pub cols: Vec<(usize, String)>,
    /// Width.
    pub width: usize,
    /// Height.
    pub height: usize,
    /// Chart title.
    pub title: String,
    /// Axis names.
    pub x_axis: String,
    /// Axis names.
    pub y_axis: String,
}

/// Cell size of the heat map.
pub const CELL: usize = 56;
const LEFT: usize = 110;

/// Builds the heat map from `(likelihood, impact, count)` on methodology `m`.
pub fn heatmap(c: &Ctx, m: &Methodology, counts: &[(i64, i64, i64)]) -> Heatmap {
    let nl = m.likelihood.len();
    let ni = m.impact.len();
    let mut cells = Vec::new();
    for l in 1..=nl {
        for i in 1..=ni {
            let n = counts
                .iter()
                .filter(|(a, b, _)| *a == l as i64 && *b == i as i64)
                .map(|x| x.2)
                .sum::<i64>();
            let level = m.level(l, i);
            let fill = level
                .map(|x| x.color.clone())
                .unwrap_or_else(|| "#9e9e9e".into());
            let label = level
                .map(|x| x.label.get(c.lang.code()).to_string())
                .unwrap_or_default();
            cells.push(HeatCell {
                x: LEFT + (i - 1) * CELL,
                y: 8 + (nl - l) * CELL,
                ink: if n == 0 || fill.eq_ignore_ascii_case("#f9a825") {
                    "#1a1a1a"
                } else {
                    "#ffffff"
                },
                fill,
                count: group(n),
                zero: n == 0,
                title: c.tf(
                    "chart.heat_cell",
                    &[
                        ("likelihood", m.likelihood[l - 1].label.get(c.lang.code())),
                        ("impact", m.impact[i - 1].label.get(c.lang.code())),
                        ("level", &label),
                        ("count", &group(n)),
                    ],
                ),
            });
        }
    }
    Heatmap {
        cells,
        rows: (1..=nl)
            .map(|l| {
                (
                    8 + (nl - l) * CELL + CELL / 2 + 4,
                    m.likelihood[l - 1].label.get(c.lang.code()).to_string(),
                )
            })
            .collect(),
        cols: (1..=ni)
            .map(|i| {
                (
                    LEFT + (i - 1) * CELL + CELL / 2,
                    m.impact[i - 1].label.get(c.lang.code()).to_string(),
                )
            })
            .collect(),
        width: LEFT + ni * CELL + 8,
        height: 8 + nl * CELL + 44,
        title: c.t("chart.heatmap").to_string(),
        x_axis: c.t("chart.impact").to_string(),
        y_axis: c.t("chart.likelihood").to_string(),
    }
}

/// One bar of a bar chart.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Label.
    pub label: String,
    /// Value text.
    pub value: String,
    /// Bar width in px.
    pub width: usize,
    /// Top.
    pub y: usize,
    /// Fill.
    pub fill: String,
    /// Link (a filtered list).
    pub href: String,
}

/// A horizontal bar chart.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Chart title.
    pub title: String,
    /// Id for aria.
    pub id: &'static str,
    /// Bars.
    pub bars: Vec<Bar>,
    /// Height.
    pub height: usize,
}

/// Longest bar.
pub const BAR_MAX: usize = 220;

/// Bars for `(label, value, fill, href)`, scaled to the largest value (or to `max`).
pub fn bars(
    title: String,
    id: &'static str,
    items: Vec<(String, f64, String, String, String)>,
    max: Option<f64>,
) -> Bars {
    let top = max.unwrap_or_else(|| items.iter().map(|x| x.1).fold(0.0, f64::max));
    let bars: Vec<Bar> = items
        .into_iter()
        .enumerate()
        .map(|(k, (label, v, value, fill, href))| Bar {
            label,
            value,
            width: if top <= 0.0 {
                0
            } else {
                ((v / top) * BAR_MAX as f64).round() as usize
            },
            y: 4 + k * 26,
            fill,
            href,
        })
        .collect();
    Bars {
        title,
        id,
        height: 8 + bars.len() * 26,
        bars,
    }
}
