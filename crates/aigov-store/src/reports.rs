//! Reports in the audit log. A report is a read-only view of the store; generating one
//! appends a single `report.generated` event (object type `report`, object id the report id)
//! whose details carry the report's content digest and the sha256 of the bytes handed out,
//! so `aigov report verify` can tie a file back to the log.

use aigov_core::audit::AuditEvent;
use serde_json::Value;

use crate::audit_log::AuditQuery;
use crate::db::{SqlCore, audit_head};
use crate::error::StoreResult;

/// The audit action written when a report is generated.
pub const REPORT_GENERATED: &str = "report.generated";

/// Events read per page when searching report events by file hash.
const PAGE: i64 = 1_000;

impl SqlCore {
    /// The audit chain head now: `(last sequence number, its hash)`; `(0, 64 zeros)` for an
    /// empty log.
    pub async fn audit_head(&self) -> StoreResult<(i64, String)> {
        audit_head(&self.pool).await
    }

    /// Records that report `report_id` was generated, with `details` (kind, scope, format,
    /// content digest, output sha256 …), as one audited transaction.
    pub async fn record_report(
        &self,
        actor: &str,
        report_id: &str,
        details: Value,
    ) -> StoreResult<AuditEvent> {
        let mut tx = self.begin_write(actor).await?;
        let ev = tx
            .audit(REPORT_GENERATED, "report", report_id, None, None, details)
            .await?;
        tx.commit().await?;
        Ok(ev)
    }

    /// The `report.generated` events of one report id, oldest first (one per rendering).
    pub async fn report_events(&self, report_id: &str) -> StoreResult<Vec<AuditEvent>> {
        let q = AuditQuery {
            action: Some(REPORT_GENERATED.into()),
            object_type: Some("report".into()),
            object_id: Some(report_id.into()),
            limit: PAGE,
            ..Default::default()
        };
        Ok(self.audit_list(&q).await?.0)
    }

    /// The `report.generated` events whose output had this sha256 (for files that do not
    /// carry their report id, such as CSV).
    pub async fn report_events_by_output(&self, sha256: &str) -> StoreResult<Vec<AuditEvent>> {
        let mut out = Vec::new();
        let mut offset = 0;
        loop {
            let q = AuditQuery {
                action: Some(REPORT_GENERATED.into()),
                object_type: Some("report".into()),
                limit: PAGE,
                offset,
                ..Default::default()
            };
            let (page, _) = self.audit_list(&q).await?;
            let n = page.len() as i64;
            out.extend(
                page.into_iter()
                    .filter(|e| e.details["output_sha256"].as_str() == Some(sha256)),
            );
            if n < PAGE {
                return Ok(out);
            }
            offset += n;
        }
    }
}
