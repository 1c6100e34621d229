//! Import and export formats: aigov YAML/JSON, CSV, OSCAL catalog JSON, SSSOM TSV (mapping
//! sets), and CISO Assistant library YAML (import only).

pub mod aigov;
pub mod ciso;
pub mod csv;
pub mod oscal;
pub mod sssom;

use serde_json::Value;

use crate::load::{Diagnostic, Diagnostics, Document, LoadOptions, MAX_FILE_BYTES, parse_document};
use crate::model::*;

pub use oscal::ImportOverrides;

/// A format for `aigov catalog export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// aigov YAML (the authoring format).
    Yaml,
    /// aigov JSON (the stable JSON shape).
    Json,
    /// CSV with a `#` header block.
    Csv,
    /// OSCAL 1.1 catalog JSON.
    Oscal,
    /// SSSOM TSV (mapping sets only).
    Sssom,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "yaml" | "yml" => ExportFormat::Yaml,
            "json" => ExportFormat::Json,
            "csv" => ExportFormat::Csv,
            "oscal" => ExportFormat::Oscal,
            "sssom" => ExportFormat::Sssom,
            other => {
                return Err(format!(
                    "unknown export format {other:?} (expected yaml, json, csv, oscal or sssom)"
                ));
            }
        })
    }
}

/// Exports a catalog. SSSOM is a mapping-set format; see [`export_mapping_set`].
pub fn export_catalog(c: &Catalog, f: ExportFormat) -> Result<String, String> {
    Ok(match f {
        ExportFormat::Yaml => aigov::catalog_yaml(c),
        ExportFormat::Json => aigov::to_json_string(&aigov::catalog_json(c)),
        ExportFormat::Csv => csv::catalog_csv(c),
        ExportFormat::Oscal => aigov::to_json_string(&oscal::catalog_oscal(c)),
        ExportFormat::Sssom => return Err("SSSOM holds mappings, not catalogs: export a mapping set, or the mapping sets of this catalog".into()),
    })
}

/// Exports a mapping set (yaml, json or sssom). `label` supplies item titles for SSSOM labels.
pub fn export_mapping_set(
    s: &MappingSet,
    f: ExportFormat,
    label: &dyn Fn(&MappingTarget, &str) -> Option<String>,
) -> Result<String, String> {
    Ok(match f {
        ExportFormat::Yaml => aigov::mapping_set_yaml(s),
        ExportFormat::Json => aigov::to_json_string(&aigov::mapping_set_json(s)),
        ExportFormat::Sssom => sssom::mapping_set_sssom(s, label),
        ExportFormat::Csv | ExportFormat::Oscal => {
            return Err("mapping sets export as yaml, json or sssom".into());
        }
    })
}

/// What an imported file holds.
#[derive(Debug, Default)]
pub struct Imported {
    /// The format detected.
    pub format: &'static str,
    /// Catalogs.
    pub catalogs: Vec<Catalog>,
    /// Mapping sets (refs not yet checked against the library).
    pub mapping_sets: Vec<MappingSet>,
    /// Notes about what was left out.
    pub skipped: Vec<String>,
}

/// Reads any importable file: aigov YAML/JSON, aigov CSV, SSSOM TSV, OSCAL catalog JSON or a
/// CISO Assistant library. The format is decided by content, not by file name.
pub fn import_file(file: &str, src: &str, ov: &ImportOverrides) -> Result<Imported, Diagnostics> {
    import_file_with(file, src, ov, &|_| None)
}

/// [`import_file`] with a resolver for CISO Assistant requirement URNs imported earlier.
pub fn import_file_with(
    file: &str,
    src: &str,
    ov: &ImportOverrides,
    resolve_urn: &dyn Fn(&str) -> Option<(CatalogKey, String)>,
) -> Result<Imported, Diagnostics> {
    let one = |code: &'static str, message: String| {
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line: None,
            item: None,
            code,
            message,
        }])
    };
    if src.len() > MAX_FILE_BYTES {
        return Err(one(
            "too-large",
            format!("file is {} bytes; the limit is {MAX_FILE_BYTES}", src.len()),
        ));
    }
    let src = src.trim_start_matches('\u{feff}');
    if csv::is_catalog_csv(src) {
        let c = csv::parse_catalog_csv(file, src)?;
        return Ok(Imported {
            format: "aigov-csv",
            catalogs: vec![c],
            ..Default::default()
        });
    }
    if sssom::is_sssom(src) {
        let s = sssom::parse_sssom(file, src)?;
        return Ok(Imported {
            format: "sssom",
            mapping_sets: vec![s],
            ..Default::default()
        });
    }
    let head = src.trim_start();
    if head.starts_with("aigov_catalog")
        || head.starts_with("aigov_mapping_set")
        || src.contains("\"aigov_catalog\"")
        || src.contains("\"aigov_mapping_set\"")
        || src.contains("\naigov_catalog:")
        || src.contains("\naigov_mapping_set:")
    {
        return match parse_document(file, src, LoadOptions::default())? {
            Document::Catalog(c) => Ok(Imported {
                format: "aigov",
                catalogs: vec![c],
                ..Default::default()
            }),
            Document::MappingSet(s) => Ok(Imported {
                format: "aigov",
                mapping_sets: vec![s],
                ..Default::default()
            }),
        };
    }
    // Generic parse for OSCAL (JSON) and CISO Assistant (YAML).
    let value: Value = if head.starts_with('{') {
        serde_json::from_str(src).map_err(|e| {
            Diagnostics(vec![Diagnostic {
                file: file.to_string(),
                line: Some(e.line() as u64),
                item: None,
                code: "syntax",
                message: format!("invalid JSON: {e}"),
            }])
        })?
    } else {
        serde_saphyr::from_str(src).map_err(|e| {
            let line = e.location().map(|l| l.line());
            let msg = e.to_string();
            Diagnostics(vec![Diagnostic {
                file: file.to_string(),
                line,
                item: None,
                code: "syntax",
                message: msg.lines().next().unwrap_or("invalid YAML").to_string(),
            }])
        })?
    };
    if oscal::is_oscal_catalog(&value) {
        let c = oscal::parse_oscal(file, &value, ov)?;
        return Ok(Imported {
            format: "oscal",
            catalogs: vec![c],
            ..Default::default()
        });
    }
    if ciso::is_ciso_library(&value) {
        let r = ciso::parse_ciso(file, &value, resolve_urn)?;
        return Ok(Imported {
            format: "ciso-assistant",
            catalogs: r.catalogs,
            mapping_sets: r.mapping_sets,
            skipped: r.skipped,
        });
    }
    Err(one(
        "unknown-format",
        "unrecognised file: expected an aigov catalog or mapping set (YAML/JSON/CSV), SSSOM TSV, an OSCAL catalog (JSON) or a CISO Assistant library (YAML)".into(),
    ))
}
