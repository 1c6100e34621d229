//! `verify`: untouched files verify; a one-byte change is modified; unknown reports are
//! unknown; offline checks; a broken chain is reported.

use aigov_report::{Format, Kind, ReportRequest, Verdict, build, generate, render, verify};

use crate::{Harness, seed, sqlite};

async fn generated(h: &Harness, f: Format) -> (aigov_report::Report, Vec<u8>) {
    generate(
        h.store(),
        &h.lib,
        &ReportRequest {
            system: Some("SYS-1".into()),
            ..ReportRequest::new(Kind::System)
        },
        f,
        h.now(),
        "cli:tester",
    )
    .await
    .unwrap()
}

/// Flips one byte of visible text (the first `Prompt injection`, RISK-1's title).
fn tamper(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let at = b
        .windows(16)
        .position(|w| w == b"Prompt injection")
        .expect("RISK-1's title is in the file");
    b[at] = b'K';
    b
}

#[tokio::test]
async fn untouched_files_verify_and_changed_ones_do_not() {
    for h in crate::backends().await {
        seed(&h).await;
        for f in [Format::Html, Format::Markdown, Format::Json, Format::Csv] {
            let (r, bytes) = generated(&h, f).await;
            let v = verify(&bytes, Some(h.store())).await.unwrap();
            assert_eq!(
                v.verdict,
                Verdict::Verified,
                "{f:?} {}: {:?}",
                h.name,
                v.notes
            );
            assert_eq!(v.report_id.as_deref(), Some(r.meta.id.as_str()));
            assert_eq!(v.content_digest.as_deref(), Some(r.digest.as_str()));
            assert_eq!(v.format, Some(f));
            let ev = v.event.as_ref().unwrap();
            assert_eq!(
                (ev.actor.as_str(), ev.format.as_str()),
                ("cli:tester", f.as_str())
            );
            assert!(v.chain.as_ref().unwrap().ok);

            let bad = tamper(&bytes);
            let v = verify(&bad, Some(h.store())).await.unwrap();
            let expected = if f == Format::Csv {
                // CSV carries no id: changed bytes are simply not a known report.
                Verdict::Unknown
            } else {
                Verdict::Modified
            };
            assert_eq!(v.verdict, expected, "{f:?}: {:?}", v.notes);
            assert_eq!(v.verdict.exit_code(), if f == Format::Csv { 4 } else { 3 });
        }
    }
}

#[tokio::test]
async fn offline_files_with_embedded_data_are_checked_without_the_store() {
    let h = sqlite().await;
    seed(&h).await;
    for f in [Format::Html, Format::Markdown, Format::Json] {
        let (_, bytes) = generated(&h, f).await;
        let v = verify(&bytes, None).await.unwrap();
        assert_eq!(v.verdict, Verdict::Intact, "{f:?}: {:?}", v.notes);
        assert_eq!(v.embedded_ok, Some(true));
        let v = verify(&tamper(&bytes), None).await.unwrap();
        assert_eq!(v.verdict, Verdict::Modified, "{f:?}");
        assert_eq!(v.embedded_ok, Some(false));
    }
    let (_, csv) = generated(&h, Format::Csv).await;
    let v = verify(&csv, None).await.unwrap();
    assert_eq!((v.verdict, v.embedded_ok), (Verdict::Unknown, None));
}

#[tokio::test]
async fn reports_the_log_never_recorded_are_unknown() {
    let h = sqlite().await;
    seed(&h).await;
    // Built and rendered, never recorded.
    let r = build(
        h.store(),
        &h.lib,
        &ReportRequest::new(Kind::Register),
        h.now(),
        "cli:tester",
    )
    .await
    .unwrap();
    let bytes = render(&r, Format::Html).unwrap();
    let v = verify(&bytes, Some(h.store())).await.unwrap();
    assert_eq!(v.verdict, Verdict::Unknown, "{:?}", v.notes);
    assert_eq!(v.verdict.exit_code(), 4);
    // A report recorded in another store is unknown here.
    let other = sqlite().await;
    seed(&other).await;
    let (_, bytes) = generated(&other, Format::Markdown).await;
    let v = verify(&bytes, Some(h.store())).await.unwrap();
    assert_eq!(v.verdict, Verdict::Unknown);
    // Not a report at all.
    let v = verify(b"hello, world\n", Some(h.store())).await.unwrap();
    assert_eq!(v.verdict, Verdict::Unknown);
}

#[tokio::test]
async fn a_broken_audit_chain_is_reported() {
    let h = sqlite().await;
    seed(&h).await;
    let (_, bytes) = generated(&h, Format::Json).await;
    // Rewrite history under the store's feet: an early event's details change.
    {
        use sqlx::Connection;
        let path = h._dir_path().join("aigov.db");
        let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        sqlx::query("UPDATE audit_events SET details = '{\"forged\":true}' WHERE seq = 3")
            .execute(&mut c)
            .await
            .unwrap();
    }
    let v = verify(&bytes, Some(h.store())).await.unwrap();
    assert_eq!(v.verdict, Verdict::ChainBroken, "{:?}", v.notes);
    assert_eq!(v.chain.as_ref().unwrap().broken_at, Some(3));
    assert_eq!(v.verdict.exit_code(), 5);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// `verify` reads hostile files: whatever the bytes, behind whichever format's opening
    /// (so each embedded-data extractor is reached), it answers and never panics.
    #[test]
    fn verify_never_panics_on_hostile_files(
        head in 0usize..6,
        body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
    ) {
        let prefix: &[u8] = [
            &b""[..],
            b"<!DOCTYPE html><meta name=\"aigov-report-id\" content=\"",
            b"%PDF-1.7\n/Keywords (aigov-report:",
            b"{\"format_version\": 1, \"digest\": \"",
            b"# Report\n<!-- aigov-report\n{\"meta\":",
            b"<script type=\"application/json\" id=\"aigov-report\">{",
        ][head];
        let mut bytes = prefix.to_vec();
        bytes.extend_from_slice(&body);
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let _ = rt.block_on(aigov_report::verify(&bytes, None));
    }
}
