//! The web UI over HTTP: every page per role (status, key content, permission), the login
//! redirect, login CSRF, CSRF on forms, the CSP and the absence of inline scripts and
//! styles, zh and en, escaping, CSV downloads, the register's paging and bulk actions, forms
//! with field errors, assets, the string tables, and snapshots of htmx fragments
//! (`tests/it/snapshots/`; regenerate with `UPDATE_SNAPSHOTS=1`).

use std::collections::BTreeSet;

use aigov_core::access::{Perm, Role, allowed};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use crate::{App, PASSWORD, app, text_body};

/// A response: status, headers, body.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn header(&self, k: &str) -> &str {
        self.headers
            .get(k)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

/// A request with headers and a body.
async fn req(a: &App, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Page {
    let mut b = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    send(a, b.body(Body::from(body.to_string())).unwrap()).await
}

async fn send(a: &App, req: Request<Body>) -> Page {
    let r = a.send(req).await;
    let status = r.status();
    let headers = r.headers().clone();
    Page {
        status,
        headers,
        body: text_body(r).await,
    }
}

/// GET as `role` (bearer token), in `lang`.
async fn get_as(a: &App, role: Role, uri: &str, lang: &str) -> Page {
    send(
        a,
        Request::get(uri)
            .header("authorization", format!("Bearer {}", a.token(role)))
            .header("cookie", format!("aigov_lang={lang}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

async fn get(a: &App, uri: &str) -> Page {
    get_as(a, Role::Admin, uri, "en").await
}

fn cookie_of(p: &Page, name: &str) -> Option<String> {
    p.headers.get_all("set-cookie").iter().find_map(|v| {
        let s = v.to_str().unwrap();
        let first = s.split(';').next()?;
        let (k, v) = first.split_once('=')?;
        (k == name).then(|| v.to_string())
    })
}

fn hidden(body: &str, name: &str) -> String {
    let pat = format!("name=\"{name}\" value=\"");
    let i = body
        .find(&pat)
        .unwrap_or_else(|| panic!("no hidden {name}"));
    let rest = &body[i + pat.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A browser session: (cookie header, CSRF token).
async fn login(a: &App, user: &str) -> (String, String) {
    let form = req(a, "GET", "/login", &[], "").await;
    assert_eq!(form.status, StatusCode::OK);
    let pre = cookie_of(&form, "aigov_login").unwrap();
    let token = hidden(&form.body, "_login");
    let body = format!(
        "_login={token}&next=%2Frisks&username={user}&password={}",
        PASSWORD.replace(' ', "+")
    );
    let r = req(
        a,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("aigov_login={pre}")),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/risks");
    let session = cookie_of(&r, "aigov_session").unwrap();
    let cookie = format!("aigov_session={session}; aigov_lang=en");
    let home = req(a, "GET", "/", &[("cookie", &cookie)], "").await;
    let i = home.body.find("name=\"csrf-token\" content=\"").unwrap();
    let rest = &home.body[i + 27..];
    let csrf = rest[..rest.find('"').unwrap()].to_string();
    assert!(!csrf.is_empty());
    (cookie, csrf)
}

async fn post_form(a: &App, cookie: &str, uri: &str, body: &str) -> Page {
    req(
        a,
        "POST",
        uri,
        &[
            ("cookie", cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body,
    )
    .await
}

/// Seeds a system with two risks (one assessed), an incident and evidence.
async fn seed(a: &App) {
    let (s, _) = a
        .call(Role::Admin, "POST", "/api/v1/systems", Some(json!({"name": "Customer assistant", "system_type": "generative", "lifecycle_stage": "verify"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for t in ["Prompt injection leaks data", "Over-trust in drafts"] {
        let (s, _) = a
            .call(
                Role::Admin,
                "POST",
                "/api/v1/systems/SYS-1/risks",
                Some(json!({"title": t, "unmapped": true})),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (s, _) = a
        .call(Role::Admin, "POST", "/api/v1/risks/RISK-1/assessments", Some(json!({"kind": "current", "likelihood": 4, "impact": 5, "basis": "judgement", "rationale": "seen in the red-team run"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = a
        .call(Role::Admin, "POST", "/api/v1/incidents", Some(json!({"title": "Leaked a phone number", "severity": "high", "detected_at": "2026-11-20T10:00:00Z", "systems": ["SYS-1"]})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/evidence",
            Some(json!({"title": "Red-team report", "url": "https://example.org/report"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
}

/// Every page: path, the permission it needs, and text it shows (en).
fn pages() -> Vec<(&'static str, Perm, &'static str)> {
    use Perm::*;
    vec![
        ("/", RiskRead, "Risk heat map"),
        ("/systems", InventoryRead, "Customer assistant"),
        ("/systems/new", InventoryWrite, "Register a system"),
        ("/systems/SYS-1", InventoryRead, "Stage gate"),
        ("/systems/SYS-1/risks/new", RiskWrite, "Register a risk"),
        ("/risks", RiskRead, "Prompt injection leaks data"),
        ("/risks/RISK-1", RiskRead, "Assessments over time"),
        ("/catalogs", CatalogRead, "tc260-aisgf"),
        ("/catalogs/tc260-aisgf", CatalogRead, "Items"),
        ("/crosswalk", CatalogRead, "Pick a catalog item"),
        ("/incidents", RiskRead, "Leaked a phone number"),
        ("/incidents/INC-1", RiskRead, "Timeline"),
        ("/evidence", RiskRead, "Red-team report"),
        ("/admin/users", UserRead, "Roles and permissions"),
        ("/admin/tokens", TokenOwn, "API tokens"),
        ("/admin/methodologies", RiskRead, "Risk matrix"),
        ("/audit", AuditRead, "Verify the hash chain"),
        ("/reports", RiskRead, "System risk-assessment report"),
    ]
}

/// No inline scripts, event handlers or style attributes (the CSP would block them).
fn assert_no_inline(path: &str, body: &str) {
    let lower = body.to_ascii_lowercase();
    for (i, _) in lower.match_indices("<script") {
        let tag = &lower[i..i + lower[i..].find('>').unwrap()];
        assert!(tag.contains(" src="), "{path}: inline <script>");
    }
    assert!(!lower.contains(" style="), "{path}: style attribute");
    assert!(!lower.contains("<style"), "{path}: <style> element");
    for ev in [
        " onclick=",
        " onload=",
        " onchange=",
        " onsubmit=",
        " onerror=",
    ] {
        assert!(!lower.contains(ev), "{path}: inline handler {ev}");
    }
}

#[tokio::test]
async fn every_page_renders_for_the_roles_that_may_see_it_and_403_for_the_others() {
    let a = app().await;
    seed(&a).await;
    for (path, perm, text) in pages() {
        for role in Role::ALL {
            let p = get_as(&a, role, path, "en").await;
            assert!(
                p.header("content-security-policy")
                    .contains("script-src 'self'"),
                "{path}: CSP"
            );
            assert_eq!(p.header("referrer-policy"), "same-origin", "{path}");
            assert!(p.header("content-type").starts_with("text/html"), "{path}");
            if allowed(role, perm) {
                assert_eq!(p.status, StatusCode::OK, "{path} as {role}: {}", p.body);
                assert!(p.body.contains(text), "{path} as {role}: no {text:?}");
                assert_no_inline(path, &p.body);
            } else {
                assert_eq!(p.status, StatusCode::FORBIDDEN, "{path} as {role}");
                assert!(p.body.contains("Your role does not allow this"), "{path}");
                assert!(
                    !p.body.contains(text) || text == "API tokens",
                    "{path} leaks as {role}"
                );
            }
        }
    }
}

/// Every form action: path, the permission it needs, and a body.
fn actions() -> Vec<(&'static str, Perm, &'static str)> {
    use Perm::*;
    vec![
        (
            "/systems",
            InventoryWrite,
            "name=From+a+form&system_type=other",
        ),
        (
            "/systems/SYS-1/stage",
            InventoryStage,
            "to=design-develop&reason=x&version=1",
        ),
        ("/systems/SYS-1/risks/new", RiskWrite, "title=From+a+form"),
        (
            "/risks/bulk",
            RiskWrite,
            "ids=RISK-2&action=assign&owner_id=",
        ),
        (
            "/risks/RISK-2/assess",
            RiskAssess,
            "kind=current&likelihood=1&impact=1&rationale=x",
        ),
        (
            "/risks/RISK-2/treatment",
            RiskWrite,
            "decision=mitigate&rationale=x&version=1",
        ),
        (
            "/risks/RISK-2/status",
            RiskWrite,
            "to=closed&reason=x&version=1",
        ),
        (
            "/risks/RISK-1/acceptance",
            AcceptanceRequest,
            "rationale=x&expires_on=2027-01-01",
        ),
        (
            "/incidents",
            IncidentWrite,
            "title=x&severity=low&detected_at=2026-11-20T08%3A00",
        ),
        (
            "/evidence",
            EvidenceWrite,
            "title=x&url=https%3A%2F%2Fexample.org",
        ),
        (
            "/admin/users",
            UserManage,
            "username=u&role=viewer&password=x",
        ),
        (
            "/admin/methodologies/preview",
            MethodologyManage,
            "id=aigov-5x5",
        ),
        ("/admin/methodologies", MethodologyManage, "id=aigov-5x5"),
        (
            "/checklist-items/x/status",
            ChecklistWrite,
            "status=compliant&version=1",
        ),
        ("/systems/SYS-1/adopt", ChecklistWrite, ""),
        (
            "/admin/users/viewer",
            UserManage,
            "role=viewer&state=active&version=99",
        ),
        ("/systems/SYS-1/identify", RiskWrite, ""),
        (
            "/candidates/x/decision",
            RiskWrite,
            "decision=reject&reason=x&system=SYS-1",
        ),
        (
            "/incidents/INC-1/timeline",
            IncidentWrite,
            "entry=contained+by+a+filter",
        ),
        (
            "/incidents/INC-1/close",
            IncidentWrite,
            "summary=x&version=99",
        ),
        (
            "/incidents/INC-1/reopen",
            IncidentWrite,
            "reason=x&version=99",
        ),
        (
            "/incidents/INC-1/root-cause",
            IncidentWrite,
            "risks=RISK-1&version=99",
        ),
        (
            "/risks/RISK-2/controls",
            RiskWrite,
            "title=Input+filter&due_date=2026-12-31",
        ),
        (
            "/acceptances/x/decision",
            AcceptanceDecide,
            "decision=approve&note=x&risk=RISK-1",
        ),
        ("/acceptances/x/withdraw", AcceptanceRequest, "risk=RISK-1"),
        ("/admin/tokens/x/revoke", TokenOwn, ""),
    ]
}

#[tokio::test]
async fn every_action_is_refused_to_roles_without_its_permission() {
    let a = app().await;
    seed(&a).await;
    for (path, perm, body) in actions() {
        for role in Role::ALL {
            let auth = format!("Bearer {}", a.token(role));
            let p = req(
                &a,
                "POST",
                path,
                &[
                    ("authorization", &auth),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                body,
            )
            .await;
            if allowed(role, perm) {
                assert_ne!(
                    p.status,
                    StatusCode::FORBIDDEN,
                    "{path} as {role}: {}",
                    p.body
                );
                assert!(!p.status.is_server_error(), "{path} as {role}: {}", p.body);
            } else {
                assert_eq!(p.status, StatusCode::FORBIDDEN, "{path} as {role}");
            }
        }
    }
    // The permitted ones took effect.
    let inc = get(&a, "/incidents/INC-1").await;

    assert!(inc.body.contains("contained by a filter"));
    let ctl = get(&a, "/risks/RISK-2").await;
    assert!(ctl.body.contains("Input filter"));
}

#[tokio::test]
async fn every_page_renders_on_postgresql_too() {
    let Some(a) = crate::pg_app().await else {
        return;
    };
    seed(&a).await;
    for (path, _, text) in pages() {
        let p = get(&a, path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        assert!(p.body.contains(text), "{path}: no {text:?}");
    }
    let csv = get(&a, "/risks?format=csv").await;
    assert_eq!(csv.body.lines().count(), 3);
}

#[tokio::test]
async fn navigation_shows_only_what_the_role_may_open() {
    let a = app().await;
    let viewer = get_as(&a, Role::Viewer, "/", "en").await;
    assert!(viewer.body.contains("href=\"/risks\""));
    assert!(!viewer.body.contains("href=\"/audit\""));
    assert_eq!(
        viewer.body.contains("href=\"/admin/users\""),
        allowed(Role::Viewer, Perm::UserRead)
    );
    let auditor = get_as(&a, Role::Auditor, "/", "en").await;
    assert!(auditor.body.contains("href=\"/audit\""));
    // Write actions are hidden from read-only roles.
    seed(&a).await;
    let v = get_as(&a, Role::Viewer, "/systems", "en").await;
    assert!(!v.body.contains("href=\"/systems/new\""));
    let c = get_as(&a, Role::Contributor, "/systems", "en").await;
    assert!(c.body.contains("href=\"/systems/new\""));
}

#[tokio::test]
async fn anonymous_page_requests_go_to_the_login_form_and_come_back() {
    let a = app().await;
    let p = req(&a, "GET", "/risks?status=assessed", &[], "").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.header("location"),
        "/login?next=%2Frisks%3Fstatus%3Dassessed"
    );
    // htmx requests are told where to go instead.
    let h = req(&a, "GET", "/risks", &[("hx-request", "true")], "").await;
    assert_eq!(h.status, StatusCode::UNAUTHORIZED);
    assert!(h.header("hx-redirect").starts_with("/login?next="));
    // An expired or bogus session is anonymous, not an error.
    let b = req(&a, "GET", "/", &[("cookie", "aigov_session=bogus")], "").await;
    assert_eq!(b.status, StatusCode::SEE_OTHER);
    // The API keeps answering problem+json.
    let api = req(&a, "GET", "/api/v1/risks", &[], "").await;
    assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    assert!(api.header("content-type").contains("problem+json"));
    // Unknown UI paths are an HTML 404; unknown API paths stay problem+json.
    let nf = get(&a, "/no/such/page").await;
    assert_eq!(nf.status, StatusCode::NOT_FOUND);
    assert!(nf.header("content-type").starts_with("text/html"));
    let anf = get(&a, "/api/v1/nope").await;
    assert!(anf.header("content-type").contains("problem+json"));
}

#[tokio::test]
async fn login_checks_the_double_submit_token_and_only_goes_to_local_next() {
    let a = app().await;
    let (cookie, _) = login(&a, "viewer").await;
    assert!(get_cookie_page(&a, &cookie, "/risks").await.status == StatusCode::OK);
    // Without the pre-session cookie the form is refused (login CSRF).
    let r = req(
        &a,
        "POST",
        "/login",
        &[("content-type", "application/x-www-form-urlencoded")],
        &format!(
            "_login=x&username=viewer&password={}",
            PASSWORD.replace(' ', "+")
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(cookie_of(&r, "aigov_session").is_none());
    // A cross-site origin is refused even with matching tokens.
    let form = req(&a, "GET", "/login", &[], "").await;
    let pre = cookie_of(&form, "aigov_login").unwrap();
    let tok = hidden(&form.body, "_login");
    let r = req(
        &a,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("aigov_login={pre}")),
            ("origin", "https://evil.example"),
            ("host", "localhost"),
        ],
        &format!(
            "_login={tok}&username=viewer&password={}",
            PASSWORD.replace(' ', "+")
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Wrong password: 401 with the message; next=//evil is not followed.
    let r = req(
        &a,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("aigov_login={pre}; aigov_lang=en")),
        ],
        &format!("_login={tok}&next=%2F%2Fevil.example&username=viewer&password=wrong"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong username or password"));
    assert!(!r.body.contains("evil.example"));
    let r = req(
        &a,
        "POST",
        "/login",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", &format!("aigov_login={pre}")),
        ],
        &format!(
            "_login={tok}&next=%2F%2Fevil.example&username=viewer&password={}",
            PASSWORD.replace(' ', "+")
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), "/");
    let session = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("aigov_session="))
        .unwrap()
        .to_string();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"));
}

async fn get_cookie_page(a: &App, cookie: &str, uri: &str) -> Page {
    req(a, "GET", uri, &[("cookie", cookie)], "").await
}

#[tokio::test]
async fn an_idle_session_expires_and_pages_go_back_to_the_login_form() {
    let a = app().await;
    let (cookie, _) = login(&a, "viewer").await;
    a.clock.advance(29 * 60);
    assert_eq!(
        get_cookie_page(&a, &cookie, "/risks").await.status,
        StatusCode::OK
    );
    a.clock.advance(31 * 60);
    let p = get_cookie_page(&a, &cookie, "/risks").await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(p.header("location"), "/login?next=%2Frisks");
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token_from_a_field_or_the_htmx_header() {
    let a = app().await;
    let (cookie, csrf) = login(&a, "admin").await;
    // No token: refused with a page, nothing created.
    let r = post_form(
        &a,
        &cookie,
        "/systems",
        "name=Sneaky&system_type=generative",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("CSRF"));
    let r = post_form(
        &a,
        &cookie,
        "/systems",
        "_csrf=wrong&name=Sneaky&system_type=generative",
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let list = get_cookie_page(&a, &cookie, "/systems").await;
    assert!(!list.body.contains("Sneaky"));
    // The hidden field works.
    let r = post_form(
        &a,
        &cookie,
        "/systems",
        &format!("_csrf={csrf}&name=Chat+bot&system_type=generative&lifecycle_stage=plan"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/systems/SYS-1");
    // So does the header htmx sends.
    let r = req(
        &a,
        "POST",
        "/systems",
        &[
            ("cookie", &cookie),
            ("x-csrf-token", &csrf),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        "name=Second&system_type=agent",
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Logout is a CSRF-checked POST too, and ends the session.
    let r = post_form(&a, &cookie, "/logout", "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post_form(&a, &cookie, "/logout", &format!("_csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let after = get_cookie_page(&a, &cookie, "/").await;
    assert_eq!(after.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_language_follows_the_cookie_then_accept_language_then_zh() {
    let a = app().await;
    let zh = get_as(&a, Role::Viewer, "/", "zh").await;
    assert!(zh.body.contains("<html lang=\"zh-CN\">") && zh.body.contains("风险热力图"));
    let en = get_as(&a, Role::Viewer, "/", "en").await;
    assert!(en.body.contains("<html lang=\"en\">") && en.body.contains("Risk heat map"));
    let bare = |al: Option<&str>| {
        let mut b =
            Request::get("/").header("authorization", format!("Bearer {}", a.token(Role::Viewer)));
        if let Some(al) = al {
            b = b.header("accept-language", al);
        }
        b.body(Body::empty()).unwrap()
    };
    assert!(send(&a, bare(None)).await.body.contains("风险热力图"));
    assert!(
        send(&a, bare(Some("en-GB,en;q=0.9")))
            .await
            .body
            .contains("Risk heat map")
    );
    assert!(
        send(&a, bare(Some("fr-FR, zh-CN;q=0.8")))
            .await
            .body
            .contains("风险热力图")
    );
    // The switch sets the cookie and returns to a local page only.
    let s = req(&a, "GET", "/lang/en?next=%2Frisks%3Fq%3Dx", &[], "").await;
    assert_eq!(s.status, StatusCode::SEE_OTHER);
    assert_eq!(s.header("location"), "/risks?q=x");
    assert_eq!(cookie_of(&s, "aigov_lang").as_deref(), Some("en"));
    let s = req(
        &a,
        "GET",
        "/lang/zh?next=https%3A%2F%2Fevil.example",
        &[],
        "",
    )
    .await;
    assert_eq!(s.header("location"), "/");
    // Validation messages come in the chosen language too.
    let (cookie, csrf) = login(&a, "admin").await;
    let zh_cookie = cookie.replace("aigov_lang=en", "aigov_lang=zh");
    let r = post_form(
        &a,
        &zh_cookie,
        "/systems",
        &format!("_csrf={csrf}&name=&system_type=generative"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("不能为空"), "{}", r.body);
    assert!(r.body.contains("请修正以下标出的字段"));
}

#[tokio::test]
async fn user_data_is_escaped() {
    let a = app().await;
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/systems",
            Some(json!({"name": "<script>alert(1)</script>", "system_type": "other"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/systems/SYS-1/risks",
            Some(json!({"title": "\"><img src=x onerror=alert(1)>", "unmapped": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for path in ["/systems", "/systems/SYS-1", "/risks", "/risks/RISK-1"] {
        let p = get(&a, path).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(!p.body.contains("<script>alert(1)</script>"), "{path}");
        assert!(!p.body.contains("<img src=x"), "{path}");
        assert!(p.body.contains("alert(1)"), "{path}");
        assert!(
            p.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || p.body.contains("&#34;&#62;&#60;img src=x"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn lists_download_as_csv_with_the_same_filters() {
    let a = app().await;
    seed(&a).await;
    let p = get(&a, "/risks?status=assessed&format=csv").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.header("content-type").starts_with("text/csv"));
    assert!(p.header("content-disposition").contains("aigov-risks.csv"));
    let lines: Vec<&str> = p.body.lines().collect();
    assert!(lines[0].starts_with("ref,title,system,status"));
    assert_eq!(lines.len(), 2, "{}", p.body);
    assert!(lines[1].starts_with("RISK-1,Prompt injection leaks data,SYS-1,assessed"));
    for (path, first) in [
        ("/systems?format=csv", "ref,name"),
        ("/incidents?format=csv", "ref,title"),
        ("/evidence?format=csv", "ref,title"),
        ("/audit?format=csv", "seq,at"),
        ("/catalogs?format=csv", "catalog,title"),
        ("/catalogs/tc260-aisgf?format=csv", "ref,kind"),
    ] {
        let p = get(&a, path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}");
        assert!(
            p.body.starts_with(first),
            "{path}: {}",
            &p.body[..p.body.len().min(80)]
        );
        assert!(p.body.lines().count() > 1, "{path}");
    }
    // Formula-looking cells are neutralised.
    a.call(
        Role::Admin,
        "POST",
        "/api/v1/systems",
        Some(json!({"name": "=HYPERLINK(\"x\")", "system_type": "other"})),
    )
    .await;
    let p = get(&a, "/systems?format=csv").await;
    assert!(p.body.contains("'=HYPERLINK"));
    // The page links to its CSV with its filters.
    let page = get(&a, "/risks?status=assessed").await;
    assert!(
        page.body
            .contains("href=\"/risks?status=assessed&#38;format=csv\""),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn the_register_pages_sorts_filters_and_answers_htmx_with_a_fragment() {
    let a = app().await;
    seed(&a).await;
    for i in 0..53 {
        a.call(
            Role::Admin,
            "POST",
            "/api/v1/systems/SYS-1/risks",
            Some(json!({"title": format!("Bulk risk {i:02}"), "unmapped": true})),
        )
        .await;
    }
    let p = get(&a, "/risks").await;
    assert!(p.body.contains("1–50 of 55"), "{}", p.body);
    assert!(p.body.contains("href=\"/risks?offset=50\""));
    let p2 = get(&a, "/risks?offset=50").await;
    assert!(p2.body.contains("51–55 of 55"));
    let zh = get_as(&a, Role::Viewer, "/risks", "zh").await;
    assert!(zh.body.contains("第 1–50 条，共 55 条"));
    let f = get(&a, "/risks?q=injection").await;
    assert!(f.body.contains("1–1 of 1") && f.body.contains("RISK-1"));
    let sorted = get(&a, "/risks?sort=-ref").await;
    let first = sorted.body.find("/risks/RISK-55").unwrap();
    assert!(first < sorted.body.find("/risks/RISK-54").unwrap());
    assert!(sorted.body.contains("aria-sort=\"descending\""));
    let bad = get(&a, "/risks?sort=nope").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let frag = send(
        &a,
        Request::get("/risks?q=injection")
            .header("authorization", format!("Bearer {}", a.token(Role::Viewer)))
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(
        frag.body.starts_with("\n<div id=\"register\">")
            || frag.body.trim_start().starts_with("<div id=\"register\">")
    );
    assert!(!frag.body.contains("<html"));
    // Read-only roles get no checkboxes or bulk bar.
    let v = get_as(&a, Role::Viewer, "/risks", "en").await;
    assert!(!v.body.contains("name=\"ids\"") && !v.body.contains("id=\"bulk\""));
    assert!(
        p.body.contains("name=\"ids\"")
            && p.body.contains(
                "id=\"bulk\" class=\"bulkbar\" method=\"post\" action=\"/risks/bulk\" hidden"
            )
    );
}

#[tokio::test]
async fn bulk_actions_close_and_assign_the_selected_risks() {
    let a = app().await;
    seed(&a).await;
    let (cookie, csrf) = login(&a, "risk-manager").await;
    let r = post_form(
        &a,
        &cookie,
        "/risks/bulk",
        &format!(
            "_csrf={csrf}&ids=RISK-1&ids=RISK-2&action=close&reason=duplicate&back=%2Frisks%3Fq%3Dx"
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/risks?q=x");
    let (_, r1) = a
        .call(Role::Viewer, "GET", "/api/v1/risks/RISK-1", None)
        .await;
    let (_, r2) = a
        .call(Role::Viewer, "GET", "/api/v1/risks/RISK-2", None)
        .await;
    assert_eq!(
        (r1["status"].as_str(), r2["status"].as_str()),
        (Some("closed"), Some("closed"))
    );
    let (_, users) = a.call(Role::Admin, "GET", "/api/v1/users", None).await;
    let viewer_id = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "viewer")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = post_form(
        &a,
        &cookie,
        "/risks/bulk",
        &format!("_csrf={csrf}&ids=RISK-2&action=assign&owner_id={viewer_id}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, r2) = a
        .call(Role::Viewer, "GET", "/api/v1/risks/RISK-2", None)
        .await;
    assert_eq!(r2["data"]["owner_id"].as_str(), Some(viewer_id.as_str()));
    let page = get(&a, "/risks/RISK-2").await;
    assert!(page.body.contains("(viewer)"), "owner shown by name");
    let reg = get(&a, "/risks?q=Over-trust").await;
    assert!(reg.body.contains("<td>viewer</td>"), "{}", reg.body);
    // Viewers may not.
    let (vc, vcsrf) = login(&a, "viewer").await;
    let r = post_form(
        &a,
        &vc,
        "/risks/bulk",
        &format!("_csrf={vcsrf}&ids=RISK-2&action=close&reason=x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_governance_loop_runs_through_the_forms() {
    let a = app().await;
    let (cookie, csrf) = login(&a, "admin").await;
    let r = post_form(
        &a,
        &cookie,
        "/systems",
        &format!("_csrf={csrf}&name=Loan+scorer&system_type=decision&lifecycle_stage=plan"),
    )
    .await;
    assert_eq!(r.header("location"), "/systems/SYS-1");
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/risks/new",
        &format!("_csrf={csrf}&title=&taxonomy="),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("must not be empty"));
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/risks/new",
        &format!("_csrf={csrf}&title=Unfair+denials&cause=biased+data&taxonomy="),
    )
    .await;
    assert_eq!(r.header("location"), "/risks/RISK-1", "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/assess",
        &format!("_csrf={csrf}&kind=current&likelihood=9&impact=2&rationale=x"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("must be 1 to 5"), "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/assess",
        &format!("_csrf={csrf}&kind=current&likelihood=4&impact=4&rationale=pilot+data"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get_cookie_page(&a, &cookie, "/risks/RISK-1").await;
    assert!(page.body.contains("4 × 4") && page.body.contains("pilot data"));
    assert!(page.body.contains("Will be recorded as user:admin"));
    // Its audit trail, newest first, on the page.
    let trail = &page.body[page.body.find("Audit trail").unwrap()..];
    assert!(trail.find("risk.assess").unwrap() < trail.find("risk.create").unwrap());
    let dash = get_cookie_page(&a, &cookie, "/").await;
    assert!(
        dash.body
            .contains("Likelihood Likely × impact Major: Major, 1 risks"),
        "{}",
        dash.body
    );
    let version = hidden(&page.body, "version");
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/treatment",
        &format!("_csrf={csrf}&version={version}&decision=mitigate&rationale=retrain"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/controls",
        &format!("_csrf={csrf}&source=&title=&due_date="),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/controls",
        &format!("_csrf={csrf}&title=Re-weight+the+training+data&due_date=2026-12-31"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get_cookie_page(&a, &cookie, "/risks/RISK-1").await;
    assert!(page.body.contains("Re-weight the training data"));
    let r = post_form(
        &a,
        &cookie,
        "/risks/RISK-1/acceptance",
        &format!("_csrf={csrf}&rationale=&expires_on=2027-01-01"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sys = get_cookie_page(&a, &cookie, "/systems/SYS-1").await;
    let v = hidden(&sys.body, "version");
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/stage",
        &format!("_csrf={csrf}&version={v}&to=design-develop&reason=approved"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(&a, &cookie, "/incidents", &format!("_csrf={csrf}&title=Denied+a+valid+loan&severity=high&detected_at=2026-11-20T08%3A30&systems=SYS-1")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/evidence",
        &format!("_csrf={csrf}&title=Fairness+audit&url=https%3A%2F%2Fexample.org%2Fa"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/admin/users",
        &format!("_csrf={csrf}&username=newbie&role=viewer&password=short"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post_form(
        &a,
        &cookie,
        "/admin/users",
        &format!("_csrf={csrf}&username=newbie&display_name=New&role=viewer&password=a+long+enough+password"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/admin/users/newbie",
        &format!("_csrf={csrf}&role=assessor&state=disabled&version=1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, u) = a
        .call(Role::Admin, "GET", "/api/v1/users/newbie", None)
        .await;
    assert_eq!(
        (u["role"].as_str(), u["disabled"].as_bool()),
        (Some("assessor"), Some(true))
    );
    let audit = get_cookie_page(&a, &cookie, "/audit").await;
    assert!(
        audit.body.contains("risk.assess") || audit.body.contains("risk."),
        "{}",
        audit.body
    );
    let v = req(
        &a,
        "GET",
        "/audit/verify",
        &[("cookie", &cookie), ("hx-request", "true")],
        "",
    )
    .await;
    assert!(v.body.contains("The chain is intact"), "{}", v.body);
    let v = get_cookie_page(&a, &cookie, "/audit/verify").await;
    assert!(v.body.contains("The chain is intact") && v.body.contains("<html"));
}

#[tokio::test]
async fn a_specific_framework_is_adopted_from_the_system_page_with_a_reason() {
    let a = app().await;
    seed(&a).await;
    let (cookie, csrf) = login(&a, "admin").await;
    let page = get_cookie_page(&a, &cookie, "/systems/SYS-1").await;
    assert!(
        page.body.contains("Adopt a specific framework"),
        "{}",
        page.body
    );
    // The first catalog the form offers.
    let at = page
        .body
        .find("<select id=\"ad-c\" name=\"catalog\"><option value=\"")
        .unwrap();
    let rest = &page.body[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    let key = rest[start..start + rest[start..].find('"').unwrap()].to_string();
    assert!(key.contains('@'), "{key}");
    // A reason is required: refused, nothing adopted.
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/adopt",
        &format!("_csrf={csrf}&catalog={key}&reason=+"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("say why the system adopts this catalog"),
        "{}",
        r.body
    );
    let (_, list) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-1/adoptions", None)
        .await;
    assert!(!list.to_string().contains(&key), "{list}");
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/adopt",
        &format!("_csrf={csrf}&catalog={key}&reason=Required+by+our+customer+contract"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, list) = a
        .call(Role::Viewer, "GET", "/api/v1/systems/SYS-1/adoptions", None)
        .await;
    let text = list.to_string();
    assert!(
        text.contains(&key) && text.contains("Required by our customer contract"),
        "{text}"
    );
    // Adopted catalogs are no longer offered.
    let page = get_cookie_page(&a, &cookie, "/systems/SYS-1").await;
    assert!(
        !page.body.contains(&format!("<option value=\"{key}\">")),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn a_pending_acceptance_request_is_withdrawn_from_the_risk_page() {
    let a = app().await;
    seed(&a).await;
    let (rm, csrf) = login(&a, "risk-manager").await;
    let r = post_form(
        &a,
        &rm,
        "/risks/RISK-1/acceptance",
        &format!("_csrf={csrf}&rationale=compensating+controls&expires_on=2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, acc) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/risks/RISK-1/acceptances",
            None,
        )
        .await;
    let id = acc[0]["id"].as_str().unwrap().to_string();
    let page = get_cookie_page(&a, &rm, "/risks/RISK-1").await;
    assert!(
        page.body
            .contains(&format!("action=\"/acceptances/{id}/withdraw\"")),
        "{}",
        page.body
    );
    let r = post_form(
        &a,
        &rm,
        &format!("/acceptances/{id}/withdraw"),
        &format!("_csrf={csrf}&risk=RISK-1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/risks/RISK-1");
    let (_, acc) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/risks/RISK-1/acceptances",
            None,
        )
        .await;
    assert_eq!(acc[0]["status"], "withdrawn", "{acc}");
    // Nothing is pending any more, so the button is gone; withdrawing again is a conflict.
    let page = get_cookie_page(&a, &rm, "/risks/RISK-1").await;
    assert!(!page.body.contains("/withdraw\""), "{}", page.body);
    let r = post_form(
        &a,
        &rm,
        &format!("/acceptances/{id}/withdraw"),
        &format!("_csrf={csrf}&risk=RISK-1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
}

#[tokio::test]
async fn a_risk_is_accepted_through_a_request_and_a_decision_with_reasons() {
    let a = app().await;
    seed(&a).await;
    let (rm, rm_csrf) = login(&a, "risk-manager").await;
    let r = post_form(
        &a,
        &rm,
        "/risks/RISK-1/acceptance",
        &format!("_csrf={rm_csrf}&rationale=compensating+controls&expires_on=2027-06-30"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, acc) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/risks/RISK-1/acceptances",
            None,
        )
        .await;
    let id = acc[0]["id"].as_str().unwrap().to_string();
    // The approver sees who will be recorded and which role must decide.
    let (admin, admin_csrf) = login(&a, "admin").await;
    let page = get_cookie_page(&a, &admin, "/risks/RISK-1").await;
    assert!(
        page.body
            .contains(&format!("action=\"/acceptances/{id}/decision\""))
    );
    assert!(
        page.body.contains("Needs approval by Admin"),
        "{}",
        page.body
    );
    // A risk manager may not decide a level that needs an admin.
    let r = post_form(
        &a,
        &rm,
        &format!("/acceptances/{id}/decision"),
        &format!("_csrf={rm_csrf}&decision=approve&note=fine&risk=RISK-1"),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    let r = post_form(
        &a,
        &admin,
        &format!("/acceptances/{id}/decision"),
        &format!(
            "_csrf={admin_csrf}&decision=approve&note=within+appetite+until+the+fix&risk=RISK-1"
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, risk) = a
        .call(Role::Viewer, "GET", "/api/v1/risks/RISK-1", None)
        .await;
    assert_eq!(risk["status"], "accepted");
    let page = get_cookie_page(&a, &admin, "/risks/RISK-1").await;
    assert!(page.body.contains("within appetite until the fix"));
}

#[tokio::test]
async fn identification_proposes_candidates_that_are_decided_with_reasons() {
    let a = app().await;
    let (s, _) = a
        .call(Role::Admin, "POST", "/api/v1/systems", Some(json!({"name": "Public chatbot", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"], "lifecycle_stage": "design-develop"})))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (cookie, csrf) = login(&a, "assessor").await;
    let page = get_cookie_page(&a, &cookie, "/systems/SYS-1").await;
    assert!(page.body.contains("Run identification"));
    let r = post_form(
        &a,
        &cookie,
        "/systems/SYS-1/identify",
        &format!("_csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = get_cookie_page(&a, &cookie, "/systems/SYS-1").await;
    let pat = "action=\"/candidates/";
    let i = page.body.find(pat).expect("a candidate to decide");
    let rest = &page.body[i + pat.len()..];
    let id = &rest[..rest.find('/').unwrap()];
    let r = post_form(
        &a,
        &cookie,
        &format!("/candidates/{id}/decision"),
        &format!("_csrf={csrf}&decision=accept&reason=&system=SYS-1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        &format!("/candidates/{id}/decision"),
        &format!("_csrf={csrf}&decision=accept&reason=applies+to+our+chat&system=SYS-1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").starts_with("/risks/RISK-"));
}

#[tokio::test]
async fn checklist_status_changes_inline_with_htmx() {
    let a = app().await;
    seed(&a).await;
    let (s, _) = a
        .call(
            Role::Admin,
            "POST",
            "/api/v1/systems/SYS-1/adoptions",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, cl) = a
        .call(
            Role::Viewer,
            "GET",
            "/api/v1/systems/SYS-1/checklists/tc260-aisgf",
            None,
        )
        .await;
    let item = &cl.as_array().unwrap()[0];
    let id = item["id"].as_str().unwrap();
    let page = get(&a, "/systems/SYS-1").await;
    assert!(
        page.body
            .contains(&format!("hx-post=\"/checklist-items/{id}/status\""))
    );
    let viewer = get_as(&a, Role::Viewer, "/systems/SYS-1", "en").await;
    assert!(!viewer.body.contains("/checklist-items/"));
    let (cookie, csrf) = login(&a, "assessor").await;
    let uri = format!("/checklist-items/{id}/status");
    let v = item["version"].as_i64().unwrap();
    let hx = |body: String| {
        let (a, cookie, csrf, uri) = (&a, &cookie, &csrf, &uri);
        async move {
            req(
                a,
                "POST",
                uri,
                &[
                    ("cookie", cookie),
                    ("x-csrf-token", csrf),
                    ("hx-request", "true"),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                &body,
            )
            .await
        }
    };
    let r = hx(format!(
        "status=compliant&version={v}&back=%2Fsystems%2FSYS-1"
    ))
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with(&format!("<tr id=\"cl-{id}\">")));
    assert!(r.body.contains("value=\"compliant\" selected"));
    // Not applicable needs a justification: the row comes back with the error, unchanged.
    let r = hx(format!("status=not-applicable&version={}", v + 1)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("class=\"ferr\""), "{}", r.body);
    assert!(r.body.contains("value=\"compliant\" selected"));
    let (_, after) = a
        .call(
            Role::Viewer,
            "GET",
            &format!("/api/v1/checklist-items/{id}"),
            None,
        )
        .await;
    assert_eq!(after["status"], "compliant");
}

#[tokio::test]
async fn the_methodology_preview_redraws_the_matrix() {
    let a = app().await;
    let (cookie, csrf) = login(&a, "admin").await;
    let r = post_form(
        &a,
        &cookie,
        "/admin/methodologies/preview",
        &format!("_csrf={csrf}&id=aigov-5x5&cell_1_1=4"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.starts_with("<div id=\"matrix-preview\">"));
    // Likelihood rare × impact negligible is now extremely severe (red).
    assert!(
        r.body
            .contains("Likelihood Rare × impact Negligible: Extremely severe"),
        "{}",
        r.body
    );
    let (vc, vcsrf) = login(&a, "viewer").await;
    let r = post_form(
        &a,
        &vc,
        "/admin/methodologies/preview",
        &format!("_csrf={vcsrf}&id=aigov-5x5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_methodology_editor_saves_a_new_methodology() {
    let a = app().await;
    let (cookie, csrf) = login(&a, "admin").await;
    // Without an id and a name: the page again, saying what is missing, nothing stored.
    let r = post_form(
        &a,
        &cookie,
        "/admin/methodologies",
        &format!("_csrf={csrf}&id=aigov-5x5&cell_1_1=4"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Give the new methodology an id and a name"));
    // The built-in id is refused with the store's reason, on the page.
    let r = post_form(
        &a,
        &cookie,
        "/admin/methodologies",
        &format!("_csrf={csrf}&id=aigov-5x5&new_id=aigov-5x5&new_name=Again"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.contains("built-in"), "{}", r.body);
    // Saved as a new one with the edited cell, audited, and shown.
    let r = post_form(
        &a,
        &cookie,
        "/admin/methodologies",
        &format!("_csrf={csrf}&id=aigov-5x5&cell_1_1=4&new_id=acme-5x5&new_name=Acme%205x5"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/admin/methodologies?id=acme-5x5");
    let (s, m) = a
        .call(Role::Admin, "GET", "/api/v1/methodologies/acme-5x5", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(m["grid"][0][0], 4);
    assert_eq!(m["name"]["en"], "Acme 5x5");
    let p = get(&a, "/admin/methodologies?id=acme-5x5").await;
    assert!(p.body.contains("Acme 5x5"));
    let (_, log) = a
        .call(
            Role::Auditor,
            "GET",
            "/api/v1/audit?action=methodology.create",
            None,
        )
        .await;
    assert!(log.to_string().contains("acme-5x5"), "{log}");
}

async fn incident_version(a: &crate::App) -> i64 {
    let (_, i) = a
        .call(Role::Admin, "GET", "/api/v1/incidents/INC-1", None)
        .await;
    i["version"].as_i64().unwrap()
}

#[tokio::test]
async fn incidents_take_root_causes_a_close_out_review_and_reopening_from_their_page() {
    let a = app().await;
    seed(&a).await;
    let (cookie, csrf) = login(&a, "admin").await;
    let p = get(&a, "/incidents/INC-1").await;
    assert!(p.body.contains("Close the incident"), "{}", p.body);
    // Root causes: an unknown risk is refused on the form; existing ones are linked; a new
    // risk is registered on the system and linked too.
    let v = incident_version(&a).await;
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/root-cause",
        &format!("_csrf={csrf}&risks=RISK-1%2C+RISK-999&version={v}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("no risk RISK-999"), "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/root-cause",
        &format!("_csrf={csrf}&risks=RISK-1&version={v}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/root-cause",
        &format!("_csrf={csrf}&title=Output+filter+gap&system=SYS-1"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, i) = a
        .call(Role::Admin, "GET", "/api/v1/incidents/INC-1", None)
        .await;
    let roots = i["data"]["root_cause_risks"].as_array().unwrap();
    assert_eq!(roots.len(), 2, "{i}");
    assert_eq!(roots[0], "RISK-1");
    let (_, risk) = a
        .call(
            Role::Admin,
            "GET",
            &format!("/api/v1/risks/{}", roots[1].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(risk["data"]["title"], "Output filter gap", "{risk}");
    let p = get(&a, "/incidents/INC-1").await;
    assert!(
        p.body
            .contains(&format!("RISK-1, {}", roots[1].as_str().unwrap())),
        "{}",
        p.body
    );
    // Without a summary: the page again, saying why, nothing changed.
    let v = incident_version(&a).await;
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/close",
        &format!("_csrf={csrf}&summary=+&version={v}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("needs a summary"), "{}", r.body);
    assert_eq!(incident_version(&a).await, v);
    // An unknown answer for the reporting question is refused by name.
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/close",
        &format!("_csrf={csrf}&summary=ok&reporting_met=maybe&version={v}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("maybe&#34; is not one of: yes, no"),
        "{}",
        r.body
    );
    // Closed with the review, which the page shows; the form turns into reopening.
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/close",
        &format!(
            "_csrf={csrf}&summary=Filter+deployed%2C+users+told&lessons=Test+the+filter&reporting_met=yes&version={v}"
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.header("location"), "/incidents/INC-1");
    let p = get(&a, "/incidents/INC-1").await;
    assert!(p.body.contains("Filter deployed, users told"), "{}", p.body);
    assert!(p.body.contains("Test the filter"));
    assert!(p.body.contains("Reopen the incident"));
    assert!(!p.body.contains("Close the incident"));
    // A stale version is refused, not applied.
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/reopen",
        &format!("_csrf={csrf}&reason=again&version={v}"),
    )
    .await;
    assert!(r.status.is_client_error(), "{}: {}", r.status, r.body);
    let v = incident_version(&a).await;
    let r = post_form(
        &a,
        &cookie,
        "/incidents/INC-1/reopen",
        &format!("_csrf={csrf}&reason=The+leak+recurred&version={v}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, i) = a
        .call(Role::Admin, "GET", "/api/v1/incidents/INC-1", None)
        .await;
    assert_ne!(i["data"]["status"], "closed", "{i}");
    let (_, log) = a
        .call(
            Role::Auditor,
            "GET",
            "/api/v1/audit?object_type=incident",
            None,
        )
        .await;
    let log = log.to_string();
    assert!(
        log.contains("incident.close") && log.contains("incident.reopen"),
        "{log}"
    );
}

#[tokio::test]
async fn the_report_form_downloads_reports_recorded_in_the_audit_log() {
    let a = app().await;
    seed(&a).await;
    // The register as CSV: an attachment with the report's id, recorded in the audit log.
    let p = get(
        &a,
        "/reports/new?kind=risk-register&format=csv&system=SYS-1",
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.header("content-type").starts_with("text/csv"));
    assert!(p.header("content-disposition").starts_with("attachment;"));
    assert!(p.body.contains("Prompt injection leaks data"), "{}", p.body);
    let id = p.header("x-aigov-report-id").to_string();
    assert!(!id.is_empty());
    let (_, log) = a
        .call(
            Role::Auditor,
            "GET",
            "/api/v1/audit?action=report.generated",
            None,
        )
        .await;
    assert!(log.to_string().contains(&id), "{log}");
    // A viewer may download one too (it changes nothing but the log); a system report in
    // Markdown names the system.
    let p = get_as(
        &a,
        Role::Viewer,
        "/reports/new?kind=system-risk&format=md&system=SYS-1",
        "en",
    )
    .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Customer assistant"));
    // PDF bytes.
    let r = a
        .send(
            Request::get("/reports/new?kind=compliance&format=pdf")
                .header("authorization", format!("Bearer {}", a.token(Role::Admin)))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    assert!(bytes.starts_with(b"%PDF"));
    // Mistakes come back on the form, in words, with the right status.
    let p = get(&a, "/reports/new?kind=system-risk&format=html").await;
    assert!(p.status.is_client_error(), "{}", p.status);
    assert!(
        p.body.contains("<form") && p.body.contains("system"),
        "{}",
        p.body
    );
    let p = get(
        &a,
        "/reports/new?kind=system-risk&format=html&system=SYS-99",
    )
    .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("SYS-99"), "{}", p.body);
    let p = get(&a, "/reports/new?kind=nonsense").await;
    assert_eq!(p.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn catalogs_show_bilingual_text_with_a_fallback_marker_and_crosswalks() {
    let a = app().await;
    let zh = get_as(&a, Role::Viewer, "/catalogs/tc260-aisgf", "zh").await;
    let en = get_as(&a, Role::Viewer, "/catalogs/tc260-aisgf", "en").await;
    assert_eq!(zh.status, StatusCode::OK);
    assert_ne!(zh.body, en.body);
    let s = get(&a, "/catalogs?q=prompt").await;
    assert!(s.body.contains("See mappings"), "{}", s.body);
    let x = get(&a, "/crosswalk?item=tc260-aisgf%401.0%3A3.1.1(c)").await;
    assert_eq!(x.status, StatusCode::OK);
    assert!(
        x.body.contains("owasp-llm@2025") && x.body.contains("LLM01"),
        "{}",
        x.body
    );
    assert!(x.body.contains("related"));
    let csv = get(
        &a,
        "/crosswalk?item=tc260-aisgf%401.0%3A3.1.1(c)&format=csv",
    )
    .await;
    assert!(
        csv.body.lines().any(|l| l.contains("owasp-llm@2025,LLM01")),
        "{}",
        csv.body
    );
    // Text missing in the UI language falls back to the other one, marked.
    use aigov_server::ui::{Lang, view::pick};
    assert_eq!(
        pick(Lang::En, Some("中文"), None),
        ("中文".to_string(), true)
    );
    assert_eq!(
        pick(Lang::En, Some("中文"), Some("English")),
        ("English".to_string(), false)
    );
    assert_eq!(
        pick(Lang::Zh, Some(""), Some("English")),
        ("English".to_string(), true)
    );
    let bad = get(&a, "/crosswalk?item=nope").await;
    assert!(bad.status.is_client_error());
}

#[tokio::test]
async fn assets_are_served_with_hashed_names_and_long_caching() {
    let a = app().await;
    let home = req(&a, "GET", "/login", &[], "").await;
    for name in ["app.css", "app.js", "htmx.min.js"] {
        let url = aigov_server::ui::assets::url(name);
        assert!(home.body.contains(url), "{name} not linked");
        let p = req(&a, "GET", url, &[], "").await;
        assert_eq!(p.status, StatusCode::OK, "{url}");
        assert_eq!(
            p.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        let etag = p.header("etag").to_string();
        let nm = req(&a, "GET", url, &[("if-none-match", &etag)], "").await;
        assert_eq!(nm.status, StatusCode::NOT_MODIFIED);
    }
    let p = req(&a, "GET", "/assets/nope.js", &[], "").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    // htmx's indicator styles (an injected <style>) are off, so the CSP holds.
    assert!(home.body.contains("\"includeIndicatorStyles\":false"));
}

#[test]
fn both_string_tables_have_the_same_keys_and_every_used_key_exists() {
    use aigov_server::ui::i18n::{Lang, table, word_groups};
    let zh: BTreeSet<&String> = table(Lang::Zh).keys().collect();
    let en: BTreeSet<&String> = table(Lang::En).keys().collect();
    assert!(zh.len() > 200);
    assert_eq!(
        zh.difference(&en).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "only in zh-CN"
    );
    assert_eq!(
        en.difference(&zh).collect::<Vec<_>>(),
        Vec::<&&String>::new(),
        "only in en"
    );
    for l in Lang::ALL {
        assert!(table(l).values().all(|v| !v.trim().is_empty()));
    }
    // Keys named in templates and UI code.
    let root = env!("CARGO_MANIFEST_DIR");
    let mut used = BTreeSet::new();
    let mut files = Vec::new();
    for dir in ["templates", "templates/fragments", "src/ui"] {
        for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
            let p = e.unwrap().path();
            if p.is_file() {
                files.push(p);
            }
        }
    }
    for p in &files {
        let src = std::fs::read_to_string(p).unwrap();
        for pat in ["t(\"", "t1(\"", "tf(\"", "\"nav."] {
            for (i, _) in src.match_indices(pat) {
                let before = src[..i].chars().last().unwrap_or(' ');
                if !pat.starts_with('"') && (before.is_alphanumeric() || before == '_') {
                    continue;
                }
                let start = i + pat.len()
                    - if pat.starts_with('"') {
                        pat.len() - 1
                    } else {
                        0
                    };
                let rest = &src[start..];
                let key = &rest[..rest.find('"').unwrap()];
                if key.contains('.') && !key.ends_with('.') {
                    used.insert(key.to_string());
                }
            }
        }
    }
    assert!(used.len() > 150, "found only {} keys", used.len());
    for k in &used {
        assert!(zh.contains(k), "{k} is used but not in the tables");
    }
    for (g, values) in word_groups() {
        for v in values {
            assert!(zh.contains(&format!("{g}.{v}")), "no label for {g}.{v}");
        }
    }
    for k in aigov_server::ui::reports::KINDS {
        assert!(zh.contains(&format!("report.kind.{k}")));
    }
    for (code, status, _) in aigov_server::error::CODES {
        if *status < 500
            && *code != "payload-too-large"
            && *code != "unsupported-media-type"
            && *code != "duplicate"
            && *code != "precondition-required"
            && *code != "login-locked"
        {
            assert!(
                zh.contains(&format!("error.{code}")),
                "no page heading for {code}"
            );
        }
    }
}

/// Replaces what changes between runs (ids, timestamps, hashes) with placeholders.
fn redact(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        // Timestamps as shown: 2026-11-21 09:00
        while let Some(i) = find_time(&l) {
            l.replace_range(i..i + 16, "[time]");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out
}

fn find_time(l: &str) -> Option<usize> {
    let b = l.as_bytes();
    (0..b.len().saturating_sub(15)).find(|&i| {
        let w = &b[i..i + 16];
        w[4] == b'-'
            && w[7] == b'-'
            && w[10] == b' '
            && w[13] == b':'
            && w.iter()
                .enumerate()
                .all(|(k, c)| [4, 7, 10, 13].contains(&k) || c.is_ascii_digit())
    })
}

fn snapshot(name: &str, got: &str) {
    let path = format!("{}/tests/it/snapshots/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{path} (create with UPDATE_SNAPSHOTS=1)"));
    assert_eq!(want, got, "{name} changed: review, then UPDATE_SNAPSHOTS=1");
}

#[tokio::test]
async fn fragments_match_their_snapshots() {
    let a = app().await;
    seed(&a).await;
    let rows = send(
        &a,
        Request::get("/risks?sort=ref")
            .header("authorization", format!("Bearer {}", a.token(Role::Viewer)))
            .header("cookie", "aigov_lang=en")
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    snapshot("ui_register_en.html", &redact(&rows.body));
    let rows_zh = send(
        &a,
        Request::get("/risks?sort=ref")
            .header("authorization", format!("Bearer {}", a.token(Role::Viewer)))
            .header("cookie", "aigov_lang=zh")
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    snapshot("ui_register_zh.html", &redact(&rows_zh.body));
    let v = send(
        &a,
        Request::get("/audit/verify")
            .header(
                "authorization",
                format!("Bearer {}", a.token(Role::Auditor)),
            )
            .header("cookie", "aigov_lang=en")
            .header("hx-request", "true")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    snapshot("ui_verify_en.html", &redact(&v.body));
    // The heat map for fixed counts, without a store.
    let state = a.state.clone();
    let c = aigov_server::ui::Ctx::new(&state, aigov_server::ui::Lang::En, None, "/");
    let m = aigov_core::methodology::default_methodology();
    let svg =
        aigov_server::ui::dashboard::heatmap_svg(&c, &m, &[(1, 1, 3), (5, 5, 1), (4, 2, 12408)])
            .unwrap();
    assert!(svg.contains("<title id=\"heat-title\">Risk heat map (likelihood × impact)</title>"));
    assert!(svg.contains(">12,408</text>"));
    snapshot("ui_heatmap_en.svg.html", &svg);
}
