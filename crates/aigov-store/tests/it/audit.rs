//! The audit chain: every mutation is recorded; tampering with the SQLite file is detected at
//! the right link; schema and backup behaviour.

use aigov_core::inventory::ObjectKind;
use aigov_store::StoreError;
use aigov_store::audit_log::AuditQuery;
use serde_json::json;
use sqlx::Connection;

use crate::{backends, sqlite};

async fn some_history(h: &crate::Harness) {
    let s = &h.store;
    let admin = h.admin().await;
    for i in 0..5 {
        s.create_object(
            "user:admin",
            ObjectKind::System,
            json!({"name": format!("sys {i}"), "system_type": "generative"}),
            None,
        )
        .await
        .unwrap();
    }
    s.update_object(
        "user:admin",
        ObjectKind::System,
        "SYS-2",
        json!({"purpose": "x"}),
        1,
    )
    .await
    .unwrap();
    s.change_stage(
        "user:admin",
        "SYS-3",
        aigov_core::inventory::Stage::Deploy,
        "approved",
        1,
    )
    .await
    .unwrap();
    s.delete_object("user:admin", ObjectKind::System, "SYS-5", None)
        .await
        .unwrap();
    let _ = admin;
}

#[tokio::test]
async fn every_mutation_is_audited_in_order() {
    for h in backends().await {
        some_history(&h).await;
        let s = &h.store;
        let (events, total) = s
            .audit_list(&AuditQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "user.create",
                "system.create",
                "system.create",
                "system.create",
                "system.create",
                "system.create",
                "system.update",
                "system.stage",
                "system.delete"
            ],
            "{}",
            h.name
        );
        assert_eq!(total, 9);
        assert!(
            events
                .windows(2)
                .all(|w| w[1].prev_hash == w[0].hash && w[1].seq == w[0].seq + 1)
        );
        assert!(events[6].before_digest.is_some());
        assert_eq!(events[8].after_digest, None);
        assert_eq!(events[7].details["reason"], "approved");
        // Filters.
        let (f, n) = s
            .audit_list(&AuditQuery {
                action: Some("system.".into()),
                desc: true,
                limit: 2,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!((n, f[0].action.as_str(), f.len()), (8, "system.delete", 2));
        let (f, _) = s
            .audit_list(&AuditQuery {
                object_id: Some(events[1].object_id.clone()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(f.len(), 1);
        let r = s.audit_verify().await.unwrap();
        assert_eq!((r.events, r.head_seq, r.broken), (9, 9, None));
        assert_eq!(r.head_hash, events[8].hash);
    }
}

#[tokio::test]
async fn failed_transactions_leave_no_trace() {
    for h in backends().await {
        some_history(&h).await;
        let before = h.store.audit_verify().await.unwrap();
        // Refused inside the write transaction (unknown owner): nothing changes.
        let e = h.store.create_object("u", ObjectKind::System, json!({"name": "x", "system_type": "agent", "owner_id": "01890000-0000-7000-8000-000000000000"}), None).await;
        assert!(e.is_err());
        let after = h.store.audit_verify().await.unwrap();
        assert_eq!(
            (after.head_seq, after.head_hash.as_str()),
            (before.head_seq, before.head_hash.as_str()),
            "{}",
            h.name
        );
        let next = h
            .store
            .create_object(
                "u",
                ObjectKind::System,
                json!({"name": "y", "system_type": "agent"}),
                None,
            )
            .await
            .unwrap();
        assert_eq!(next.r#ref, "SYS-6");
    }
}

/// Runs `sql` directly against the SQLite file, as an attacker with file access would.
async fn tamper(db: &std::path::Path, sql: &str) {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
}

async fn fresh_copy(
    h: &crate::Harness,
    name: &str,
) -> (std::path::PathBuf, std::sync::Arc<dyn aigov_store::Store>) {
    let dir = h.dir.path().join(name);
    h.store.backup_to(&dir.join("aigov.db")).await.unwrap();
    let o = aigov_store::OpenOptions {
        data_dir: dir.clone(),
        create: false,
        password_cost: aigov_store::PasswordCost::Low,
        ..aigov_store::OpenOptions::new(&dir)
    };
    let s = aigov_store::open(&o).await.unwrap();
    (dir.join("aigov.db"), s)
}

#[tokio::test]
async fn tampering_with_the_sqlite_file_is_found_at_the_right_link() {
    let h = sqlite().await;
    some_history(&h).await;
    assert_eq!(h.store.audit_verify().await.unwrap().broken, None);

    // Edit event 4's details.
    let (db, s) = fresh_copy(&h, "edit").await;
    tamper(
        &db,
        "UPDATE audit_events SET details = '{\"name\":\"forged\"}' WHERE seq = 4",
    )
    .await;
    let b = s
        .audit_verify()
        .await
        .unwrap()
        .broken
        .expect("edit detected");
    assert_eq!(b.seq, 4, "{b}");
    assert!(b.reason.contains("edited"), "{b}");

    // Edit the actor of event 2 and recompute its hash the naive way: event 3 breaks.
    let (db, s) = fresh_copy(&h, "rehash").await;
    tamper(
        &db,
        "UPDATE audit_events SET actor = 'user:mallory', hash = 'f00d' WHERE seq = 2",
    )
    .await;
    assert_eq!(s.audit_verify().await.unwrap().broken.unwrap().seq, 2);

    // Delete event 6 from the middle.
    let (db, s) = fresh_copy(&h, "delete").await;
    tamper(&db, "DELETE FROM audit_events WHERE seq = 6").await;
    let b = s.audit_verify().await.unwrap().broken.unwrap();
    assert_eq!(b.seq, 6, "{b}");
    assert!(b.reason.contains("missing"), "{b}");

    // Delete the last event (truncation): the chain head still says 9.
    let (db, s) = fresh_copy(&h, "truncate").await;
    tamper(&db, "DELETE FROM audit_events WHERE seq = 9").await;
    assert_eq!(s.audit_verify().await.unwrap().broken.unwrap().seq, 9);

    // Insert a forged event after the head.
    let (db, s) = fresh_copy(&h, "insert").await;
    tamper(&db, "INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash) SELECT 10, 'x', at, 'user:mallory', 'user.create', 'user', 'x', NULL, NULL, '{}', hash, 'beef' FROM audit_events WHERE seq = 9").await;
    assert_eq!(s.audit_verify().await.unwrap().broken.unwrap().seq, 10);

    // Insert a forged event in the middle by shifting the rest up.
    let (db, s) = fresh_copy(&h, "insert-middle").await;
    tamper(
        &db,
        "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 5",
    )
    .await;
    tamper(
        &db,
        "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 105",
    )
    .await;
    tamper(&db, "INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, before_digest, after_digest, details, prev_hash, hash) SELECT 5, 'x', at, 'user:mallory', 'system.delete', 'system', 'x', NULL, NULL, '{}', hash, 'beef' FROM audit_events WHERE seq = 4").await;
    assert_eq!(s.audit_verify().await.unwrap().broken.unwrap().seq, 5);
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let h = sqlite().await;
    tamper(&h.dir.path().join("aigov.db"), "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (999, 'future', 'x', 'now')").await;
    let o = aigov_store::OpenOptions {
        create: false,
        ..aigov_store::OpenOptions::new(h.dir.path())
    };
    let e = aigov_store::open(&o).await.unwrap_err();
    assert!(
        matches!(e, StoreError::SchemaTooNew { found: 999, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("upgrade aigov"));
    // Opening twice applies nothing twice.
    let h = sqlite().await;
    assert_eq!(
        h.store.schema_version().await.unwrap(),
        aigov_store::latest_schema_version()
    );
    let again = aigov_store::open(&aigov_store::OpenOptions {
        create: false,
        ..aigov_store::OpenOptions::new(h.dir.path())
    })
    .await
    .unwrap();
    assert_eq!(
        again.schema_version().await.unwrap(),
        aigov_store::latest_schema_version()
    );
    // A read-only open of a missing database says what to do.
    let empty = tempfile::tempdir().unwrap();
    let e = aigov_store::open(&aigov_store::OpenOptions {
        create: false,
        ..aigov_store::OpenOptions::new(empty.path())
    })
    .await
    .unwrap_err();
    assert!(matches!(e, StoreError::NoDatabase(_)), "{e:?}");
}

#[tokio::test]
async fn backups_are_consistent_copies() {
    for h in backends().await {
        some_history(&h).await;
        let dest = h.dir.path().join("backup").join("aigov.db");
        match h.store.backup_to(&dest).await {
            Ok(()) => {
                let o = aigov_store::OpenOptions {
                    create: false,
                    ..aigov_store::OpenOptions::new(dest.parent().unwrap())
                };
                let copy = aigov_store::open(&o).await.unwrap();
                assert_eq!(copy.audit_verify().await.unwrap().events, 9);
                assert_eq!(
                    copy.export_objects(ObjectKind::System).await.unwrap().len(),
                    4
                );
                assert!(h.store.backup_to(&dest).await.is_err(), "never overwrites");
            }
            Err(e) => {
                assert_eq!(h.name, "postgres");
                assert!(e.to_string().contains("pg_dump"), "{e}");
            }
        }
    }
}
