//! Catalogs in the store.

use aigov_catalog::Library;
use aigov_catalog::load::{LoadOptions, parse_catalog};
use aigov_store::StoreError;

use crate::backends;

const DEMO: &str = "aigov_catalog: 1\nid: acme\nversion: \"1.0\"\ntitle: {en: ACME}\nitems:\n  - {ref: a, kind: risk, title: {en: A}}\n";

#[tokio::test]
async fn builtins_are_recorded_once_and_imports_keep_every_version() {
    for h in backends().await {
        let s = &h.store;
        let lib = Library::builtin().unwrap();
        let n = s.sync_builtin_catalogs(&lib).await.unwrap();
        assert_eq!(
            n,
            lib.catalogs().count() + lib.mapping_sets().count(),
            "{}",
            h.name
        );
        assert_eq!(
            s.sync_builtin_catalogs(&lib).await.unwrap(),
            0,
            "unchanged built-ins are not rewritten"
        );
        let rows = s.catalog_rows().await.unwrap();
        assert!(
            rows.iter()
                .any(|r| r.id == "tc260-aisgf" && r.version == "1.0" && r.origin == "builtin")
        );
        let v1 = parse_catalog("demo", DEMO, LoadOptions::default()).unwrap();
        assert!(s.import_catalog("user:a", &v1, false).await.unwrap());
        assert!(
            !s.import_catalog("user:a", &v1, false).await.unwrap(),
            "same content: no-op"
        );
        let changed = parse_catalog(
            "demo",
            &DEMO.replace("{en: A}", "{en: A2}"),
            LoadOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            s.import_catalog("user:a", &changed, false).await,
            Err(StoreError::Conflict(_))
        ));
        assert!(s.import_catalog("user:a", &changed, true).await.unwrap());
        let v2 = parse_catalog(
            "demo",
            &DEMO.replace("\"1.0\"", "\"2.0\""),
            LoadOptions::default(),
        )
        .unwrap();
        s.import_catalog("user:a", &v2, false).await.unwrap();
        let loaded = s.load_library().await.unwrap();
        assert_eq!(loaded.versions("acme").count(), 2);
        assert_eq!(
            loaded.get("acme", Some("1.0")).unwrap().items[0]
                .title
                .en
                .as_deref(),
            Some("A2")
        );
        let bi = parse_catalog(
            "demo",
            &DEMO.replace("id: acme", "id: tc260-aisgf"),
            LoadOptions::default(),
        )
        .unwrap();
        assert!(matches!(
            s.import_catalog("user:a", &bi, true).await,
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.audit_verify().await.unwrap().broken, None);
    }
}
