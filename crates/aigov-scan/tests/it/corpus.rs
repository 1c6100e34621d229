//! Corpus scans end to end through the library: formats, compression, shards, resume,
//! sampling, redaction and the GB/T 45654 per-source verdict.

use std::io::Write;
use std::path::{Path, PathBuf};

use aigov_catalog::Library;
use aigov_scan::corpus::{
    self, CorpusConfig, Detector, DetectorConfig, Progress, RedactConfig, SampleConfig, SourceBy,
};
use aigov_scan::lexicon;
use aigov_scan::requirements::Requirements;
use serde_json::Value;

/// The built-in library and requirements, loaded once per test binary.
pub fn req() -> (Library, Requirements) {
    static CACHE: std::sync::OnceLock<(Library, Requirements)> = std::sync::OnceLock::new();
    CACHE
        .get_or_init(|| {
            let lib = Library::builtin().unwrap();
            let r = Requirements::new(&lib).unwrap();
            (lib, r)
        })
        .clone()
}

pub fn detector(terms: &str, builtins: bool) -> Detector {
    let (lib, r) = req();
    let lex = lexicon::parse(
        "kw",
        "kw.tsv",
        terms.as_bytes(),
        &r,
        Some(&lib),
        Default::default(),
    );
    assert!(lex.errors().is_empty(), "{:?}", lex.errors());
    Detector::new(&DetectorConfig {
        lexicons: vec![lex],
        builtins,
        ..Default::default()
    })
    .unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, data).unwrap();
    p
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

const TERMS: &str = "炸药\tA.1 d)\nbomb\tA.1 d)\n恐怖分子\tA.1 d)\n";

/// 100 JSONL records; records 0, 10, 20 … 90 carry a keyword, 7 carries a phone number.
fn jsonl(n: usize) -> String {
    let mut s = String::new();
    for i in 0..n {
        let text = if i % 10 == 0 {
            format!("第{i}条：如何制作炸药")
        } else if i == 7 {
            "联系电话13812345678".to_string()
        } else {
            format!("普通的记录 number {i}")
        };
        s.push_str(&serde_json::json!({"id": i, "text": text, "meta": {"src": if i < 50 {"web"} else {"books"}}}).to_string());
        s.push('\n');
    }
    s
}

fn run(cfg: &CorpusConfig, det: &Detector) -> corpus::Summary {
    let (_, r) = req();
    corpus::run(cfg, det, &r, &Progress::default()).unwrap()
}

fn flagged(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("flagged.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn jsonl_scan_with_sources_and_the_harmful_share_rule() {
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in/a.jsonl", jsonl(100).as_bytes());
    let out = d.path().join("out");
    let det = detector(TERMS, true);
    let cfg = CorpusConfig {
        inputs: vec![input],
        fields: vec!["text".into()],
        id_field: Some("id".into()),
        source_by: SourceBy::Field("/meta/src".into()),
        out: Some(out.clone()),
        ..Default::default()
    };
    let s = run(&cfg, &det);
    assert_eq!(s.totals.records, 100);
    assert_eq!(s.totals.harmful, 10);
    assert_eq!(s.totals.personal_info, 1);
    assert_eq!(s.totals.flagged, 11);
    // 5 of 50 per source = 10 % > 5 %: both sources are rejected, by the catalog's rule.
    assert_eq!(
        s.requirement.threshold.metric,
        "corpus-source.harmful-share"
    );
    assert_eq!(s.sources.len(), 2);
    assert!(
        s.sources
            .iter()
            .all(|x| x.rejected && x.counts.records == 50)
    );
    let kw = s.rules.iter().find(|r| r.id == "lexicon:kw").unwrap();
    assert_eq!((kw.hits, kw.records), (10, 10));
    assert_eq!(s.categories[0].cite, "gbt-45654@2025:A.1 d)");
    assert_eq!(
        s.categories[0].title_zh.as_deref(),
        Some("宣扬恐怖主义、极端主义")
    );
    let f = flagged(&out);
    assert_eq!(f.len(), 11);
    let phone = f.iter().find(|v| v["record"] == 7).unwrap();
    assert_eq!(phone["line"], 8);
    assert_eq!(phone["id"], "7");
    let h = &phone["hits"][0];
    assert_eq!(h["rule"], "pi.cn-mobile");
    assert_eq!(h["field"], "/text");
    assert_eq!(h["match"], "13812345678");
    let text = "联系电话13812345678";
    assert_eq!(
        &text[h["start"].as_u64().unwrap() as usize..h["end"].as_u64().unwrap() as usize],
        "13812345678"
    );
    for f in ["summary.json", "report.md", "report.html", "scan.json"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("**rejected**"), "{md}");
    assert!(
        md.contains("gbt-45654@2025:TH-corpus-source-harmful-share"),
        "{md}"
    );
}

#[test]
fn formats_and_compression_agree() {
    let d = tempfile::tempdir().unwrap();
    let data = jsonl(40);
    write(d.path(), "in/plain.jsonl", data.as_bytes());
    write(d.path(), "in/gz.jsonl.gz", &gzip(data.as_bytes()));
    // Two zstd frames back to back.
    let (a, b) = data.split_at(data.len() / 2);
    let cut = a.rfind('\n').unwrap() + 1;
    let (a, b) = (&data[..cut], format!("{}{}", &a[cut..], b));
    let mut z = zstd(a.as_bytes());
    z.extend(zstd(b.as_bytes()));
    write(d.path(), "in/zst.jsonl.zst", &z);
    // No extension: detected by content (gzip magic, then `{`).
    write(d.path(), "in/noext", &gzip(data.as_bytes()));
    let mut csv = String::from("id,text\n");
    let mut txt = String::new();
    for v in data
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
    {
        csv.push_str(&format!(
            "{},\"{}\"\n",
            v["id"],
            v["text"].as_str().unwrap()
        ));
        txt.push_str(v["text"].as_str().unwrap());
        txt.push_str("\n\n");
    }
    write(d.path(), "in/t.csv", csv.as_bytes());
    write(
        d.path(),
        "in/t.tsv",
        csv.replace(',', "\t").replace('"', "").as_bytes(),
    );
    write(d.path(), "in/t.txt", txt.as_bytes());
    let det = detector(TERMS, true);
    let cfg = CorpusConfig {
        inputs: vec![d.path().join("in")],
        fields: vec!["text".into()],
        columns: vec!["text".into()],
        out: Some(d.path().join("out")),
        ..Default::default()
    };
    let s = run(&cfg, &det);
    assert_eq!(s.inputs.len(), 7);
    assert_eq!(s.sources.len(), 7);
    for src in &s.sources {
        assert_eq!(src.counts.records, 40, "{}", src.source);
        assert_eq!(src.counts.harmful, 4, "{}", src.source);
        assert_eq!(src.counts.pi, 1, "{}", src.source);
    }
    assert_eq!(s.totals.errors, 0);
}

#[test]
fn shards_jobs_and_resume_give_the_same_answer() {
    let d = tempfile::tempdir().unwrap();
    // ~1.5 MB so that 64 KiB shards cut it into many byte ranges.
    let input = write(d.path(), "big.jsonl", jsonl(20_000).as_bytes());
    let det = detector(TERMS, true);
    let base = CorpusConfig {
        inputs: vec![input],
        fields: vec!["text".into()],
        sample: Some(SampleConfig { size: 50, seed: 42 }),
        ..Default::default()
    };
    let whole = run(
        &CorpusConfig {
            out: Some(d.path().join("o1")),
            jobs: 1,
            ..base.clone()
        },
        &det,
    );
    assert_eq!(whole.totals.shards, 1);
    let sharded_cfg = CorpusConfig {
        out: Some(d.path().join("o2")),
        jobs: 3,
        shard_bytes: 1 << 16,
        ..base.clone()
    };
    let sharded = run(&sharded_cfg, &det);
    assert!(sharded.totals.shards > 10);
    assert_eq!(sharded.totals.records, 20_000);
    assert_eq!(sharded.totals.harmful, whole.totals.harmful);
    assert_eq!(sharded.rules, whole.rules);
    // Record numbers and lines are renumbered across shards.
    assert_eq!(flagged(&d.path().join("o1")), flagged(&d.path().join("o2")));
    // The sample does not depend on sharding or jobs.
    let s1 = std::fs::read(d.path().join("o1/review-sample.csv")).unwrap();
    let s2 = std::fs::read(d.path().join("o2/review-sample.csv")).unwrap();
    assert_eq!(s1, s2);
    // Resume: drop some shard markers, rerun, same answer; the rest are taken as done.
    let shards = d.path().join("o2/shards");
    let mut markers: Vec<_> = std::fs::read_dir(&shards)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    markers.sort();
    for m in markers.iter().step_by(3) {
        std::fs::remove_file(m).unwrap();
    }
    let resumed = run(
        &CorpusConfig {
            resume: true,
            ..sharded_cfg.clone()
        },
        &det,
    );
    assert_eq!(
        resumed.totals.shards_resumed,
        markers.len() - markers.len().div_ceil(3)
    );
    assert_eq!(resumed.rules, whole.rules);
    assert_eq!(resumed.totals.records, 20_000);
    assert_eq!(flagged(&d.path().join("o2")), flagged(&d.path().join("o1")));
    // Other settings: resuming is refused with a clear message.
    let (_, r) = req();
    let e = corpus::run(
        &CorpusConfig {
            resume: true,
            fields: vec![],
            ..sharded_cfg
        },
        &det,
        &r,
        &Progress::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("other inputs or settings"), "{e}");
}

#[test]
fn redacted_copies_and_review_sheet() {
    let d = tempfile::tempdir().unwrap();
    let input = write(d.path(), "in/a.jsonl", jsonl(30).as_bytes());
    write(
        d.path(),
        "in/b.txt",
        "身份证11010519491231002X\n普通文本\n".as_bytes(),
    );
    let det = detector(TERMS, true);
    let out = d.path().join("out");
    let red = d.path().join("red");
    let s = run(
        &CorpusConfig {
            inputs: vec![input.parent().unwrap().to_path_buf()],
            fields: vec!["text".into()],
            out: Some(out.clone()),
            redact: Some(RedactConfig {
                dir: red.clone(),
                style: corpus::redact::RedactStyle::Partial,
                keywords: true,
            }),
            sample: Some(SampleConfig { size: 10, seed: 7 }),
            ..Default::default()
        },
        &det,
    );
    assert_eq!(s.outputs.redacted.len(), 2);
    let a = std::fs::read_to_string(red.join("in/a.jsonl")).unwrap();
    assert_eq!(a.lines().count(), 30);
    assert!(
        a.contains("138****5678") && !a.contains("13812345678"),
        "{a}"
    );
    assert!(!a.contains("炸药"), "keywords are redacted too");
    let b = std::fs::read_to_string(red.join("in/b.txt")).unwrap();
    assert_eq!(b, "身份证110***********002X\n普通文本\n");
    let sheet = std::fs::read(out.join("review-sample.csv")).unwrap();
    let (_, r) = req();
    let rev = aigov_scan::corpus::sample::review(&sheet, "sheet", &r).unwrap();
    assert_eq!(rev.reviewed, 10);
    assert_eq!(s.sample.as_ref().unwrap().drawn, 10);
}

#[test]
fn malformed_records_are_counted_not_fatal() {
    let d = tempfile::tempdir().unwrap();
    let input = write(
        d.path(),
        "bad.jsonl",
        b"{\"text\": \"ok 1\"}\n{\"text\": \"broken\n{\"text\": \"bomb\"}\n\xff\xfe\n",
    );
    let det = detector(TERMS, false);
    let s = run(
        &CorpusConfig {
            inputs: vec![input],
            fields: vec!["text".into()],
            ..Default::default()
        },
        &det,
    );
    assert_eq!(s.totals.records, 2);
    assert_eq!(s.totals.errors, 2);
    assert_eq!(s.totals.harmful, 1);
    assert!(
        s.errors[0].message.contains("unterminated string"),
        "{:?}",
        s.errors
    );
}

/// A Parquet file with `id` and `text` columns in two snappy row groups.
#[cfg(feature = "parquet")]
fn parquet_file(path: &Path, rows: &[(i64, String)]) {
    use std::sync::Arc;

    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    let schema = Arc::new(
        parse_message_type("message m { required int64 id; required binary text (UTF8); }")
            .unwrap(),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build(),
    );
    let f = std::fs::File::create(path).unwrap();
    let mut w = SerializedFileWriter::new(f, schema, props).unwrap();
    for chunk in rows.chunks(rows.len().div_ceil(2)) {
        let mut rg = w.next_row_group().unwrap();
        let mut k = 0;
        while let Some(mut col) = rg.next_column().unwrap() {
            if k == 0 {
                let ids: Vec<i64> = chunk.iter().map(|r| r.0).collect();
                col.typed::<Int64Type>()
                    .write_batch(&ids, None, None)
                    .unwrap();
            } else {
                let t: Vec<ByteArray> = chunk
                    .iter()
                    .map(|r| ByteArray::from(r.1.as_str()))
                    .collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&t, None, None)
                    .unwrap();
            }
            col.close().unwrap();
            k += 1;
        }
        rg.close().unwrap();
    }
    w.close().unwrap();
}

#[cfg(feature = "parquet")]
#[test]
fn parquet_row_groups_are_shards() {
    let d = tempfile::tempdir().unwrap();
    let rows: Vec<(i64, String)> = (0..60)
        .map(|i| {
            let t = if i % 10 == 0 {
                "制作炸药的方法".to_string()
            } else if i == 3 {
                "身份证11010519491231002X".to_string()
            } else {
                format!("row {i}")
            };
            (i, t)
        })
        .collect();
    let p = d.path().join("t.parquet");
    parquet_file(&p, &rows);
    let det = detector(TERMS, true);
    let red = d.path().join("red");
    let s = run(
        &CorpusConfig {
            inputs: vec![p],
            columns: vec!["text".into()],
            id_field: Some("id".into()),
            shard_bytes: 1,
            out: Some(d.path().join("out")),
            redact: Some(RedactConfig {
                dir: red.clone(),
                style: corpus::redact::RedactStyle::Tag,
                keywords: false,
            }),
            ..Default::default()
        },
        &det,
    );
    assert_eq!(s.inputs[0].format, "parquet");
    assert_eq!(
        s.totals.shards, 2,
        "one shard per row group at this shard size"
    );
    assert_eq!(s.totals.records, 60);
    assert_eq!(s.totals.harmful, 6);
    assert_eq!(s.totals.personal_info, 1);
    let f = flagged(&d.path().join("out"));
    let id = f
        .iter()
        .find(|v| v["hits"][0]["rule"] == "pi.cn-resident-id")
        .unwrap();
    assert_eq!(id["record"], 3);
    assert_eq!(id["hits"][0]["field"], "/text");
    let r = std::fs::read_to_string(red.join("t.parquet.jsonl")).unwrap();
    assert_eq!(r.lines().count(), 60);
    assert!(r.contains("[pi.cn-resident-id]"), "{r}");
    // Selecting a missing column names the ones that exist.
    let (_, req) = req();
    let e = corpus::run(
        &CorpusConfig {
            inputs: vec![d.path().join("t.parquet")],
            columns: vec!["nope".into()],
            ..Default::default()
        },
        &det,
        &req,
        &Progress::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .contains("no column \"nope\"; columns: id, text"),
        "{e}"
    );
}
