//! Parquet input (feature `parquet`): row groups as shards, rows as records, string values of
//! the selected top-level columns (recursively through structs, lists and maps) as texts.

use std::fs::File;
use std::path::Path;

use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::Field;

fn open(path: &Path) -> Result<SerializedFileReader<File>, String> {
    let f = File::open(path).map_err(|e| e.to_string())?;
    SerializedFileReader::new(f).map_err(|e| format!("not a readable Parquet file: {e}"))
}

/// Compressed size of each row group.
pub fn row_group_sizes(path: &Path) -> Result<Vec<u64>, String> {
    let r = open(path)?;
    Ok(r.metadata()
        .row_groups()
        .iter()
        .map(|g| g.compressed_size().max(0) as u64)
        .collect())
}

/// Number of rows, from the footer.
pub fn num_rows(path: &Path) -> Result<u64, String> {
    let r = open(path)?;
    Ok(r.metadata().file_metadata().num_rows().max(0) as u64)
}

/// Names of the top-level columns.
pub fn columns(path: &Path) -> Result<Vec<String>, String> {
    let r = open(path)?;
    Ok(r.metadata()
        .file_metadata()
        .schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect())
}

fn collect(path: &str, f: &Field, out: &mut Vec<(String, String)>, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    match f {
        Field::Str(s) if !s.is_empty() => out.push((path.to_string(), s.clone())),
        Field::Group(row) => {
            for (name, v) in row.get_column_iter() {
                collect(&format!("{path}/{name}"), v, out, budget);
            }
        }
        Field::ListInternal(list) => {
            for (i, v) in list.elements().iter().enumerate() {
                collect(&format!("{path}/{i}"), v, out, budget);
            }
        }
        Field::MapInternal(map) => {
            for (i, (k, v)) in map.entries().iter().enumerate() {
                collect(&format!("{path}/{i}/key"), k, out, budget);
                collect(&format!("{path}/{i}/value"), v, out, budget);
            }
        }
        _ => {}
    }
}

/// A row callback: `(row index, (field path, text) pairs)`.
pub type RowFn<'a> = dyn FnMut(u64, &[(String, String)]) -> Result<(), String> + 'a;

/// Calls `f(row_index, texts)` for every row of row groups `start..end`, where `texts` holds
/// `(field path, text)` for the string values of the selected top-level `columns` (all when
/// empty). `on_group(bytes)` is called after each row group with its compressed size.
pub fn for_each_row(
    path: &Path,
    start: usize,
    end: usize,
    columns: &[String],
    on_group: &mut dyn FnMut(u64),
    f: &mut RowFn<'_>,
) -> Result<(), String> {
    let r = open(path)?;
    let meta = r.metadata();
    let schema = meta.file_metadata().schema();
    let projection = if columns.is_empty() {
        None
    } else {
        let mut fields = Vec::new();
        for c in columns {
            let fld = schema
                .get_fields()
                .iter()
                .find(|t| t.name() == c)
                .ok_or_else(|| {
                    format!(
                        "no column {c:?}; columns: {}",
                        schema
                            .get_fields()
                            .iter()
                            .map(|t| t.name().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?;
            fields.push(fld.clone());
        }
        Some(
            parquet::schema::types::Type::group_type_builder(schema.name())
                .with_fields(fields)
                .build()
                .map_err(|e| e.to_string())?,
        )
    };
    let mut row_index: u64 = meta.row_groups()[..start.min(meta.num_row_groups())]
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .sum();
    let mut texts = Vec::new();
    for g in start..end.min(meta.num_row_groups()) {
        let rg = r
            .get_row_group(g)
            .map_err(|e| format!("row group {g}: {e}"))?;
        let rows = rg
            .get_row_iter(projection.clone())
            .map_err(|e| format!("row group {g}: {e}"))?;
        for row in rows {
            let row = row.map_err(|e| format!("row {row_index}: {e}"))?;
            texts.clear();
            let mut budget = 1 << 20;
            for (name, v) in row.get_column_iter() {
                collect(name, v, &mut texts, &mut budget);
            }
            f(row_index, &texts)?;
            row_index += 1;
        }
        on_group(meta.row_group(g).compressed_size().max(0) as u64);
    }
    Ok(())
}
