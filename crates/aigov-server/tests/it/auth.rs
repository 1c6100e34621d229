//! Sessions, cookies, CSRF, Origin checks, throttling, expiry, tokens.

use aigov_core::access::Role;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::{App, PASSWORD, app, json_body};

async fn login(a: &App, user: &str, password: &str) -> (StatusCode, Option<String>, Value) {
    let r = a
        .send(
            Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": user, "password": password}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    let status = r.status();
    let cookie = r
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_string());
    (status, cookie, json_body(r).await)
}

fn session_of(cookie: &str) -> String {
    cookie.split(';').next().unwrap().to_string()
}

async fn with_session(
    a: &App,
    method: &str,
    uri: &str,
    cookie: &str,
    csrf: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header("cookie", cookie);
    if let Some(c) = csrf {
        b = b.header("x-csrf-token", c);
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(v.to_string()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    let r = a.send(req).await;
    let s = r.status();
    (s, json_body(r).await)
}

#[tokio::test]
async fn everything_but_health_and_login_needs_authentication() {
    let a = app().await;
    let r = a
        .send(Request::get("/healthz").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let h = json_body(r).await;
    assert_eq!(
        (h["status"].as_str(), h["database"].as_str()),
        (Some("ok"), Some("sqlite"))
    );
    for (m, u) in [
        ("GET", "/api/v1/systems"),
        ("GET", "/api/v1/openapi.json"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/nope"),
    ] {
        let r = a
            .send(
                Request::builder()
                    .method(m)
                    .uri(u)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{m} {u}");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        assert_eq!(json_body(r).await["code"], "unauthenticated");
    }
    let r = a
        .send(
            Request::get("/api/v1/systems")
                .header("authorization", "Bearer aigov_nothing_here")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = a
        .send(
            Request::get("/api/v1/systems")
                .header("authorization", "Basic YTpi")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_use_strict_httponly_cookies_and_csrf_tokens() {
    let a = app().await;
    let (s, cookie, body) = login(&a, "contributor", PASSWORD).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let cookie = cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "not over plain http by default");
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    assert_eq!(body["user"]["username"], "contributor");
    let sc = session_of(&cookie);
    // Reads need no CSRF token.
    let (s, info) = with_session(&a, "GET", "/api/v1/auth/session", &sc, None, &[], None).await;
    assert_eq!(
        (s, info["csrf_token"].as_str()),
        (StatusCode::OK, Some(csrf.as_str()))
    );
    // Writes without it, or with a wrong one, are refused.
    let sys = json!({"name": "csrf", "system_type": "other"});
    let (s, e) = with_session(
        &a,
        "POST",
        "/api/v1/systems",
        &sc,
        None,
        &[],
        Some(sys.clone()),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf-failed"))
    );
    let (s, _) = with_session(
        &a,
        "POST",
        "/api/v1/systems",
        &sc,
        Some("wrong"),
        &[],
        Some(sys.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // A cross-site Origin is refused even with the token.
    let (s, e) = with_session(
        &a,
        "POST",
        "/api/v1/systems",
        &sc,
        Some(&csrf),
        &[
            ("origin", "https://evil.example"),
            ("host", "aigov.local:8080"),
        ],
        Some(sys.clone()),
    )
    .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("csrf-failed"))
    );
    let (s, _) = with_session(
        &a,
        "POST",
        "/api/v1/systems",
        &sc,
        Some(&csrf),
        &[("sec-fetch-site", "cross-site")],
        Some(sys.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Same-origin with the token works.
    let (s, rec) = with_session(
        &a,
        "POST",
        "/api/v1/systems",
        &sc,
        Some(&csrf),
        &[
            ("origin", "http://aigov.local:8080"),
            ("host", "aigov.local:8080"),
        ],
        Some(sys),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{rec}");
    assert_eq!(rec["created_by"], "user:contributor");
    // Logout ends the session.
    let (s, _) = with_session(
        &a,
        "POST",
        "/api/v1/auth/logout",
        &sc,
        Some(&csrf),
        &[],
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = with_session(&a, "GET", "/api/v1/systems", &sc, None, &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sessions_expire_when_idle() {
    let a = app().await;
    let (_, cookie, _) = login(&a, "viewer", PASSWORD).await;
    let sc = session_of(&cookie.unwrap());
    a.clock.advance(29 * 60);
    assert_eq!(
        with_session(&a, "GET", "/api/v1/systems", &sc, None, &[], None)
            .await
            .0,
        StatusCode::OK
    );
    a.clock.advance(31 * 60);
    let (s, e) = with_session(&a, "GET", "/api/v1/systems", &sc, None, &[], None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(e["detail"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn repeated_failed_logins_are_throttled() {
    let a = app().await;
    for _ in 0..4 {
        assert_eq!(
            login(&a, "viewer", "not the password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (s, _, e) = login(&a, "viewer", "not the password").await;
    assert_eq!(
        (s, e["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let r = a
        .send(
            Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"username": "viewer", "password": PASSWORD}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    assert_eq!(json_body(r).await["code"], "login-locked");
    a.clock.advance(16 * 60);
    assert_eq!(login(&a, "viewer", PASSWORD).await.0, StatusCode::OK);
    // A login from another site is refused before credentials are checked.
    let r = a
        .send(
            Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .header("origin", "https://evil.example")
                .header("host", "aigov.local")
                .body(Body::from(
                    json!({"username": "viewer", "password": PASSWORD}).to_string(),
                ))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn users_change_their_own_password_in_a_session_only() {
    let a = app().await;
    let (_, cookie, body) = login(&a, "assessor", PASSWORD).await;
    let sc = session_of(&cookie.unwrap());
    let csrf = body["csrf_token"].as_str().unwrap().to_string();
    let (s, e) = with_session(
        &a,
        "POST",
        "/api/v1/auth/password",
        &sc,
        Some(&csrf),
        &[],
        Some(json!({"current_password": "wrong", "new_password": "brand new long password"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["errors"][0]["field"], "current_password");
    let (s, _) = with_session(
        &a,
        "POST",
        "/api/v1/auth/password",
        &sc,
        Some(&csrf),
        &[],
        Some(json!({"current_password": PASSWORD, "new_password": "brand new long password"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(
        login(&a, "assessor", "brand new long password").await.0,
        StatusCode::OK
    );
    let (s, _) = a
        .call(
            Role::Assessor,
            "POST",
            "/api/v1/auth/password",
            Some(json!({"current_password": "x", "new_password": "y y y y y y y y"})),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not with a token");
}

#[tokio::test]
async fn disabling_a_user_cuts_sessions_and_tokens() {
    let a = app().await;
    let (_, cookie, _) = login(&a, "contributor", PASSWORD).await;
    let sc = session_of(&cookie.unwrap());
    let (_, u) = a
        .call(Role::Admin, "GET", "/api/v1/users/contributor", None)
        .await;
    let (s, _) = a
        .call_with(
            Role::Admin,
            "PATCH",
            "/api/v1/users/contributor",
            Some(json!({"disabled": true})),
            &[("if-match", &format!("\"{}\"", u["version"]))],
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        with_session(&a, "GET", "/api/v1/systems", &sc, None, &[], None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.call(Role::Contributor, "GET", "/api/v1/systems", None)
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login(&a, "contributor", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
}
