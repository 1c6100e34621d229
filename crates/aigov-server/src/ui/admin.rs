//! Administration: users and roles (with the permission matrix), API tokens, and the
//! methodology editor with a live matrix preview (htmx).

use aigov_core::access::{Perm, Role, allowed};
use aigov_core::methodology::Methodology;
use aigov_store::users::NewUser;
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::view::{self, Ctx, FieldErrors, UiError, UiResult, redirect, render, render_status};
use crate::AppState;
use crate::api::tokens::revoke_checked;

/// A user row.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Username.
    pub username: String,
    /// Role word.
    pub role_id: &'static str,
    /// Version (for the change form).
    pub version: i64,
    /// Display name.
    pub display_name: String,
    /// Role label.
    pub role: String,
    /// Disabled.
    pub disabled: bool,
}

/// The new-user form.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct UserForm {
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub display_name: String,
    /// Role.
    #[serde(default)]
    pub role: String,
    /// Initial password.
    #[serde(default)]
    pub password: String,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersTpl<'a> {
    c: &'a Ctx,
    users: Vec<UserRow>,
    roles: Vec<(&'static str, &'a str)>,
    matrix: Vec<(&'static str, Vec<bool>)>,
    v: UserForm,
    e: FieldErrors,
}

async fn users_page(
    s: &AppState,
    c: &Ctx,
    status: StatusCode,
    v: UserForm,
    e: FieldErrors,
) -> UiResult {
    let users = s
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| UserRow {
            role: c.w("role", u.role.as_str()).to_string(),
            role_id: u.role.as_str(),
            version: u.version,
            username: u.username,
            display_name: u.display_name,
            disabled: u.disabled,
        })
        .collect();
    render_status(
        status,
        &UsersTpl {
            c,
            users,
            roles: Role::ALL
                .iter()
                .map(|r| (r.as_str(), c.w("role", r.as_str())))
                .collect(),
            matrix: Perm::ALL
                .iter()
                .map(|p| {
                    (
                        p.as_str(),
                        Role::ALL.iter().map(|r| allowed(*r, *p)).collect(),
                    )
                })
                .collect(),
            v,
            e,
        },
    )
}

/// `GET /admin/users`.
pub async fn users(State(s): State<AppState>, c: Ctx) -> UiResult {
    c.require(Perm::UserRead)?;
    let v = UserForm {
        role: "viewer".into(),
        ..Default::default()
    };
    users_page(&s, &c, StatusCode::OK, v, FieldErrors::default()).await
}

/// `POST /admin/users`.
pub async fn create_user(State(s): State<AppState>, c: Ctx, Form(f): Form<UserForm>) -> UiResult {
    let p = c.require(Perm::UserManage)?;
    let Some(role) = Role::parse(&f.role) else {
        let e = FieldErrors(vec![(
            "role".into(),
            format!(
                "must be one of {}",
                Role::ALL.map(|r| r.as_str()).join(", ")
            ),
        )]);
        return users_page(&s, &c, StatusCode::UNPROCESSABLE_ENTITY, f, e).await;
    };
    let nu = NewUser {
        username: f.username.trim().to_string(),
        display_name: Some(f.display_name.trim().to_string()).filter(|x| !x.is_empty()),
        role,
        password: f.password.clone(),
    };
    match s.store.create_user(&p.actor(), nu).await {
        Ok(_) => Ok(redirect("/admin/users")),
        Err(e) => {
            let errors = FieldErrors::from_api(c.lang, e.into())?;
            let f = UserForm {
                password: String::new(),
                ..f
            };
            users_page(&s, &c, StatusCode::UNPROCESSABLE_ENTITY, f, errors).await
        }
    }
}

/// A change of a user's role or state.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct UserChange {
    /// New role.
    #[serde(default)]
    pub role: String,
    /// `disabled` / `active`.
    #[serde(default)]
    pub state: String,
    /// Version read.
    #[serde(default)]
    pub version: i64,
}

/// `POST /admin/users/{username}`: changes a user's role and whether they may log in.
pub async fn update_user(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(f): Form<UserChange>,
) -> UiResult {
    let p = c.require(Perm::UserManage)?;
    let role = crate::api::parse_field(
        "role",
        &f.role,
        Role::parse,
        Role::ALL.map(|r| r.as_str()).join(", "),
    )?;
    let patch = aigov_store::users::UserPatch {
        role: Some(role),
        disabled: Some(f.state == "disabled"),
        display_name: None,
    };
    s.store
        .update_user(&p.actor(), &id, patch, f.version)
        .await?;
    Ok(redirect("/admin/users"))
}

/// A token row.
#[derive(Debug, Clone)]
pub struct TokenRow {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Owner.
    pub username: String,
    /// Role label.
    pub role: String,
    /// Expires.
    pub expires: String,
    /// Last used.
    pub last_used: String,
    /// Revoked.
    pub revoked: bool,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensTpl<'a> {
    c: &'a Ctx,
    tokens: Vec<TokenRow>,
}

/// `GET /admin/tokens`: yours, or everyone's with `token_manage`.
pub async fn tokens(State(s): State<AppState>, c: Ctx) -> UiResult {
    let p = c.require(Perm::TokenOwn)?;
    let all = allowed(p.role, Perm::TokenManage);
    let list = s
        .store
        .list_tokens(if all { None } else { Some(&p.user.id) })
        .await?;
    let tokens = list
        .into_iter()
        .map(|t| TokenRow {
            role: c.w("role", t.role.as_str()).to_string(),
            id: t.id,
            name: t.name,
            username: t.username,
            expires: view::when(&t.expires_at),
            last_used: t
                .last_used_at
                .as_deref()
                .map(view::when)
                .unwrap_or_default(),
            revoked: t.revoked_at.is_some(),
        })
        .collect();
    render(&TokensTpl { c: &c, tokens })
}

/// `POST /admin/tokens/{id}/revoke`.
pub async fn revoke_token(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> UiResult {
    let p = c.require(Perm::TokenOwn)?;
    revoke_checked(&s, p, &id).await?;
    Ok(redirect("/admin/tokens"))
}

/// A cell of the matrix editor.
#[derive(Debug, Clone)]
pub struct MatrixCell {
    /// Likelihood (1-based).
    pub l: usize,
    /// Impact (1-based).
    pub i: usize,
    /// Level index.
    pub level: usize,
}

/// The matrix preview (htmx fragment).
#[derive(Template, Debug)]
#[template(path = "fragments/matrix.html")]
pub struct MatrixTpl {
    /// The chart.
    pub h: view::Heatmap,
    /// Validation problems.
    pub problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_methodologies.html")]
struct MethTpl<'a> {
    c: &'a Ctx,
    list: Vec<(String, String, bool)>,
    id: String,
    name: String,
    levels: Vec<(usize, String, String, String, i64)>,
    rows: Vec<(String, Vec<MatrixCell>)>,
    impact: Vec<String>,
    editable: bool,
    h: view::Heatmap,
    error: String,
}

/// Query of the methodology page.
#[derive(Debug, Default, Deserialize)]
pub struct MethParams {
    /// Methodology id.
    #[serde(default)]
    pub id: Option<String>,
}

/// A preview of `m`: every cell with its level's colour and label (counts left empty).
fn preview(c: &Ctx, m: &Methodology) -> MatrixTpl {
    let mut h = view::heatmap(c, m, &[]);
    for cell in &mut h.cells {
        cell.count = String::new();
        cell.zero = false;
    }
    MatrixTpl {
        problems: m
            .validate()
            .into_iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect(),
        h,
    }
}

/// `GET /admin/methodologies`.
pub async fn methodologies(
    State(s): State<AppState>,
    c: Ctx,
    Query(q): Query<MethParams>,
) -> UiResult {
    c.require(Perm::RiskRead)?;
    let id = q.id.unwrap_or_else(|| "aigov-5x5".into());
    let m = s.store.get_methodology(&id).await?;
    meth_page(&s, &c, &m, String::new(), StatusCode::OK).await
}

/// The methodology page showing `m` (possibly edited, not yet saved) and an error if any.
async fn meth_page(
    s: &AppState,
    c: &Ctx,
    m: &Methodology,
    error: String,
    status: StatusCode,
) -> UiResult {
    let all = s.store.list_methodologies().await?;
    let lc = c.lang.code();
    render_status(
        status,
        &MethTpl {
            list: all
                .iter()
                .map(|x| (x.id.clone(), x.name.get(lc).to_string(), x.id == m.id))
                .collect(),
            id: m.id.clone(),
            name: m.name.get(lc).to_string(),
            levels: m
                .levels
                .iter()
                .enumerate()
                .map(|(k, l)| {
                    (
                        k,
                        l.label.get(lc).to_string(),
                        l.color.clone(),
                        c.w("role", l.approver.as_str()).to_string(),
                        l.treatment_days,
                    )
                })
                .collect(),
            rows: (1..=m.likelihood.len())
                .rev()
                .map(|l| {
                    (
                        m.likelihood[l - 1].label.get(lc).to_string(),
                        (1..=m.impact.len())
                            .map(|i| MatrixCell {
                                l,
                                i,
                                level: m.grid[l - 1][i - 1],
                            })
                            .collect(),
                    )
                })
                .collect(),
            impact: m
                .impact
                .iter()
                .map(|x| x.label.get(lc).to_string())
                .collect(),
            editable: c.can("methodology_manage"),
            h: preview(c, m).h,
            error,
            c,
        },
    )
}

/// The methodology named by the form's `id`, with the form's `cell_<l>_<i>` = level index
/// applied to its grid (cells out of range are ignored).
async fn edited(s: &AppState, fields: &[(String, String)]) -> Result<Methodology, UiError> {
    let id = field(fields, "id").unwrap_or("aigov-5x5");
    let mut m = s.store.get_methodology(id).await?;
    for (k, v) in fields {
        let Some(rest) = k.strip_prefix("cell_") else {
            continue;
        };
        let Some((l, i)) = rest.split_once('_') else {
            continue;
        };
        if let (Ok(l), Ok(i), Ok(v)) = (l.parse::<usize>(), i.parse::<usize>(), v.parse::<usize>())
            && (1..=m.grid.len()).contains(&l)
            && (1..=m.grid[l - 1].len()).contains(&i)
        {
            m.grid[l - 1][i - 1] = v;
        }
    }
    Ok(m)
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `POST /admin/methodologies`: saves the edited matrix as a new methodology (`new_id`,
/// `new_name`); methodologies are versions, never changed in place, so risks graded under
/// one keep their meaning. Problems come back on the page.
pub async fn save_methodology(
    State(s): State<AppState>,
    c: Ctx,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult {
    let p = c.require(Perm::MethodologyManage)?.clone();
    let mut m = edited(&s, &fields).await?;
    let (Some(id), Some(name)) = (field(&fields, "new_id"), field(&fields, "new_name")) else {
        return meth_page(
            &s,
            &c,
            &m,
            c.t("admin.save_needs_id").to_string(),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    };
    m.id = id.to_string();
    m.name = aigov_core::methodology::Label::new(name, name);
    match s.store.create_methodology(&p.actor(), &m).await {
        Ok(m) => Ok(redirect(&format!(
            "/admin/methodologies?id={}",
            view::urlencode(&m.id)
        ))),
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            if e.status().is_client_error() {
                meth_page(&s, &c, &m, e.detail().to_string(), e.status()).await
            } else {
                Err(e.into())
            }
        }
    }
}

/// `POST /admin/methodologies/preview`: `id` and `cell_<l>_<i>` = level index → the matrix.
pub async fn methodology_preview(
    State(s): State<AppState>,
    c: Ctx,
    Form(fields): Form<Vec<(String, String)>>,
) -> UiResult {
    c.require(Perm::MethodologyManage)?;
    let m = edited(&s, &fields).await?;
    render(&preview(&c, &m))
}
