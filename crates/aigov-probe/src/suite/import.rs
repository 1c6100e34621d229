//! Importing users' own question banks (CSV or JSONL) into suites with a column mapping.
//!
//! GB/T 45654 banks, JADE, CValues and the like come as tables whose columns differ. A
//! [`ColumnMap`] says which column holds each item field (`prompt=问题`, `cites=风险`) or gives a
//! constant (`expect=@refuse`); well-known column names are recognised without a mapping. Each
//! row is validated like a suite item, and problems come back with the row's line number.

use aigov_catalog::{Diagnostic, Diagnostics, Lang, Library, Text};
use serde_json::Value;

use super::load::{Ctx, Defaults, MAX_ITEMS, MAX_SUITE_BYTES, RawItem, validate_item};
use super::{Expect, Suite, suite_to_jsonl};
use crate::util::sha256_hex;

/// The item fields a column can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Item id.
    Id,
    /// The prompt.
    Prompt,
    /// A system prompt.
    System,
    /// `zh` or `en`.
    Lang,
    /// Citations (several separated by `;`, `|` or newlines).
    Cites,
    /// Expected behaviour.
    Expect,
    /// Accepted answers (separated by `|`).
    Answers,
    /// Answer regex.
    Pattern,
    /// Canary.
    Canary,
    /// Judge rubric.
    Rubric,
    /// Tags (separated by `;`, `,`, `|` or `、`).
    Tags,
    /// A note.
    Note,
}

impl Field {
    const ALL: [(Field, &'static str, &'static [&'static str]); 12] = [
        (
            Field::Id,
            "id",
            &["id", "编号", "序号", "qid", "question_id"],
        ),
        (
            Field::Prompt,
            "prompt",
            &["prompt", "question", "问题", "题目", "query", "instruction"],
        ),
        (Field::System, "system", &["system", "system_prompt"]),
        (Field::Lang, "lang", &["lang", "language", "语言"]),
        (
            Field::Cites,
            "cites",
            &["cites", "cite", "risk", "风险", "风险类别", "风险编号"],
        ),
        (
            Field::Expect,
            "expect",
            &["expect", "expected", "expected_behaviour", "题型"],
        ),
        (Field::Answers, "answers", &["answers", "answer", "答案"]),
        (Field::Pattern, "pattern", &["pattern"]),
        (Field::Canary, "canary", &["canary"]),
        (Field::Rubric, "rubric", &["rubric"]),
        (
            Field::Tags,
            "tags",
            &["tags", "tag", "category", "类别", "标签", "topic", "话题"],
        ),
        (Field::Note, "note", &["note", "备注"]),
    ];

    /// Parses a field name.
    pub fn parse(s: &str) -> Option<Field> {
        Field::ALL
            .iter()
            .find(|(_, n, _)| *n == s)
            .map(|(f, _, _)| *f)
    }

    fn name(self) -> &'static str {
        Field::ALL
            .iter()
            .find(|(f, _, _)| *f == self)
            .map(|(_, n, _)| *n)
            .unwrap_or("?")
    }
}

/// Where a field's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A column (CSV header, or a JSONL key; `/a/b` is a JSON pointer).
    Column(String),
    /// A constant for every row.
    Const(String),
}

/// How table columns become item fields.
#[derive(Debug, Clone, Default)]
pub struct ColumnMap {
    /// Explicit mappings; fields not listed are looked up under well-known column names.
    pub fields: Vec<(Field, Source)>,
    /// Prefix for citations written without a catalog (`A.1 d)` → `gbt-45654@2025:A.1 d)`).
    pub cite_prefix: Option<String>,
    /// Prefix of generated ids (rows without an id column get `<prefix><row>`).
    pub id_prefix: String,
}

impl ColumnMap {
    /// Parses `field=column` and `field=@constant` specs.
    pub fn parse(specs: &[String]) -> Result<ColumnMap, String> {
        let mut m = ColumnMap::default();
        for s in specs {
            let (f, v) = s
                .split_once('=')
                .ok_or_else(|| format!("{s:?}: expected FIELD=COLUMN or FIELD=@CONSTANT"))?;
            let field = Field::parse(f.trim()).ok_or_else(|| {
                let names: Vec<&str> = Field::ALL.iter().map(|(_, n, _)| *n).collect();
                format!(
                    "{s:?}: unknown field {:?} (expected one of {})",
                    f.trim(),
                    names.join(", ")
                )
            })?;
            let src = match v.strip_prefix('@') {
                Some(c) => Source::Const(c.to_string()),
                None => Source::Column(v.trim().to_string()),
            };
            m.fields.retain(|(x, _)| *x != field);
            m.fields.push((field, src));
        }
        Ok(m)
    }
}

/// The suite header an import produces.
#[derive(Debug, Clone)]
pub struct ImportHeader {
    /// Suite id.
    pub id: String,
    /// Title.
    pub title: Text,
    /// Default language (else guessed per prompt).
    pub lang: Option<Lang>,
    /// Default expectation (else from the `expect` column).
    pub expect: Option<Expect>,
}

/// The table formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated with a header row (tab-separated when the header has tabs and no commas).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl TableFormat {
    /// Decides by extension, then by content.
    pub fn detect(file: &str, src: &str) -> TableFormat {
        let lower = file.to_lowercase();
        if lower.ends_with(".jsonl") || lower.ends_with(".ndjson") {
            return TableFormat::Jsonl;
        }
        if lower.ends_with(".csv") || lower.ends_with(".tsv") {
            return TableFormat::Csv;
        }
        if src.trim_start().starts_with('{') {
            TableFormat::Jsonl
        } else {
            TableFormat::Csv
        }
    }
}

enum Cell {
    One(String),
    Many(Vec<String>),
}

type Getter = Box<dyn Fn(&str) -> Option<Cell>>;

struct Row {
    line: u64,
    get: Getter,
}

fn split_multi(s: &str, seps: &[char]) -> Vec<String> {
    s.split(|c| seps.contains(&c))
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Imports a CSV or JSONL question bank as a suite.
pub fn import_table(
    file: &str,
    src: &str,
    format: TableFormat,
    map: &ColumnMap,
    header: &ImportHeader,
    lib: &Library,
) -> Result<Suite, Diagnostics> {
    let fail = |line: Option<u64>, code: &'static str, message: String| {
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line,
            item: None,
            code,
            message,
        }])
    };
    if src.len() > MAX_SUITE_BYTES {
        return Err(fail(
            None,
            "too-large",
            format!(
                "file is {} bytes; the limit is {MAX_SUITE_BYTES}",
                src.len()
            ),
        ));
    }
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let (columns, rows) = match format {
        TableFormat::Csv => read_csv(file, src)?,
        TableFormat::Jsonl => read_jsonl(file, src)?,
    };
    // Resolve each field to a source: explicit, else a well-known column name.
    let mut sources: Vec<(Field, Source)> = map.fields.clone();
    for (f, _, names) in Field::ALL {
        if sources.iter().any(|(x, _)| *x == f) {
            continue;
        }
        if let Some(c) = columns
            .iter()
            .find(|c| names.iter().any(|n| c.trim().eq_ignore_ascii_case(n)))
        {
            sources.push((f, Source::Column(c.clone())));
        }
    }
    if format == TableFormat::Csv {
        for (f, s) in &sources {
            if let Source::Column(c) = s
                && !columns.iter().any(|x| x == c)
            {
                return Err(fail(
                    Some(1),
                    "unknown-column",
                    format!(
                        "{} maps to column {c:?}, which the header does not have (columns: {})",
                        f.name(),
                        columns.join(", ")
                    ),
                ));
            }
        }
    }
    if !sources.iter().any(|(f, _)| *f == Field::Prompt) {
        return Err(fail(
            Some(1),
            "missing-column",
            format!(
                "no prompt column; map one with --map prompt=COLUMN (columns: {})",
                columns.join(", ")
            ),
        ));
    }
    if aigov_catalog::check_id(&header.id).is_err() {
        return Err(fail(
            None,
            "bad-id",
            format!("invalid suite id {:?}", header.id),
        ));
    }
    let mut cx = Ctx::new(file, lib);
    let defaults = Defaults {
        lang: header.lang,
        expect: header.expect,
        system: None,
        tags: Vec::new(),
    };
    let mut suite = Suite {
        id: header.id.clone(),
        title: header.title.clone(),
        description: None,
        starter: false,
        items: Vec::new(),
        origin: file.to_string(),
        digest: String::new(),
    };
    for (n, row) in rows.into_iter().enumerate() {
        if n >= MAX_ITEMS {
            cx.push(
                Some(row.line),
                None,
                "too-many-items",
                format!("more than {MAX_ITEMS} rows"),
            );
            break;
        }
        let mut raw = RawItem::default();
        for (f, s) in &sources {
            let cell = match s {
                Source::Const(c) => Some(Cell::One(c.clone())),
                Source::Column(c) => (row.get)(c),
            };
            let Some(cell) = cell else {
                // An empty prompt cell is reported as such, not as a missing column.
                if *f == Field::Prompt {
                    raw.prompt = Some(String::new());
                }
                continue;
            };
            let one = |cell: Cell| match cell {
                Cell::One(s) => s,
                Cell::Many(v) => v.join("; "),
            };
            let many = |cell: Cell, seps: &[char]| match cell {
                Cell::One(s) => split_multi(&s, seps),
                Cell::Many(v) => v,
            };
            match f {
                Field::Id => raw.id = Some(one(cell)).filter(|s| !s.trim().is_empty()),
                Field::Prompt => raw.prompt = Some(one(cell)),
                Field::System => raw.system = Some(one(cell)),
                Field::Lang => raw.lang = Some(one(cell)).filter(|s| !s.trim().is_empty()),
                Field::Cites => {
                    raw.cites = many(cell, &[';', '|', '\n', '；'])
                        .into_iter()
                        .map(|c| match (&map.cite_prefix, c.contains(':')) {
                            (Some(p), false) => format!("{p}{c}"),
                            _ => c,
                        })
                        .collect()
                }
                Field::Expect => raw.expect = Some(one(cell)).filter(|s| !s.trim().is_empty()),
                Field::Answers => raw.answers = many(cell, &['|', '\n']),
                Field::Pattern => raw.pattern = Some(one(cell)).filter(|s| !s.is_empty()),
                Field::Canary => raw.canary = Some(one(cell)),
                Field::Rubric => raw.rubric = Some(one(cell)),
                Field::Tags => raw.tags = many(cell, &[';', ',', '|', '、', '，', '\n']),
                Field::Note => raw.note = Some(one(cell)),
            }
        }
        if raw.id.is_none() {
            raw.id = Some(format!("{}{}", map.id_prefix, n + 1));
        }
        if let Some(item) = validate_item(&mut cx, raw, Some(row.line), &defaults) {
            suite.items.push(item);
        }
    }
    if suite.items.is_empty() && cx.diags.is_empty() {
        cx.push(None, None, "empty-suite", "the table has no rows".into());
    }
    if !cx.diags.is_empty() {
        return Err(Diagnostics(cx.diags));
    }
    suite.digest = sha256_hex(suite_to_jsonl(&suite).as_bytes());
    Ok(suite)
}

type Table = (Vec<String>, Vec<Row>);

fn read_csv(file: &str, src: &str) -> Result<Table, Diagnostics> {
    let first = src.lines().next().unwrap_or("");
    let delim = if first.contains('\t') && !first.contains(',') {
        b'\t'
    } else {
        b','
    };
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delim)
        .flexible(true)
        .from_reader(src.as_bytes());
    let err = |line: Option<u64>, e: String| {
        Diagnostics(vec![Diagnostic {
            file: file.to_string(),
            line,
            item: None,
            code: "syntax",
            message: e,
        }])
    };
    let columns: Vec<String> = rdr
        .headers()
        .map_err(|e| err(Some(1), format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line());
            err(line, format!("cannot read row: {e}"))
        })?;
        let line = rec.position().map(|p| p.line()).unwrap_or(0);
        let cols = columns.clone();
        let vals: Vec<String> = rec.iter().map(str::to_string).collect();
        rows.push(Row {
            line,
            get: Box::new(move |c: &str| {
                let i = cols.iter().position(|x| x == c)?;
                vals.get(i)
                    .map(|v| v.trim().to_string())
                    .filter(|v| !v.is_empty())
                    .map(Cell::One)
            }),
        });
        if rows.len() > MAX_ITEMS {
            break;
        }
    }
    Ok((columns, rows))
}

fn read_jsonl(file: &str, src: &str) -> Result<Table, Diagnostics> {
    let mut columns: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    let mut diags = Vec::new();
    for (n, l) in src.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let line = n as u64 + 1;
        match serde_json::from_str::<Value>(l) {
            Ok(Value::Object(o)) => {
                for k in o.keys() {
                    if !columns.contains(k) && columns.len() < 200 {
                        columns.push(k.clone());
                    }
                }
                let v = Value::Object(o);
                rows.push(Row {
                    line,
                    get: Box::new(move |c: &str| {
                        let x = if c.starts_with('/') {
                            v.pointer(c)
                        } else {
                            v.get(c)
                        }?;
                        match x {
                            Value::Null => None,
                            Value::String(s) => Some(s.trim().to_string())
                                .filter(|s| !s.is_empty())
                                .map(Cell::One),
                            Value::Array(a) => Some(Cell::Many(
                                a.iter()
                                    .map(|e| match e {
                                        Value::String(s) => s.trim().to_string(),
                                        other => other.to_string(),
                                    })
                                    .filter(|s| !s.is_empty())
                                    .collect(),
                            )),
                            other => Some(Cell::One(other.to_string())),
                        }
                    }),
                });
            }
            Ok(_) => diags.push(Diagnostic {
                file: file.to_string(),
                line: Some(line),
                item: None,
                code: "schema",
                message: "each line must be a JSON object".into(),
            }),
            Err(e) => diags.push(Diagnostic {
                file: file.to_string(),
                line: Some(line),
                item: None,
                code: "syntax",
                message: format!("invalid JSON: {e}"),
            }),
        }
        if rows.len() > MAX_ITEMS || diags.len() >= 1000 {
            break;
        }
    }
    if diags.is_empty() {
        Ok((columns, rows))
    } else {
        Err(Diagnostics(diags))
    }
}
