//! CSV: the report's main table only — risks (system and register reports), compliance gaps
//! over every catalog in scope (compliance), incidents (incident reports). A header row, then
//! one row per item; grades as their names. Nothing else goes in the file (no comment lines,
//! no sidecar), so it stays clean CSV; `aigov report verify` finds it in the audit log by the
//! sha256 of its bytes. Text that a spreadsheet would run as a formula (starting with `=`,
//! `+`, `-`, `@`, tab or CR) is prefixed with `'`.

use crate::ReportError;
use crate::layout::main_table;
use crate::model::Report;

pub(crate) fn render(r: &Report) -> Result<Vec<u8>, ReportError> {
    let t = main_table(r);
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| ReportError::Render(e.to_string());
    w.write_record(&t.columns).map_err(err)?;
    for row in &t.rows {
        w.write_record(row.iter().map(|c| defuse(c.text()).into_owned()))
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| ReportError::Render(e.to_string()))
}

/// Neutralises spreadsheet formulas (OWASP CSV injection) in user text.
fn defuse(s: &str) -> std::borrow::Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}").into(),
        _ => s.into(),
    }
}
