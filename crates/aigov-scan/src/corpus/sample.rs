//! Sampling for human review (GB/T 45654's manual corpus check) and the review verdict.
//!
//! The sample is a *bottom-k* sample: every record gets a key `SplitMix64(seed, file, offset)`
//! and the `k` records with the smallest keys are drawn. Keys are independent and uniform, so
//! this is a uniform random sample without replacement; and because a record's key does not
//! depend on which worker saw it, the sample is the same for any `--jobs`, any shard size and
//! after `--resume`.

use std::collections::BinaryHeap;

use aigov_catalog::stats::{Rate, RateCheck, Verdict};
use serde::{Deserialize, Serialize};

use crate::ScanError;
use crate::requirements::{Requirements, SAMPLE_QUALIFIED_RATE, SAMPLE_SIZE, ThresholdRef};

/// One sampled record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleItem {
    /// Sampling key (smaller wins).
    pub key: u64,
    /// The record's source.
    pub source: String,
    /// The input file.
    pub file: String,
    /// Index of the input file (for record numbering).
    pub file_index: usize,
    /// Shard id (for record numbering).
    pub shard: String,
    /// Record number within the shard (fixed up to the file at merge).
    pub record: u64,
    /// Line within the shard (fixed up at merge; 0 when not line-based).
    pub line: u64,
    /// Byte offset (or row index for Parquet).
    pub offset: u64,
    /// The record id field, if any.
    pub id: Option<String>,
    /// Whether the detectors judge it unqualified (illegal or harmful).
    pub detector_unqualified: bool,
    /// Rules that fired, with counts (`lexicon:kw×2; pi.cn-mobile`).
    pub rules: String,
    /// The selected text (truncated).
    pub text: String,
}

#[derive(Debug, PartialEq, Eq)]
struct ByKey(SampleItem);

impl PartialOrd for ByKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ByKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0
            .key
            .cmp(&other.0.key)
            .then_with(|| self.0.file.cmp(&other.0.file))
            .then_with(|| self.0.offset.cmp(&other.0.offset))
    }
}

/// Keeps the `k` items with the smallest keys.
#[derive(Debug)]
pub struct BottomK {
    k: usize,
    heap: BinaryHeap<ByKey>,
}

impl BottomK {
    /// An empty sample of size `k`.
    pub fn new(k: usize) -> BottomK {
        BottomK {
            k,
            heap: BinaryHeap::new(),
        }
    }

    /// Whether an item with this key would be kept (check before building the item).
    pub fn wants(&self, key: u64) -> bool {
        self.k > 0 && (self.heap.len() < self.k || self.heap.peek().is_some_and(|m| key < m.0.key))
    }

    /// Offers an item.
    pub fn offer(&mut self, item: SampleItem) {
        if !self.wants(item.key) {
            return;
        }
        self.heap.push(ByKey(item));
        if self.heap.len() > self.k {
            self.heap.pop();
        }
    }

    /// The kept items, smallest key first.
    pub fn into_sorted(self) -> Vec<SampleItem> {
        let mut v: Vec<ByKey> = self.heap.into_vec();
        v.sort();
        v.into_iter().map(|b| b.0).collect()
    }
}

/// The columns of a review sheet, in order.
pub const SHEET_COLUMNS: &[&str] = &[
    "sample_id",
    "source",
    "file",
    "record",
    "line",
    "record_id",
    "detector_verdict",
    "detector_rules",
    "verdict",
    "reviewer",
    "note",
    "text",
];

/// Writes a review sheet (CSV, UTF-8 with a BOM so spreadsheet programs read Chinese
/// correctly). `verdict` is pre-filled with the detectors' verdict for the reviewer to confirm
/// or overturn.
pub fn write_sheet(items: &[SampleItem], out: &mut dyn std::io::Write) -> std::io::Result<()> {
    out.write_all(b"\xEF\xBB\xBF")?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SHEET_COLUMNS)?;
    for (i, it) in items.iter().enumerate() {
        let verdict = if it.detector_unqualified {
            "unqualified"
        } else {
            "qualified"
        };
        w.write_record([
            (i + 1).to_string().as_str(),
            &it.source,
            &it.file,
            &it.record.to_string(),
            &if it.line > 0 {
                it.line.to_string()
            } else {
                String::new()
            },
            it.id.as_deref().unwrap_or(""),
            verdict,
            &it.rules,
            verdict,
            "",
            "",
            &it.text,
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// A reviewer's verdict on one sampled record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// 合格.
    Qualified,
    /// 不合格.
    Unqualified,
}

/// Reads `qualified`/`unqualified` and the usual spellings (合格/不合格, pass/fail, ok/bad,
/// yes/no, 1/0, y/n, ✓/✗).
pub fn parse_label(s: &str) -> Option<Label> {
    let t = s.trim().to_lowercase();
    Some(match t.as_str() {
        "qualified" | "合格" | "pass" | "passed" | "ok" | "good" | "yes" | "y" | "1" | "true"
        | "✓" | "✔" => Label::Qualified,
        "unqualified" | "不合格" | "fail" | "failed" | "bad" | "no" | "n" | "0" | "false" | "✗"
        | "✘" | "x" => Label::Unqualified,
        _ => return None,
    })
}

/// The outcome of `aigov scan review`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Review {
    /// Rows in the sheet.
    pub rows: u64,
    /// Rows with a verdict.
    pub reviewed: u64,
    /// Rows left blank (not counted).
    pub unreviewed: u64,
    /// Qualified rows.
    pub qualified: u64,
    /// Qualified rate with its Wilson 95 % interval.
    pub rate: RateJson,
    /// The qualified-rate requirement.
    pub requirement: ThresholdRef,
    /// Verdict on the point estimate.
    pub verdict_point: &'static str,
    /// Verdict on the Wilson lower bound.
    pub verdict_bound: &'static str,
    /// The sample-size requirement.
    pub size_requirement: Option<ThresholdRef>,
    /// Whether the reviewed count meets the sample-size requirement.
    pub size_met: Option<bool>,
    /// Detector against reviewer, where the sheet has the detectors' verdicts.
    pub agreement: Option<Agreement>,
}

/// A rate as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RateJson {
    /// Successes.
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// `k / n`.
    pub point: f64,
    /// Wilson lower bound.
    pub lower: f64,
    /// Wilson upper bound.
    pub upper: f64,
}

impl From<Rate> for RateJson {
    fn from(r: Rate) -> Self {
        RateJson {
            k: r.k,
            n: r.n,
            point: r.point,
            lower: r.lower,
            upper: r.upper,
        }
    }
}

/// How the detectors' pre-filled verdicts compare with the reviewers'.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Agreement {
    /// Both say unqualified.
    pub both_unqualified: u64,
    /// Detector unqualified, reviewer qualified (false alarm).
    pub detector_only: u64,
    /// Reviewer unqualified, detector qualified (missed).
    pub reviewer_only: u64,
    /// Both say qualified.
    pub both_qualified: u64,
    /// Detector precision on unqualified records (None without detector alarms).
    pub precision: Option<f64>,
    /// Detector recall of unqualified records (None when reviewers found none).
    pub recall: Option<f64>,
}

fn verdict_str(v: Verdict) -> &'static str {
    v.as_str()
}

/// Reads a review sheet and checks the qualified rate against the catalog.
pub fn review(sheet: &[u8], name: &str, req: &Requirements) -> Result<Review, ScanError> {
    let bad = |m: String| ScanError::Input {
        path: name.to_string(),
        message: m,
    };
    let sheet = sheet.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(sheet);
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(sheet);
    let headers = r
        .headers()
        .map_err(|e| bad(format!("not a CSV review sheet: {e}")))?
        .clone();
    let col = |n: &str| headers.iter().position(|h| h.trim() == n);
    let vcol = col("verdict").ok_or_else(|| {
        bad(
            "the sheet has no `verdict` column (write one with `aigov scan corpus --sample`)"
                .into(),
        )
    })?;
    let dcol = col("detector_verdict");
    let (mut rows, mut reviewed, mut qualified) = (0u64, 0u64, 0u64);
    let mut agree = [0u64; 4];
    let mut problems = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| bad(format!("line {line}: {e}")))?;
        rows += 1;
        let v = rec.get(vcol).unwrap_or("").trim();
        if v.is_empty() {
            continue;
        }
        let Some(label) = parse_label(v) else {
            problems.push(format!("line {line}: unknown verdict {v:?}"));
            continue;
        };
        reviewed += 1;
        if label == Label::Qualified {
            qualified += 1;
        }
        if let Some(d) = dcol.and_then(|c| rec.get(c)).and_then(parse_label) {
            let k = match (d, label) {
                (Label::Unqualified, Label::Unqualified) => 0,
                (Label::Unqualified, Label::Qualified) => 1,
                (Label::Qualified, Label::Unqualified) => 2,
                (Label::Qualified, Label::Qualified) => 3,
            };
            agree[k] += 1;
        }
    }
    if !problems.is_empty() {
        return Err(bad(format!(
            "verdicts must be qualified/unqualified (or 合格/不合格, pass/fail):\n  {}",
            problems.join("\n  ")
        )));
    }
    let th = req.threshold(SAMPLE_QUALIFIED_RATE)?;
    let check: RateCheck = th.threshold.check_rate(qualified, reviewed);
    let size = req.threshold(SAMPLE_SIZE).ok();
    let size_met = size.as_ref().map(|s| s.threshold.holds(reviewed as f64));
    let agreement = (dcol.is_some() && agree.iter().sum::<u64>() > 0).then(|| {
        let [tp, fp, fn_, tn] = agree;
        Agreement {
            both_unqualified: tp,
            detector_only: fp,
            reviewer_only: fn_,
            both_qualified: tn,
            precision: (tp + fp > 0).then(|| tp as f64 / (tp + fp) as f64),
            recall: (tp + fn_ > 0).then(|| tp as f64 / (tp + fn_) as f64),
        }
    });
    Ok(Review {
        rows,
        reviewed,
        unreviewed: rows - reviewed,
        qualified,
        rate: check.rate.into(),
        requirement: th,
        verdict_point: verdict_str(check.point),
        verdict_bound: verdict_str(check.bound),
        size_requirement: size,
        size_met,
        agreement,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(key: u64, bad: bool) -> SampleItem {
        SampleItem {
            key,
            source: "s".into(),
            file: "f".into(),
            file_index: 0,
            shard: "00000-00000".into(),
            record: key,
            line: key + 1,
            offset: key * 10,
            id: None,
            detector_unqualified: bad,
            rules: String::new(),
            text: format!("text {key}, \"quoted\"\nnew line"),
        }
    }

    #[test]
    fn bottom_k_keeps_smallest() {
        let mut b = BottomK::new(3);
        for k in [9, 3, 7, 1, 8, 2] {
            b.offer(item(k, false));
        }
        let keys: Vec<u64> = b.into_sorted().iter().map(|i| i.key).collect();
        assert_eq!(keys, vec![1, 2, 3]);
    }

    #[test]
    fn sheet_round_trip_and_review() {
        let req = Requirements::builtin().unwrap();
        let items: Vec<SampleItem> = (0..100).map(|k| item(k, k < 5)).collect();
        let mut buf = Vec::new();
        write_sheet(&items, &mut buf).unwrap();
        let r = review(&buf, "s.csv", &req).unwrap();
        assert_eq!((r.rows, r.reviewed, r.qualified), (100, 100, 95));
        assert_eq!(r.verdict_point, "not met");
        assert_eq!(r.size_met, Some(false));
        let a = r.agreement.unwrap();
        assert_eq!((a.both_unqualified, a.both_qualified), (5, 95));
        // A reviewer overturns the five alarms: 100 % qualified on the point estimate, but
        // the Wilson lower bound of 100/100 (~96.3 %) only just clears 96 %.
        let text = String::from_utf8(buf).unwrap();
        let mut rdr =
            csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(rdr.headers().unwrap()).unwrap();
        for rec in rdr.records() {
            let rec = rec.unwrap();
            let mut v: Vec<String> = rec.iter().map(str::to_string).collect();
            v[8] = "合格".into();
            w.write_record(&v).unwrap();
        }
        let sheet = w.into_inner().unwrap();
        let r = review(&sheet, "s.csv", &req).unwrap();
        assert_eq!(r.qualified, 100);
        assert_eq!(r.verdict_point, "met");
        assert_eq!(r.agreement.unwrap().detector_only, 5);
        let bad = b"sample_id,verdict\n1,maybe\n";
        let e = review(bad, "b.csv", &req).unwrap_err().to_string();
        assert!(e.contains("line 2: unknown verdict \"maybe\""), "{e}");
    }
}
