//! Inventory: systems and components, versions, stages, links, imports, secrets.

use aigov_core::inventory::{LinkRel, ObjectKind, Stage};
use aigov_store::StoreError;
use aigov_store::inventory::{Filter, ListQuery, SortKey};
use serde_json::json;

use crate::backends;

#[tokio::test]
async fn systems_crud_with_versions_and_refs() {
    for h in backends().await {
        let s = &h.store;
        let admin = h.admin().await;
        let a = s.create_object("user:admin", ObjectKind::System, json!({"name": "Chat assistant", "system_type": "generative", "public_facing": true, "tc260_roles": ["service-provider"], "owner_id": admin.id}), None).await.unwrap();
        assert_eq!(
            (a.r#ref.as_str(), a.version, a.lifecycle_stage),
            ("SYS-1", 1, Some(Stage::Plan)),
            "{}",
            h.name
        );
        assert_eq!(a.data["status"], "active");
        let b = s.create_object("user:admin", ObjectKind::System, json!({"name": "Triage model", "system_type": "decision", "sector": "healthcare", "key_area": true}), Some(Stage::Verify)).await.unwrap();
        assert_eq!(b.r#ref, "SYS-2");
        // Lookup by ref or id.
        assert_eq!(
            s.get_object(ObjectKind::System, "sys-2").await.unwrap().id,
            b.id
        );
        assert_eq!(
            s.get_object(ObjectKind::System, &b.id).await.unwrap().r#ref,
            "SYS-2"
        );
        assert!(matches!(
            s.get_object(ObjectKind::Model, "SYS-2").await,
            Err(StoreError::NotFound { .. })
        ));
        // Validation names fields; an unknown owner is refused; nothing is written.
        let e = s
            .create_object(
                "u",
                ObjectKind::System,
                json!({"name": "", "system_type": "oracle"}),
                None,
            )
            .await
            .unwrap_err();
        let StoreError::Invalid(inv) = e else {
            panic!()
        };
        assert_eq!(inv.0[0].field, "system_type", "{inv:?}");
        let e = s.create_object("u", ObjectKind::System, json!({"name": "x", "system_type": "agent", "owner_id": "01890000-0000-7000-8000-000000000000"}), None).await.unwrap_err();
        assert!(format!("{e}").contains("no such user"), "{e}");
        let c = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Third", "system_type": "agent"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(c.r#ref, "SYS-3", "failed creates do not use up refs");
        // Merge-patch update with versions.
        let a2 = s
            .update_object(
                "user:admin",
                ObjectKind::System,
                "SYS-1",
                json!({"description": "Answers customers", "public_facing": null}),
                1,
            )
            .await
            .unwrap();
        assert_eq!(
            (
                a2.version,
                a2.data["description"].as_str(),
                a2.data["public_facing"].as_bool()
            ),
            (2, Some("Answers customers"), Some(false))
        );
        let stale = s
            .update_object(
                "user:bob",
                ObjectKind::System,
                "SYS-1",
                json!({"name": "Mine"}),
                1,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(stale, StoreError::VersionConflict { current: 2, .. }),
            "{stale:?}"
        );
        let e = s
            .update_object(
                "u",
                ObjectKind::System,
                "SYS-1",
                json!({"lifecycle_stage": "deploy"}),
                2,
            )
            .await
            .unwrap_err();
        assert!(format!("{e}").contains("stage"), "{e}");
        let e = s
            .update_object(
                "u",
                ObjectKind::System,
                "SYS-1",
                json!({"colour": "red"}),
                2,
            )
            .await
            .unwrap_err();
        assert!(format!("{e}").contains("colour"), "{e}");
        // Lists: filter, sort, paginate.
        let (items, total) = s
            .list_objects(
                ObjectKind::System,
                &ListQuery {
                    filters: vec![Filter::KeyArea(true)],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!((total, items[0].r#ref.as_str()), (1, "SYS-2"));
        let (items, total) = s
            .list_objects(
                ObjectKind::System,
                &ListQuery {
                    sort: SortKey::Name,
                    desc: true,
                    limit: 2,
                    offset: 0,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(total, 3);
        assert_eq!(
            items.iter().map(|r| r.r#ref.as_str()).collect::<Vec<_>>(),
            ["SYS-2", "SYS-3"]
        );
        let (items, _) = s
            .list_objects(
                ObjectKind::System,
                &ListQuery {
                    q: Some("ASSIST".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(items.len(), 1);
        let (items, _) = s
            .list_objects(
                ObjectKind::System,
                &ListQuery {
                    q: Some("%".into()),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert!(items.is_empty(), "LIKE wildcards in the query are literal");
        let (items, _) = s
            .list_objects(
                ObjectKind::System,
                &ListQuery {
                    filters: vec![
                        Filter::Stage(Stage::Verify),
                        Filter::Sector("healthcare".into()),
                    ],
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(items.len(), 1);
        // Delete; refs are not reused.
        s.delete_object("user:admin", ObjectKind::System, "SYS-3", Some(1))
            .await
            .unwrap();
        let d = s
            .create_object(
                "user:admin",
                ObjectKind::System,
                json!({"name": "Fourth", "system_type": "other"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(d.r#ref, "SYS-4");
    }
}

#[tokio::test]
async fn stage_changes_are_recorded_with_reasons() {
    for h in backends().await {
        let s = &h.store;
        let a = s
            .create_object(
                "user:a",
                ObjectKind::System,
                json!({"name": "S", "system_type": "generative"}),
                None,
            )
            .await
            .unwrap();
        h.clock.advance(10);
        let e = s
            .change_stage("user:a", "SYS-1", Stage::Train, " ", 1)
            .await
            .unwrap_err();
        assert!(format!("{e}").contains("reason"));
        let a2 = s
            .change_stage("user:a", "SYS-1", Stage::Train, "data ready", 1)
            .await
            .unwrap();
        assert_eq!((a2.lifecycle_stage, a2.version), (Some(Stage::Train), 2));
        assert!(matches!(
            s.change_stage("user:b", "SYS-1", Stage::Deploy, "go", 1)
                .await,
            Err(StoreError::VersionConflict { .. })
        ));
        assert!(
            s.change_stage("user:a", "SYS-1", Stage::Train, "again", 2)
                .await
                .is_err(),
            "same stage"
        );
        h.clock.advance(10);
        s.change_stage("user:b", &a.id, Stage::Verify, "trained", 2)
            .await
            .unwrap();
        let hist = s.stage_history("SYS-1").await.unwrap();
        let got: Vec<(Option<Stage>, Stage, &str, &str)> = hist
            .iter()
            .map(|c| {
                (
                    c.from_stage,
                    c.to_stage,
                    c.reason.as_str(),
                    c.actor.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (None, Stage::Plan, "registered", "user:a"),
                (Some(Stage::Plan), Stage::Train, "data ready", "user:a"),
                (Some(Stage::Train), Stage::Verify, "trained", "user:b")
            ]
        );
        assert!(hist[1].at < hist[2].at);
    }
}

#[tokio::test]
async fn components_links_and_guarded_deletes() {
    for h in backends().await {
        let s = &h.store;
        let sys = s
            .create_object(
                "u",
                ObjectKind::System,
                json!({"name": "S", "system_type": "generative"}),
                None,
            )
            .await
            .unwrap();
        let m = s.create_object("u", ObjectKind::Model, json!({"name": "Qwen-7B-ft", "version": "2", "provider": "in-house", "artifact_hashes": [{"algorithm": "sha256", "value": "a".repeat(64)}]}), None).await.unwrap();
        let d = s
            .create_object(
                "u",
                ObjectKind::Dataset,
                json!({"name": "chats", "personal_information": true, "languages": ["zh"]}),
                None,
            )
            .await
            .unwrap();
        let v = s
            .create_object(
                "u",
                ObjectKind::Vendor,
                json!({"name": "Cloud Co", "country": "CN", "website": "https://cloud.example"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(
            (m.r#ref.as_str(), d.r#ref.as_str(), v.r#ref.as_str()),
            ("MDL-1", "DS-1", "VND-1")
        );
        let l1 = s
            .create_link("u", "SYS-1", LinkRel::Uses, "MDL-1")
            .await
            .unwrap();
        s.create_link("u", &m.id, LinkRel::TrainedOn, "DS-1")
            .await
            .unwrap();
        s.create_link("u", "MDL-1", LinkRel::SuppliedBy, "VND-1")
            .await
            .unwrap();
        assert!(matches!(
            s.create_link("u", "SYS-1", LinkRel::Uses, "MDL-1").await,
            Err(StoreError::Duplicate(_))
        ));
        let e = s
            .create_link("u", "VND-1", LinkRel::Uses, "SYS-1")
            .await
            .unwrap_err();
        assert!(format!("{e}").contains("cannot be linked"), "{e}");
        assert!(
            s.create_link("u", "SYS-1", LinkRel::Uses, "MDL-99")
                .await
                .is_err()
        );
        assert_eq!(s.list_links(Some("MDL-1")).await.unwrap().len(), 3);
        let e = s
            .delete_object("u", ObjectKind::Model, "MDL-1", None)
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        s.delete_link("u", &l1.id).await.unwrap();
        assert_eq!(s.list_links(Some(&sys.id)).await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn endpoint_secrets_are_encrypted_and_never_returned() {
    for h in backends().await {
        let s = &h.store;
        let ep = s
            .create_object("u", ObjectKind::Endpoint, json!({"name": "prod", "url": "https://llm.example/v1", "api_style": "openai-chat", "credential": {"kind": "stored", "secret": "sk-very-secret-1"}}), None)
            .await
            .unwrap();
        assert_eq!(ep.has_secret, Some(true));
        let shown =
            serde_json::to_string(&s.get_object(ObjectKind::Endpoint, "EP-1").await.unwrap())
                .unwrap();
        assert!(!shown.contains("sk-very-secret-1"), "{shown}");
        assert_eq!(
            s.endpoint_secret("EP-1").await.unwrap().as_deref(),
            Some("sk-very-secret-1")
        );
        // An edit may keep the secret without resending it, or replace it.
        let ep2 = s
            .update_object(
                "u",
                ObjectKind::Endpoint,
                "EP-1",
                json!({"name": "production"}),
                1,
            )
            .await
            .unwrap();
        assert_eq!(ep2.has_secret, Some(true));
        assert_eq!(
            s.endpoint_secret("EP-1").await.unwrap().as_deref(),
            Some("sk-very-secret-1")
        );
        s.update_object(
            "u",
            ObjectKind::Endpoint,
            "EP-1",
            json!({"credential": {"secret": "sk-rotated-2"}}),
            2,
        )
        .await
        .unwrap();
        assert_eq!(
            s.endpoint_secret("EP-1").await.unwrap().as_deref(),
            Some("sk-rotated-2")
        );
        let ep4 = s
            .update_object(
                "u",
                ObjectKind::Endpoint,
                "EP-1",
                json!({"credential": {"kind": "env", "env_var": "LLM_KEY", "secret": null}}),
                3,
            )
            .await
            .unwrap();
        assert_eq!(ep4.has_secret, Some(false));
        assert_eq!(s.endpoint_secret("EP-1").await.unwrap(), None);
        // Audit details never hold the secret.
        let mut leaked = false;
        s.audit_each(|e| {
            leaked |= e.details.to_string().contains("sk-");
            Ok(())
        })
        .await
        .unwrap();
        assert!(!leaked);
    }
    // On SQLite, the raw column holds ciphertext, not the secret.
    let h = crate::sqlite().await;
    h.store.create_object("u", ObjectKind::Endpoint, json!({"name": "p", "url": "http://x", "api_style": "http-json", "credential": {"kind": "stored", "secret": "plain-text-secret"}}), None).await.unwrap();

    let raw = std::fs::read(h.dir.path().join("aigov.db")).unwrap();
    let wal = std::fs::read(h.dir.path().join("aigov.db-wal")).unwrap_or_default();
    let needle = b"plain-text-secret";
    assert!(
        !raw.windows(needle.len()).any(|w| w == needle)
            && !wal.windows(needle.len()).any(|w| w == needle)
    );
}

#[tokio::test]
async fn imports_write_all_rows_or_none() {
    for h in backends().await {
        let s = &h.store;
        let rows = vec![
            (2, json!({"name": "ok one", "system_type": "generative"})),
            (3, json!({"name": "", "system_type": "generative"})),
            (4, json!({"name": "bad type", "system_type": "robot"})),
            (5, json!({"name": "ok two", "system_type": "agent"})),
        ];
        let e = s
            .import_objects("u", ObjectKind::System, rows)
            .await
            .unwrap_err();
        let StoreError::ImportRows(errs) = e else {
            panic!("{e:?}")
        };
        let fields: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["line 3: name", "line 4: system_type"],
            "{}",
            h.name
        );
        assert_eq!(
            s.list_objects(ObjectKind::System, &ListQuery::default())
                .await
                .unwrap()
                .1,
            0,
            "nothing written"
        );
        let head = s.audit_verify().await.unwrap().head_seq;
        assert_eq!(head, 0, "no audit events either");
        let ok = s
            .import_objects(
                "u",
                ObjectKind::System,
                vec![
                    (2, json!({"name": "a", "system_type": "generative"})),
                    (3, json!({"name": "b", "system_type": "agent"})),
                ],
            )
            .await
            .unwrap();
        assert_eq!(
            ok.iter().map(|r| r.r#ref.as_str()).collect::<Vec<_>>(),
            ["SYS-1", "SYS-2"]
        );
        assert_eq!(s.export_objects(ObjectKind::System).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn concurrent_writers_get_unique_refs_and_an_intact_chain() {
    for h in backends().await {
        let mut tasks = Vec::new();
        for i in 0..24 {
            let s = h.store.clone();
            tasks.push(tokio::spawn(async move {
                s.create_object(
                    &format!("user:u{i}"),
                    ObjectKind::System,
                    json!({"name": format!("s{i}"), "system_type": "other"}),
                    None,
                )
                .await
            }));
        }
        let mut refs = Vec::new();
        for t in tasks {
            refs.push(t.await.unwrap().unwrap().r#ref);
        }
        refs.sort_by_key(|r| r[4..].parse::<i64>().unwrap());
        assert_eq!(
            refs,
            (1..=24).map(|i| format!("SYS-{i}")).collect::<Vec<_>>(),
            "{}",
            h.name
        );
        let v = h.store.audit_verify().await.unwrap();
        assert_eq!((v.events, v.broken), (24, None));
    }
}
