//! The corpus scan summary and its Markdown and HTML reports.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use aigov_catalog::stats::Verdict;
use serde::Serialize;

use super::detect::{Detector, RuleKind};
use super::input::{InputFile, Shard};
use super::sample::RateJson;
use super::scan::{CorpusConfig, Counts, Outputs, RecordError, ShardResult, SourceCounts};
use crate::requirements::{Requirements, ThresholdRef, fmt_num};

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// Name.
    pub name: String,
    /// Record format.
    pub format: &'static str,
    /// Compression.
    pub compression: super::input::Compression,
    /// Size on disk.
    pub size: u64,
}

/// Totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Totals {
    /// Records scanned.
    pub records: u64,
    /// Bytes of record text (decompressed).
    pub bytes: u64,
    /// Bytes on disk of all inputs.
    pub input_bytes: u64,
    /// Records with any hit.
    pub flagged: u64,
    /// Records counted as illegal or harmful.
    pub harmful: u64,
    /// Records with personal information or secrets.
    pub personal_info: u64,
    /// Unreadable records (skipped).
    pub errors: u64,
    /// Shards in the scan.
    pub shards: usize,
    /// Shards taken from an earlier run (`--resume`).
    pub shards_resumed: usize,
    /// Wall-clock seconds of this run.
    pub elapsed_s: f64,
    /// On-disk megabytes (10^6) per second scanned in this run.
    pub mb_per_s: f64,
}

/// Per-rule statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleSummary {
    /// Rule id.
    pub id: String,
    /// Kind.
    pub kind: RuleKind,
    /// Category citation.
    pub category: Option<String>,
    /// How candidates are confirmed.
    pub validation: String,
    /// Hits.
    pub hits: u64,
    /// Records with a hit.
    pub records: u64,
}

/// Per-category statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategorySummary {
    /// Citation.
    pub cite: String,
    /// Chinese title, when the catalog has it.
    pub title_zh: Option<String>,
    /// English title.
    pub title_en: Option<String>,
    /// Hits.
    pub hits: u64,
    /// Records.
    pub records: u64,
}

/// A library term with its hits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermSummary {
    /// Rule id of the library.
    pub rule: String,
    /// The term.
    pub term: String,
    /// Hits.
    pub hits: u64,
}

/// One source with the GB/T 45654 harmful-share check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SourceSummary {
    /// Source name.
    pub source: String,
    /// Counts.
    #[serde(flatten)]
    pub counts: SourceCounts,
    /// Harmful share with its Wilson 95 % interval.
    pub harmful_share: RateJson,
    /// Verdict of the threshold on the point estimate (`met` = acceptable).
    pub verdict_point: &'static str,
    /// Verdict on the upper Wilson bound.
    pub verdict_bound: &'static str,
    /// The source must not be used (the point estimate breaks the threshold).
    pub rejected: bool,
}

/// Sampling outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleSummary {
    /// Requested size.
    pub size: usize,
    /// Drawn (fewer when the corpus is smaller).
    pub drawn: usize,
    /// Seed.
    pub seed: u64,
    /// The review sheet.
    pub sheet: Option<String>,
}

/// The result of `aigov scan corpus`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Always `corpus`.
    pub aigov_scan: &'static str,
    /// Shape version of this JSON.
    pub format_version: u32,
    /// Digest of inputs and settings (what `--resume` checks).
    pub fingerprint: String,
    /// Input files.
    pub inputs: Vec<FileSummary>,
    /// Totals.
    pub totals: Totals,
    /// The harmful-share requirement.
    pub requirement: ThresholdRef,
    /// What counts as harmful.
    pub harmful_definition: String,
    /// Sources, worst share first.
    pub sources: Vec<SourceSummary>,
    /// Sources that break the requirement.
    pub rejected_sources: usize,
    /// Rules.
    pub rules: Vec<RuleSummary>,
    /// Categories, most hits first.
    pub categories: Vec<CategorySummary>,
    /// The library terms with most hits (up to 50).
    pub top_terms: Vec<TermSummary>,
    /// The first unreadable records.
    pub errors: Vec<RecordError>,
    /// Sampling.
    pub sample: Option<SampleSummary>,
    /// Files written.
    pub outputs: Outputs,
}

/// What [`summarize`] needs.
#[derive(Debug)]
pub struct SummaryInput<'a> {
    /// Detectors.
    pub det: &'a Detector,
    /// Catalog lookups.
    pub req: &'a Requirements,
    /// The harmful-share requirement.
    pub threshold: ThresholdRef,
    /// Inputs.
    pub files: &'a [InputFile],
    /// Shards.
    pub shards: &'a [Shard],
    /// Shard results, in shard order.
    pub results: &'a [ShardResult],
    /// Shards taken from an earlier run.
    pub resumed: usize,
    /// Scan fingerprint.
    pub fingerprint: &'a str,
    /// Seconds.
    pub elapsed_s: f64,
    /// On-disk bytes scanned in this run.
    pub scanned_disk_bytes: u64,
    /// Files written.
    pub outputs: Outputs,
    /// Settings.
    pub cfg: &'a CorpusConfig,
}

fn add(a: &mut Counts, b: &Counts) {
    a.hits += b.hits;
    a.records += b.records;
}

/// Aggregates shard results into the summary.
pub fn summarize(i: SummaryInput<'_>) -> Summary {
    let mut t = Totals {
        records: 0,
        bytes: 0,
        input_bytes: i.files.iter().map(|f| f.size).sum(),
        flagged: 0,
        harmful: 0,
        personal_info: 0,
        errors: 0,
        shards: i.shards.len(),
        shards_resumed: i.resumed,
        elapsed_s: i.elapsed_s,
        mb_per_s: if i.elapsed_s > 0.0 {
            i.scanned_disk_bytes as f64 / 1e6 / i.elapsed_s
        } else {
            0.0
        },
    };
    let mut rules: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut cats: BTreeMap<&str, Counts> = BTreeMap::new();
    let mut terms: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut sources: BTreeMap<&str, SourceCounts> = BTreeMap::new();
    let mut errors = Vec::new();
    for r in i.results {
        t.records += r.records;
        t.bytes += r.bytes;
        t.flagged += r.flagged;
        t.harmful += r.harmful;
        t.personal_info += r.pi;
        t.errors += r.errors;
        for (k, v) in &r.rules {
            add(rules.entry(k).or_default(), v);
        }
        for (k, v) in &r.categories {
            add(cats.entry(k).or_default(), v);
        }
        for (rule, m) in &r.terms {
            for (term, n) in m {
                *terms.entry((rule, term)).or_default() += n;
            }
        }
        for (k, v) in &r.sources {
            let s = sources.entry(k).or_default();
            s.records += v.records;
            s.bytes += v.bytes;
            s.flagged += v.flagged;
            s.harmful += v.harmful;
            s.pi += v.pi;
        }
        for e in &r.error_samples {
            if errors.len() < 50 {
                errors.push(e.clone());
            }
        }
    }
    let rule_list = i
        .det
        .rules()
        .iter()
        .map(|r| {
            let c = rules.get(r.id.as_str()).copied().unwrap_or_default();
            RuleSummary {
                id: r.id.clone(),
                kind: r.kind,
                category: r.category.clone(),
                validation: r.validation.clone(),
                hits: c.hits,
                records: c.records,
            }
        })
        .collect();
    let mut categories: Vec<CategorySummary> = cats
        .iter()
        .map(|(cite, c)| {
            let local = cite.split_once(':').map(|(_, r)| r).unwrap_or(cite);
            let titles = if cite.starts_with(&i.req.cite("")) {
                i.req.title(local)
            } else {
                None
            };
            CategorySummary {
                cite: cite.to_string(),
                title_zh: titles
                    .as_ref()
                    .map(|t| t.0.clone())
                    .filter(|s| !s.is_empty()),
                title_en: titles
                    .as_ref()
                    .map(|t| t.1.clone())
                    .filter(|s| !s.is_empty()),
                hits: c.hits,
                records: c.records,
            }
        })
        .collect();
    categories.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.cite.cmp(&b.cite)));
    let mut top: Vec<TermSummary> = terms
        .into_iter()
        .map(|((rule, term), hits)| TermSummary {
            rule: rule.to_string(),
            term: term.to_string(),
            hits,
        })
        .collect();
    top.sort_by(|a, b| b.hits.cmp(&a.hits).then_with(|| a.term.cmp(&b.term)));
    top.truncate(50);
    let th = &i.threshold;
    let mut srcs: Vec<SourceSummary> = sources
        .into_iter()
        .map(|(name, c)| {
            let check = th.threshold.check_rate(c.harmful, c.records);
            SourceSummary {
                source: name.to_string(),
                counts: c,
                harmful_share: check.rate.into(),
                verdict_point: check.point.as_str(),
                verdict_bound: check.bound.as_str(),
                rejected: check.point == Verdict::NotMet,
            }
        })
        .collect();
    srcs.sort_by(|a, b| {
        b.harmful_share
            .point
            .total_cmp(&a.harmful_share.point)
            .then_with(|| a.source.cmp(&b.source))
    });
    let rejected = srcs.iter().filter(|s| s.rejected).count();
    let harmful_definition = if i.cfg.harmful_includes_pi {
        "records with a hit of a keyword library, a custom rule, a personal-information rule or a secret rule".to_string()
    } else {
        "records with a hit of a keyword library or a custom rule (personal information and secrets are counted separately)".to_string()
    };
    Summary {
        aigov_scan: "corpus",
        format_version: 1,
        fingerprint: i.fingerprint.to_string(),
        inputs: i
            .files
            .iter()
            .map(|f| FileSummary {
                name: f.name.clone(),
                format: f.format.as_str(),
                compression: f.compression,
                size: f.size,
            })
            .collect(),
        totals: t,
        requirement: i.threshold.clone(),
        harmful_definition,
        sources: srcs,
        rejected_sources: rejected,
        rules: rule_list,
        categories,
        top_terms: top,
        errors,
        sample: i.cfg.sample.as_ref().map(|s| SampleSummary {
            size: s.size,
            drawn: i.outputs.sample_drawn,
            seed: s.seed,
            sheet: i.outputs.sample_sheet.clone(),
        }),
        outputs: i.outputs,
    }
}

fn pct(x: f64) -> String {
    format!("{:.2} %", x * 100.0)
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The summary as Markdown.
pub fn markdown(s: &Summary) -> String {
    let mut o = String::new();
    let t = &s.totals;
    let _ = writeln!(o, "# Corpus scan report\n");
    let _ = writeln!(
        o,
        "{} records ({:.1} MB of text) in {} files; {} flagged, {} harmful, {} with personal information or secrets; {} unreadable.\n",
        t.records,
        t.bytes as f64 / 1e6,
        s.inputs.len(),
        t.flagged,
        t.harmful,
        t.personal_info,
        t.errors
    );
    let _ = writeln!(
        o,
        "Scanned in {:.1} s ({:.1} MB/s on disk); {} shards, {} resumed from an earlier run. Fingerprint `{}`.\n",
        t.elapsed_s, t.mb_per_s, t.shards, t.shards_resumed, s.fingerprint
    );
    let _ = writeln!(o, "## Sources\n");
    let _ = writeln!(
        o,
        "Requirement `{}` ({}): a source's illegal or harmful share must be {}. Harmful means {}.\n",
        s.requirement.cite,
        s.requirement.title,
        s.requirement.describe(),
        s.harmful_definition
    );
    let _ = writeln!(
        o,
        "| source | records | harmful | share | 95 % interval | verdict | verdict (bound) |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---|---|---|");
    for src in &s.sources {
        let r = &src.harmful_share;
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} – {} | {} | {} |",
            md_cell(&src.source),
            src.counts.records,
            src.counts.harmful,
            pct(r.point),
            pct(r.lower),
            pct(r.upper),
            if src.rejected {
                "**rejected**"
            } else {
                "accepted"
            },
            src.verdict_bound
        );
    }
    let _ = writeln!(o, "\n## Rules\n");
    let _ = writeln!(o, "| rule | kind | hits | records | validation |");
    let _ = writeln!(o, "|---|---|---:|---:|---|");
    for r in &s.rules {
        let _ = writeln!(
            o,
            "| `{}` | {} | {} | {} | {} |",
            r.id,
            r.kind.as_str(),
            r.hits,
            r.records,
            md_cell(&r.validation)
        );
    }
    if !s.categories.is_empty() {
        let _ = writeln!(o, "\n## Categories\n");
        let _ = writeln!(o, "| category | title | hits | records |");
        let _ = writeln!(o, "|---|---|---:|---:|");
        for c in &s.categories {
            let title = c
                .title_zh
                .clone()
                .or_else(|| c.title_en.clone())
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "| `{}` | {} | {} | {} |",
                c.cite,
                md_cell(&title),
                c.hits,
                c.records
            );
        }
    }
    if !s.top_terms.is_empty() {
        let _ = writeln!(o, "\n## Most frequent terms\n");
        let _ = writeln!(o, "| library | term | hits |");
        let _ = writeln!(o, "|---|---|---:|");
        for term in &s.top_terms {
            let _ = writeln!(
                o,
                "| `{}` | {} | {} |",
                term.rule,
                md_cell(&term.term),
                term.hits
            );
        }
    }
    if let Some(sm) = &s.sample {
        let _ = writeln!(o, "\n## Review sample\n");
        let _ = writeln!(
            o,
            "{} of {} records drawn with seed {}{}. Fill in the `verdict` column and run `aigov scan review` on the sheet.",
            sm.drawn,
            sm.size,
            sm.seed,
            sm.sheet
                .as_ref()
                .map(|p| format!(" into `{p}`"))
                .unwrap_or_default()
        );
    }
    if !s.errors.is_empty() {
        let _ = writeln!(o, "\n## Unreadable records (first {})\n", s.errors.len());
        for e in &s.errors {
            let _ = writeln!(o, "- `{}` at {}: {}", e.file, e.offset, md_cell(&e.message));
        }
    }
    o
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            _ => o.push(c),
        }
    }
    o
}

/// The summary as a self-contained HTML page (no scripts, no external resources).
pub fn html(s: &Summary) -> String {
    let mut o = String::new();
    let t = &s.totals;
    o.push_str("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Corpus scan report</title>\n<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:70em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}td.n{text-align:right}.bad{color:#b00020;font-weight:bold}.ok{color:#1b5e20}code{background:#f4f4f4;padding:0 .2em}</style></head><body>\n");
    let _ = writeln!(o, "<h1>Corpus scan report</h1>");
    let _ = writeln!(
        o,
        "<p>{} records ({:.1} MB of text) in {} files; {} flagged, {} harmful, {} with personal information or secrets; {} unreadable. Scanned in {:.1} s ({:.1} MB/s).</p>",
        t.records,
        t.bytes as f64 / 1e6,
        s.inputs.len(),
        t.flagged,
        t.harmful,
        t.personal_info,
        t.errors,
        t.elapsed_s,
        t.mb_per_s
    );
    let _ = writeln!(
        o,
        "<h2>Sources</h2><p>Requirement <code>{}</code> ({}): share {}. Harmful means {}.</p>",
        esc(&s.requirement.cite),
        esc(&s.requirement.title),
        esc(&s.requirement.describe()),
        esc(&s.harmful_definition)
    );
    o.push_str("<table><tr><th>source</th><th>records</th><th>harmful</th><th>share</th><th>95 % interval</th><th>verdict</th><th>verdict (bound)</th></tr>\n");
    for src in &s.sources {
        let r = &src.harmful_share;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td>{} – {}</td><td class={}>{}</td><td>{}</td></tr>",
            esc(&src.source),
            src.counts.records,
            src.counts.harmful,
            pct(r.point),
            pct(r.lower),
            pct(r.upper),
            if src.rejected { "bad" } else { "ok" },
            if src.rejected { "rejected" } else { "accepted" },
            src.verdict_bound
        );
    }
    o.push_str("</table>\n<h2>Rules</h2><table><tr><th>rule</th><th>kind</th><th>hits</th><th>records</th><th>validation</th></tr>\n");
    for r in &s.rules {
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>",
            esc(&r.id),
            r.kind.as_str(),
            r.hits,
            r.records,
            esc(&r.validation)
        );
    }
    o.push_str("</table>\n");
    if !s.categories.is_empty() {
        o.push_str("<h2>Categories</h2><table><tr><th>category</th><th>title</th><th>hits</th><th>records</th></tr>\n");
        for c in &s.categories {
            let title = c
                .title_zh
                .clone()
                .or_else(|| c.title_en.clone())
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
                esc(&c.cite),
                esc(&title),
                c.hits,
                c.records
            );
        }
        o.push_str("</table>\n");
    }
    if !s.top_terms.is_empty() {
        o.push_str("<h2>Most frequent terms</h2><table><tr><th>library</th><th>term</th><th>hits</th></tr>\n");
        for term in &s.top_terms {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td class=n>{}</td></tr>",
                esc(&term.rule),
                esc(&term.term),
                term.hits
            );
        }
        o.push_str("</table>\n");
    }
    if let Some(sm) = &s.sample {
        let _ = writeln!(
            o,
            "<h2>Review sample</h2><p>{} of {} records drawn with seed {}.</p>",
            sm.drawn, sm.size, sm.seed
        );
    }
    if !s.errors.is_empty() {
        o.push_str("<h2>Unreadable records</h2><ul>\n");
        for e in &s.errors {
            let _ = writeln!(
                o,
                "<li><code>{}</code> at {}: {}</li>",
                esc(&e.file),
                e.offset,
                esc(&e.message)
            );
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</body></html>\n");
    o
}

/// `5 %` for a percent threshold value (for messages).
pub fn threshold_value(t: &ThresholdRef) -> String {
    fmt_num(t.threshold.value)
}
