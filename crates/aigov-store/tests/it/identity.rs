//! Users, sessions, tokens, throttling.

use aigov_core::access::Role;
use aigov_store::StoreError;
use aigov_store::users::{NewUser, UserPatch};

use crate::backends;

fn new(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        display_name: Some(format!("{name} display")),
        role,
        password: "a long enough password".into(),
    }
}

#[tokio::test]
async fn users_are_created_validated_and_updated_with_versions() {
    for h in backends().await {
        let s = &h.store;
        let admin = h.admin().await;
        assert_eq!(admin.username, "admin");
        let u = s
            .create_user("user:admin", new("Alice", Role::Assessor))
            .await
            .unwrap();
        assert_eq!(
            (u.username.as_str(), u.role, u.version),
            ("alice", Role::Assessor, 1),
            "{}",
            h.name
        );
        assert!(
            matches!(
                s.create_user("x", new("alice", Role::Viewer)).await,
                Err(StoreError::Duplicate(_))
            ),
            "{}",
            h.name
        );
        let bad = s
            .create_user(
                "x",
                NewUser {
                    username: "A B".into(),
                    display_name: None,
                    role: Role::Viewer,
                    password: "short".into(),
                },
            )
            .await
            .unwrap_err();
        let StoreError::Invalid(inv) = bad else {
            panic!("{bad:?}")
        };
        assert_eq!(
            inv.0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["username", "password"]
        );
        assert_eq!(s.get_user("ALICE").await.unwrap().id, u.id);
        assert!(matches!(
            s.get_user("nobody").await,
            Err(StoreError::NotFound { .. })
        ));
        // Optimistic concurrency: a stale version is refused.
        let u2 = s
            .update_user(
                "user:admin",
                &u.id,
                UserPatch {
                    role: Some(Role::RiskManager),
                    ..Default::default()
                },
                1,
            )
            .await
            .unwrap();
        assert_eq!((u2.role, u2.version), (Role::RiskManager, 2));
        let stale = s
            .update_user(
                "user:admin",
                &u.id,
                UserPatch {
                    display_name: Some("x".into()),
                    ..Default::default()
                },
                1,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(
                stale,
                StoreError::VersionConflict {
                    expected: 1,
                    current: 2,
                    ..
                }
            ),
            "{stale:?}"
        );
        // The last enabled admin stays.
        let e = s
            .update_user(
                "user:admin",
                &admin.id,
                UserPatch {
                    disabled: Some(true),
                    ..Default::default()
                },
                1,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        assert_eq!(s.list_users().await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn login_sessions_and_throttling() {
    for h in backends().await {
        let s = &h.store;
        let alice = s
            .create_user("x", new("alice", Role::Viewer))
            .await
            .unwrap();
        let u = s
            .verify_login("alice", "a long enough password", "alice|1.2.3.4")
            .await
            .unwrap();
        assert_eq!(u.id, alice.id);
        assert!(matches!(
            s.verify_login("alice", "wrong password!!", "alice|1.2.3.4")
                .await,
            Err(StoreError::BadCredentials)
        ));
        assert!(matches!(
            s.verify_login("ghost", "whatever password", "ghost|1.2.3.4")
                .await,
            Err(StoreError::BadCredentials)
        ));
        // Five failures lock the key; the right password does not get in until the lock ends.
        for _ in 0..4 {
            let _ = s
                .verify_login("alice", "wrong password!!", "alice|9.9.9.9")
                .await;
        }
        assert!(matches!(
            s.verify_login("alice", "wrong password!!", "alice|9.9.9.9")
                .await,
            Err(StoreError::BadCredentials)
        ));
        assert!(
            matches!(
                s.verify_login("alice", "a long enough password", "alice|9.9.9.9")
                    .await,
                Err(StoreError::Locked { .. })
            ),
            "{}",
            h.name
        );
        assert!(
            s.verify_login("alice", "a long enough password", "alice|5.5.5.5")
                .await
                .is_ok(),
            "other clients are not locked out"
        );
        h.clock.advance(aigov_store::users::LOCK_SECONDS + 1);
        assert!(
            s.verify_login("alice", "a long enough password", "alice|9.9.9.9")
                .await
                .is_ok()
        );

        // Sessions: idle and absolute expiry.
        let (raw, csrf) = s.create_session(&alice, 3600).await.unwrap();
        assert_ne!(raw, csrf);
        let (su, c2) = s.session_user(&raw, 600).await.unwrap().unwrap();
        assert_eq!(
            (su.id.as_str(), c2.as_str()),
            (alice.id.as_str(), csrf.as_str())
        );
        assert!(
            s.session_user("not-a-session", 600)
                .await
                .unwrap()
                .is_none()
        );
        h.clock.advance(500);
        assert!(
            s.session_user(&raw, 600).await.unwrap().is_some(),
            "activity resets the idle timer"
        );
        h.clock.advance(500);
        assert!(s.session_user(&raw, 600).await.unwrap().is_some());
        h.clock.advance(601);
        assert!(
            s.session_user(&raw, 600).await.unwrap().is_none(),
            "idle too long"
        );
        let (raw, _) = s.create_session(&alice, 1000).await.unwrap();
        for _ in 0..3 {
            h.clock.advance(300);
            assert!(s.session_user(&raw, 600).await.unwrap().is_some());
        }
        h.clock.advance(300);
        assert!(
            s.session_user(&raw, 600).await.unwrap().is_none(),
            "past the absolute expiry"
        );
        // A password change ends sessions.
        let (raw, _) = s.create_session(&alice, 1000).await.unwrap();
        s.set_password("user:alice", "alice", "another long password")
            .await
            .unwrap();
        assert!(s.session_user(&raw, 600).await.unwrap().is_none());
        assert!(
            s.verify_login("alice", "another long password", "k")
                .await
                .is_ok()
        );
    }
}

#[tokio::test]
async fn api_tokens_are_hashed_scoped_expiring_and_revocable() {
    for h in backends().await {
        let s = &h.store;
        let admin = h.admin().await;
        let viewer = s.create_user("x", new("vic", Role::Viewer)).await.unwrap();
        let exp = h.clock_now().plus_seconds(86_400);
        let (t, secret) = s
            .create_token("user:vic", &viewer, "ci", Role::Viewer, exp)
            .await
            .unwrap();
        assert!(secret.starts_with(&format!("aigov_{}_", t.id)));
        let (tt, tu) = s.token_user(&secret).await.unwrap().unwrap();
        assert_eq!(
            (tt.id.as_str(), tu.id.as_str(), tt.role),
            (t.id.as_str(), viewer.id.as_str(), Role::Viewer)
        );
        assert!(
            s.token_user(&format!("aigov_{}_wrong", t.id))
                .await
                .unwrap()
                .is_none()
        );
        assert!(s.token_user("garbage").await.unwrap().is_none());
        // Scope: a viewer cannot mint an admin or auditor token.
        for r in [Role::Admin, Role::Auditor] {
            let e = s
                .create_token("user:vic", &viewer, "x", r, exp)
                .await
                .unwrap_err();
            assert!(matches!(e, StoreError::Invalid(_)), "{r}: {e:?}");
        }
        assert!(
            s.create_token("user:admin", &admin, "audit", Role::Auditor, exp)
                .await
                .is_ok()
        );
        assert!(matches!(
            s.create_token("x", &admin, "past", Role::Viewer, h.clock_now())
                .await,
            Err(StoreError::Invalid(_))
        ));
        // Revoked and expired tokens stop working.
        s.revoke_token("user:vic", &t.id).await.unwrap();
        assert!(s.token_user(&secret).await.unwrap().is_none());
        let (_, short) = s
            .create_token(
                "user:vic",
                &viewer,
                "short",
                Role::Viewer,
                h.clock_now().plus_seconds(60),
            )
            .await
            .unwrap();
        assert!(s.token_user(&short).await.unwrap().is_some());
        h.clock.advance(61);
        assert!(s.token_user(&short).await.unwrap().is_none());
        // The secret is not stored.
        let listed = serde_json::to_string(&s.list_tokens(None).await.unwrap()).unwrap();
        assert!(!listed.contains(secret.rsplit('_').next().unwrap()));
        // A disabled owner's tokens stop working.
        let (_, live) = s
            .create_token(
                "user:vic",
                &viewer,
                "live",
                Role::Viewer,
                h.clock_now().plus_seconds(600),
            )
            .await
            .unwrap();
        s.update_user(
            "user:admin",
            "vic",
            UserPatch {
                disabled: Some(true),
                ..Default::default()
            },
            1,
        )
        .await
        .unwrap();
        assert!(s.token_user(&live).await.unwrap().is_none());
    }
}
