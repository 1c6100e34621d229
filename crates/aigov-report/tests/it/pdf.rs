//! PDF: renders through Typst in process; A4 pages; the text (via `pdftotext`, when
//! installed) has the title, grade names in Chinese, the system name, the hostile title
//! literally and page numbers; the file verifies through the audit log.

use aigov_report::{Format, Kind, ReportRequest, Verdict, generate, verify};

use crate::{HOSTILE, seed, sqlite};

fn pdftotext(bytes: &[u8]) -> Option<String> {
    poppler("pdftotext", bytes, &["-layout"])
}

/// Runs a poppler-utils tool on the PDF (None when it is not installed).
fn poppler(tool: &str, bytes: &[u8], args: &[&str]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("r.pdf");
    std::fs::write(&p, bytes).unwrap();
    let mut cmd = std::process::Command::new(tool);
    cmd.args(args).arg(&p);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn a_system_report_renders_as_pdf_with_cjk_text_and_verifies() {
    let h = sqlite().await;
    seed(&h).await;
    let (r, bytes) = generate(
        h.store(),
        &h.lib,
        &ReportRequest {
            system: Some("SYS-1".into()),
            ..ReportRequest::new(Kind::System)
        },
        Format::Pdf,
        h.now(),
        "cli:tester",
    )
    .await
    .unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    // For a look by eye: AIGOV_REPORT_DUMP=DIR keeps the PDF.
    if let Ok(d) = std::env::var("AIGOV_REPORT_DUMP") {
        std::fs::write(std::path::Path::new(&d).join("system.pdf"), &bytes).unwrap();
    }
    if let Some(info) = poppler("pdfinfo", &bytes, &[]) {
        assert!(info.contains("(A4)"), "A4 pages: {info}");
        assert!(
            info.contains("System risk assessment"),
            "title in the metadata: {info}"
        );
        assert!(
            info.contains(&r.meta.id),
            "report id in the keywords: {info}"
        );
    }
    match pdftotext(&bytes) {
        Some(text) => {
            assert!(text.contains("System risk assessment"), "title");
            assert!(text.contains("较大"), "CJK grade name");
            assert!(text.contains("Customer chatbot 客服机器人"), "system name");
            let pages = regex::Regex::new(r"(?m)System risk assessment: SYS-1 .*\s1\s*/\s*\d+\s*$")
                .unwrap();
            assert!(
                pages.is_match(&text),
                "title and page numbers in the footer: {text}"
            );
            let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains("#import \"x.typ\": * ] $x$ *bold*"),
                "hostile text literally"
            );
        }
        None => eprintln!("pdftotext not installed; PDF text not checked"),
    }
    let v = verify(&bytes, Some(h.store())).await.unwrap();
    assert_eq!(v.verdict, Verdict::Verified, "{:?}", v.notes);
    assert_eq!(v.report_id.as_deref(), Some(r.meta.id.as_str()));
    // A one-byte change near the end (inside the trailer) is not the recorded file.
    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let v = verify(&bad, Some(h.store())).await.unwrap();
    assert!(
        matches!(v.verdict, Verdict::Modified | Verdict::Unknown),
        "{:?}",
        v.verdict
    );
    assert_ne!(v.verdict, Verdict::Verified);
}

#[tokio::test]
async fn every_kind_renders_as_pdf() {
    let h = sqlite().await;
    seed(&h).await;
    for rq in [
        ReportRequest {
            system: Some("SYS-1".into()),
            ..ReportRequest::new(Kind::Compliance)
        },
        ReportRequest::new(Kind::Register),
        ReportRequest::new(Kind::Incident),
    ] {
        let (_, bytes) = generate(h.store(), &h.lib, &rq, Format::Pdf, h.now(), "cli:t")
            .await
            .unwrap();
        assert!(bytes.starts_with(b"%PDF-"), "{:?}", rq.kind);
        if let Some(t) = pdftotext(&bytes) {
            assert!(t.contains("Appendix"), "{:?}", rq.kind);
            assert!(t.contains("特别重大"), "grade definitions in CJK: {t}");
        }
    }
    let _ = HOSTILE;
}
