//! Reports in the audit log: the chain head, recording `report.generated`, and finding the
//! events again by report id and by output hash.

use aigov_core::audit::GENESIS;
use aigov_store::reports::REPORT_GENERATED;
use serde_json::json;

use crate::backends;

#[tokio::test]
async fn report_events_are_recorded_in_the_chain_and_found_by_id_and_output_hash() {
    for h in backends().await {
        let s = &h.store;
        assert_eq!(
            s.audit_head().await.unwrap(),
            (0, GENESIS.to_string()),
            "{}",
            h.name
        );
        h.admin().await;
        let (seq, hash) = s.audit_head().await.unwrap();
        assert_eq!(seq, 1);
        assert_eq!(s.audit_get(1).await.unwrap().hash, hash);

        let ev = s
            .record_report(
                "user:admin",
                "rep-1",
                json!({"report_id": "rep-1", "format": "md", "output_sha256": "aa"}),
            )
            .await
            .unwrap();
        assert_eq!(
            (
                ev.seq,
                ev.action.as_str(),
                ev.object_type.as_str(),
                ev.object_id.as_str()
            ),
            (2, REPORT_GENERATED, "report", "rep-1")
        );
        assert_eq!(ev.prev_hash, hash);
        s.record_report(
            "user:admin",
            "rep-1",
            json!({"report_id": "rep-1", "format": "pdf", "output_sha256": "bb"}),
        )
        .await
        .unwrap();
        s.record_report(
            "user:bob",
            "rep-2",
            json!({"report_id": "rep-2", "format": "csv", "output_sha256": "cc"}),
        )
        .await
        .unwrap();
        assert_eq!(s.audit_head().await.unwrap().0, 4);

        let by_id = s.report_events("rep-1").await.unwrap();
        let formats: Vec<&str> = by_id
            .iter()
            .map(|e| e.details["format"].as_str().unwrap())
            .collect();
        assert_eq!(formats, ["md", "pdf"]);
        assert!(s.report_events("rep-3").await.unwrap().is_empty());
        let by_hash = s.report_events_by_output("cc").await.unwrap();
        assert_eq!(by_hash.len(), 1);
        assert_eq!(by_hash[0].object_id, "rep-2");
        assert!(s.report_events_by_output("dd").await.unwrap().is_empty());
        assert!(s.audit_verify().await.unwrap().broken.is_none());
    }
}
