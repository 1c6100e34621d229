//! `aigov catalog …`: browse, search, map, import, export, validate and diff catalogs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use aigov_catalog::crosswalk::{Crosswalk, MappedItem, Node};
use aigov_catalog::diff::{Change, diff};
use aigov_catalog::formats::{self, ExportFormat, ImportOverrides, aigov as af};
use aigov_catalog::load::{LoadOptions, parse_document};
use aigov_catalog::search::{Query, search};
use aigov_catalog::{
    Catalog, CatalogKey, Cite, Document, Item, Kind, Lang, Library, MappingSet, MappingTarget,
    Source, Text,
};
use anyhow::{Context, Result, bail};
use clap::{Subcommand, ValueEnum};
use serde_json::json;

use aigov_server::config::{Config, FileConfig};

use crate::datadir::write_atomic;
use crate::output::{self, note, print, table};
use crate::settings::{self, Global};

/// What every catalog command needs: the configuration and a runtime for the store.
pub(crate) struct DataDir {
    cfg: Config,
    rt: tokio::runtime::Runtime,
}

impl DataDir {
    pub(crate) fn new(g: &Global) -> Result<DataDir> {
        Ok(DataDir {
            cfg: settings::resolve(g, FileConfig::default())?,
            rt: settings::runtime()?,
        })
    }

    /// Built-in catalogs plus those imported into the store (built-ins only when no database
    /// exists yet; listing never creates one).
    pub(crate) fn library(&self) -> Result<Library> {
        self.rt.block_on(async {
            match settings::open_existing(&self.cfg).await? {
                Some(s) => Ok(s.load_library().await?),
                None => Library::builtin().map_err(|d| {
                    anyhow::anyhow!("built-in catalogs are invalid (a build defect):\n{d}")
                }),
            }
        })
    }

    fn root(&self) -> String {
        match &self.cfg.database_url {
            Some(u) => aigov_store::db::redact_url(u),
            None => self.cfg.data_dir.display().to_string(),
        }
    }
}

/// Catalog subcommands.
#[derive(Debug, Subcommand)]
pub enum CatalogCmd {
    /// List the catalogs (built-in and imported) and the mapping sets between them.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
        /// Language of titles (default: from AIGOV_LANG or LANG, else en).
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
    },
    /// Show a catalog's items: `aigov catalog show tc260-aisgf[@1.0]`.
    Show {
        /// Catalog id, optionally with @version (default: the newest version).
        catalog: String,
        /// Language for table and markdown output (falls back to the other language, marked).
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Only items of this kind (principle, section, risk-category, risk, measure, guideline,
        /// requirement, control, threshold).
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ShowFormat::Table)]
        format: ShowFormat,
    },
    /// Search item titles and text in Chinese and English, best matches first.
    Search {
        /// Words to find; all must match. Quote a phrase to keep it whole.
        text: String,
        /// Only this catalog id.
        #[arg(long)]
        catalog: Option<String>,
        /// Only items of this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// Language of titles in the table.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// At most this many results (0 = all).
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Also search older versions of each catalog.
        #[arg(long)]
        all_versions: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Show what an item maps to in other catalogs, directly and through hub catalogs.
    Map {
        /// The item: <catalog>[@<version>]:<ref>, e.g. 'tc260-aisgf@1.0:3.1.1(a)'.
        item: String,
        /// Only mapped items in this catalog id (or external scheme, e.g. mit-airi).
        #[arg(long)]
        to: Option<String>,
        /// Longest chain to follow (1 = direct mappings only).
        #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(1..=4))]
        max_hops: u8,
        /// Language of titles in the table.
        #[arg(long, value_parser = parse_lang)]
        lang: Option<Lang>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Export a catalog (yaml, json, csv, oscal) or mapping sets (yaml, json, sssom).
    Export {
        /// Catalog id[@version], or a mapping-set id. With --format sssom and a catalog id,
        /// exports every mapping set that involves the catalog.
        id: String,
        /// Output format.
        #[arg(long, value_parser = parse_export_format)]
        format: ExportFormat,
        /// Write to this file (or, for several SSSOM sets, this directory) instead of stdout.
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Import a catalog or mapping set into the data directory. Reads aigov YAML/JSON/CSV,
    /// SSSOM TSV, OSCAL catalog JSON and CISO Assistant library YAML (detected by content).
    Import {
        /// The file to import.
        file: PathBuf,
        /// Replace an imported catalog or mapping set that has the same id and version.
        #[arg(long)]
        replace: bool,
        /// Catalog id to use when the file does not carry one (OSCAL).
        #[arg(long)]
        id: Option<String>,
        /// Version to use when the file has none or an unusable one (OSCAL).
        #[arg(long = "catalog-version", value_name = "VERSION")]
        catalog_version: Option<String>,
        /// Check the file and show what would be imported, without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check catalog or mapping-set files and report every problem with file, line and item.
    Validate {
        /// Files to check (any importable format).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Apply the built-in rules: provenance on every item, titles and text in zh and en.
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Compare two versions of a catalog item by item: `aigov catalog diff x@1.0 x@2.0`.
    Diff {
        /// The older catalog, id@version.
        old: String,
        /// The newer catalog, id@version.
        new: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
}

/// Table or JSON.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ListFormat {
    /// Aligned text.
    Table,
    /// JSON for scripts.
    Json,
}

/// Formats of `catalog show`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ShowFormat {
    /// Aligned text: ref, kind, title, status.
    Table,
    /// The stable JSON shape (see catalogs/README.md).
    Json,
    /// aigov YAML.
    Yaml,
    /// CSV.
    Csv,
    /// A readable document.
    Markdown,
}

fn parse_lang(s: &str) -> Result<Lang, String> {
    s.parse()
}

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse()
}

fn parse_export_format(s: &str) -> Result<ExportFormat, String> {
    s.parse()
}

/// The language for display: the flag, else AIGOV_LANG, else LANG (zh_* → zh), else en.
pub(crate) fn lang_or_default(l: Option<Lang>) -> Lang {
    if let Some(l) = l {
        return l;
    }
    for var in ["AIGOV_LANG", "LC_ALL", "LANG"] {
        if let Ok(v) = std::env::var(var) {
            if v.to_ascii_lowercase().starts_with("zh") {
                return Lang::Zh;
            }
            if !v.is_empty() && var == "AIGOV_LANG" {
                return Lang::En;
            }
        }
    }
    Lang::En
}

/// Text in `lang`, else the other language with a `[xx]` marker.
pub(crate) fn pick(t: &Text, lang: Lang) -> String {
    match t.pick(lang) {
        (s, false) => s.to_string(),
        ("", true) => String::new(),
        (s, true) => format!("{s} [{}]", lang.other().code()),
    }
}

/// Runs a catalog subcommand.
pub fn run(cmd: CatalogCmd, g: &Global) -> Result<ExitCode> {
    let dd = &DataDir::new(g)?;
    match cmd {
        CatalogCmd::List { format, lang } => list(dd, format, lang_or_default(lang)),
        CatalogCmd::Show {
            catalog,
            lang,
            kind,
            format,
        } => show(dd, &catalog, lang_or_default(lang), kind, format),
        CatalogCmd::Search {
            text,
            catalog,
            kind,
            lang,
            limit,
            all_versions,
            format,
        } => search_cmd(
            dd,
            &text,
            catalog.as_deref(),
            kind,
            lang_or_default(lang),
            limit,
            all_versions,
            format,
        ),
        CatalogCmd::Map {
            item,
            to,
            max_hops,
            lang,
            format,
        } => map_cmd(
            dd,
            &item,
            to.as_deref(),
            max_hops as usize,
            lang_or_default(lang),
            format,
        ),
        CatalogCmd::Export { id, format, out } => export(dd, &id, format, out),
        CatalogCmd::Import {
            file,
            replace,
            id,
            catalog_version,
            dry_run,
        } => import(
            dd,
            &file,
            replace,
            ImportOverrides {
                id,
                version: catalog_version,
            },
            dry_run,
        ),
        CatalogCmd::Validate {
            files,
            strict,
            format,
        } => validate(dd, &files, strict, format),
        CatalogCmd::Diff { old, new, format } => diff_cmd(dd, &old, &new, format),
    }
}

fn list(dd: &DataDir, format: ListFormat, lang: Lang) -> Result<ExitCode> {
    let lib = dd.library()?;
    match format {
        ListFormat::Json => {
            let cats: Vec<_> = lib
                .catalogs_with_origin()
                .map(|(c, o)| {
                    json!({
                        "id": c.id, "version": c.version.as_str(), "title": {"zh": c.title.zh, "en": c.title.en},
                        "published": c.published, "items": c.items.len(), "origin": o.label(),
                        "newest": lib.get(&c.id, None).map(|n| n.version == c.version).unwrap_or(false),
                    })
                })
                .collect();
            let sets: Vec<_> = lib
                .mapping_sets_with_origin()
                .map(|(s, o)| json!({"id": s.id, "subject": s.subject.to_string(), "object": s.object.to_string(), "mappings": s.mappings.len(), "origin": o.label()}))
                .collect();
            print(&output::json(
                &json!({"catalogs": cats, "mapping_sets": sets}),
            ));
        }
        ListFormat::Table => {
            let rows: Vec<Vec<String>> = lib
                .catalogs_with_origin()
                .map(|(c, o)| {
                    vec![
                        c.id.clone(),
                        c.version.to_string(),
                        c.items.len().to_string(),
                        o.label().into(),
                        c.published.clone().unwrap_or_default(),
                        pick(&c.title, lang),
                    ]
                })
                .collect();
            let mut s = table(
                &["ID", "VERSION", "ITEMS", "ORIGIN", "PUBLISHED", "TITLE"],
                &rows,
            );
            let srows: Vec<Vec<String>> = lib
                .mapping_sets_with_origin()
                .map(|(m, o)| {
                    vec![
                        m.id.clone(),
                        m.subject.to_string(),
                        m.object.to_string(),
                        m.mappings.len().to_string(),
                        o.label().into(),
                    ]
                })
                .collect();
            if !srows.is_empty() {
                s.push_str("\nMapping sets:\n");
                s.push_str(&table(
                    &["ID", "SUBJECT", "OBJECT", "ROWS", "ORIGIN"],
                    &srows,
                ));
            }
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn depth(c: &Catalog, it: &Item) -> usize {
    let mut d = 0;
    let mut cur = it.parent.as_deref();
    while let Some(p) = cur {
        d += 1;
        if d > 32 {
            break;
        }
        cur = c.item(p).and_then(|x| x.parent.as_deref());
    }
    d
}

fn show(
    dd: &DataDir,
    spec: &str,
    lang: Lang,
    kind: Option<Kind>,
    format: ShowFormat,
) -> Result<ExitCode> {
    let lib = dd.library()?;
    let c = lib.resolve(spec)?;
    let keep = |it: &Item| kind.is_none_or(|k| it.kind == k);
    match format {
        ShowFormat::Json => print(&output::json(&af::catalog_json_filtered(c, keep))),
        ShowFormat::Yaml => print(&af::to_yaml(&af::prune(af::catalog_json_filtered(c, keep)))),
        ShowFormat::Csv => print(&formats::csv::catalog_csv(&c.filtered(keep))),
        ShowFormat::Markdown => print(&markdown(c, lang, keep)),
        ShowFormat::Table => {
            let rows: Vec<Vec<String>> = c
                .items
                .iter()
                .filter(|i| keep(i))
                .map(|it| {
                    let indent = if kind.is_some() {
                        String::new()
                    } else {
                        "  ".repeat(depth(c, it))
                    };
                    vec![
                        format!("{indent}{}", it.r#ref),
                        it.kind.to_string(),
                        pick(&it.title, lang),
                        it.provenance.status.as_str().to_string(),
                    ]
                })
                .collect();
            let mut s = format!("{} — {}\n\n", c.key(), pick(&c.title, lang));
            s.push_str(&table(&["REF", "KIND", "TITLE", "PROVENANCE"], &rows));
            s.push_str(&format!("\n{} items\n", rows.len()));
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn markdown(c: &Catalog, lang: Lang, keep: impl Fn(&Item) -> bool) -> String {
    let mut s = format!("# {} ({})\n\n", pick(&c.title, lang), c.key());
    if let Some(p) = &c.publisher {
        s.push_str(&format!(
            "- {}: {}\n",
            if lang == Lang::Zh {
                "发布方"
            } else {
                "Publisher"
            },
            pick(p, lang)
        ));
    }
    if let Some(d) = &c.published {
        s.push_str(&format!(
            "- {}: {d}\n",
            if lang == Lang::Zh {
                "发布日期"
            } else {
                "Published"
            }
        ));
    }
    if let Some(u) = &c.source_url {
        s.push_str(&format!(
            "- {}: <{u}>\n",
            if lang == Lang::Zh { "来源" } else { "Source" }
        ));
    }
    if let Some(d) = &c.description {
        s.push_str(&format!("\n{}\n", pick(d, lang)));
    }
    if let Some(n) = &c.notes {
        s.push_str(&format!("\n> {}\n", pick(n, lang).replace('\n', "\n> ")));
    }
    for it in c.items.iter().filter(|i| keep(i)) {
        let level = (depth(c, it) + 2).min(6);
        s.push_str(&format!(
            "\n{} {} {}\n\n",
            "#".repeat(level),
            it.r#ref,
            pick(&it.title, lang)
        ));
        if let Some(t) = &it.text {
            s.push_str(&format!("{}\n\n", pick(t, lang)));
        }
        let mut meta = vec![format!("kind: {}", it.kind)];
        if !it.tags.is_empty() {
            meta.push(format!("tags: {}", it.tags.join(", ")));
        }
        let conf = if it.provenance.confirmed() {
            ""
        } else {
            " — unconfirmed"
        };
        meta.push(format!(
            "provenance: {}{conf} ({})",
            it.provenance.status.as_str(),
            it.provenance.source
        ));
        s.push_str(&format!("*{}*\n", meta.join(" · ")));
        if let Some(n) = &it.provenance.note {
            s.push_str(&format!("\n*{n}*\n"));
        }
        if let Some(th) = &it.threshold {
            let scope = if th.scope.is_empty() {
                String::new()
            } else {
                format!(" over {}", th.scope.join(", "))
            };
            let per = if th.per == aigov_catalog::Per::Risk {
                " per risk"
            } else {
                ""
            };
            s.push_str(&format!(
                "\n`{} {} {} {}`{scope}{per}\n",
                th.metric,
                th.comparison.as_str(),
                th.value,
                th.unit
            ));
        }
        for l in &it.links {
            let basis = if l.basis == aigov_catalog::LinkBasis::Stated {
                " (stated)"
            } else {
                ""
            };
            let title = c
                .item(&l.to)
                .map(|t| pick(&t.title, lang))
                .unwrap_or_default();
            s.push_str(&format!("- {} {} {title}{basis}\n", l.rel.as_str(), l.to));
        }
    }
    s
}

#[allow(clippy::too_many_arguments)]
fn search_cmd(
    dd: &DataDir,
    text: &str,
    catalog: Option<&str>,
    kind: Option<Kind>,
    lang: Lang,
    limit: usize,
    all_versions: bool,
    format: ListFormat,
) -> Result<ExitCode> {
    let lib = dd.library()?;
    let (cat_id, version) =
        match catalog.map(|c| c.split_once('@').map_or((c, None), |(i, v)| (i, Some(v)))) {
            Some((i, v)) => (Some(i), v),
            None => (None, None),
        };
    if let Some(i) = cat_id
        && lib.get(i, version).is_none()
    {
        bail!(
            "no catalog {}; `aigov catalog list` shows what is available",
            catalog.unwrap_or(i)
        );
    }
    let hits = search(
        &lib,
        &Query {
            text,
            catalog: cat_id,
            version,
            kind,
            all_versions,
            limit,
        },
    );
    match format {
        ListFormat::Json => {
            let v: Vec<_> = hits
                .iter()
                .map(|h| {
                    json!({
                        "catalog": h.catalog.key().to_string(), "ref": h.item.r#ref, "kind": h.item.kind.as_str(),
                        "title": {"zh": h.item.title.zh, "en": h.item.title.en}, "score": (h.score * 100.0).round() / 100.0,
                        "matched": h.matched,
                    })
                })
                .collect();
            print(&output::json(&json!(v)));
        }
        ListFormat::Table => {
            if hits.is_empty() {
                note(&format!("no items match {text:?}"));
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = hits
                .iter()
                .map(|h| {
                    vec![
                        format!("{}:{}", h.catalog.key(), h.item.r#ref),
                        h.item.kind.to_string(),
                        pick(&h.item.title, lang),
                        h.matched.join(","),
                    ]
                })
                .collect();
            print(&table(&["ITEM", "KIND", "TITLE", "MATCHED"], &rows));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn node_title(lib: &Library, n: &Node, lang: Lang, label: Option<&str>) -> String {
    match n {
        Node::Item(k, r) => lib
            .get_exact(&k.id, &k.version)
            .and_then(|c| c.item(r))
            .map(|i| pick(&i.title, lang))
            .unwrap_or_default(),
        Node::External(..) => label.unwrap_or("").to_string(),
    }
}

fn map_cmd(
    dd: &DataDir,
    item: &str,
    to: Option<&str>,
    max_hops: usize,
    lang: Lang,
    format: ListFormat,
) -> Result<ExitCode> {
    let lib = dd.library()?;
    let cite = Cite::parse(item).map_err(anyhow::Error::msg)?;
    let (c, it) = lib.cite(&cite)?;
    if let Some(t) = to
        && lib.get(t, None).is_none()
        && !lib
            .mapping_sets()
            .any(|s| matches!(&s.object, MappingTarget::External(x) if x.id == t))
    {
        bail!("no catalog or external scheme {t}; `aigov catalog list` shows what is available");
    }
    let start = Node::Item(c.key(), it.r#ref.clone());
    let cw = Crosswalk::new(&lib);
    let found = cw.map(&start, to, max_hops);
    let title_of = |m: &MappedItem| {
        node_title(
            &lib,
            &m.target,
            lang,
            m.path.last().and_then(|h| h.label.as_deref()),
        )
    };
    match format {
        ListFormat::Json => {
            let v: Vec<_> = found
                .iter()
                .map(|m| {
                    json!({
                        "target": {"catalog": m.target.space(), "ref": m.target.local(), "title": title_of(m)},
                        "relationship": m.relationship.as_str(),
                        "confidence": m.confidence,
                        "direct": m.is_direct(),
                        "path": m.path.iter().map(|h| json!({
                            "set": h.set, "from": h.from.to_string(), "to": h.to.to_string(),
                            "relationship": h.relationship.as_str(), "confidence": h.confidence,
                            "reversed": h.reversed, "justification": h.justification,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            print(&output::json(
                &json!({"item": start.to_string(), "title": {"zh": it.title.zh, "en": it.title.en}, "mappings": v}),
            ));
        }
        ListFormat::Table => {
            let mut s = format!("{} {}\n\n", start, pick(&it.title, lang));
            if found.is_empty() {
                s.push_str("no mappings");
                if let Some(t) = to {
                    s.push_str(&format!(" to {t}"));
                }
                s.push_str(&format!(" within {max_hops} hop(s)\n"));
                print(&s);
                return Ok(ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = found
                .iter()
                .map(|m| {
                    let via = if m.is_direct() {
                        "direct".to_string()
                    } else {
                        let mut p = String::new();
                        for h in &m.path[..m.path.len() - 1] {
                            p.push_str(&format!("{} {} → ", h.relationship, h.to));
                        }
                        format!(
                            "via {}{}",
                            p,
                            m.path.last().map(|h| h.relationship.as_str()).unwrap_or("")
                        )
                    };
                    vec![
                        m.target.to_string(),
                        m.relationship.to_string(),
                        m.confidence
                            .map(|c| format!("{c:.2}"))
                            .unwrap_or_else(|| "-".into()),
                        title_of(m),
                        via,
                    ]
                })
                .collect();
            s.push_str(&table(&["MAPS TO", "REL", "CONF", "TITLE", "PATH"], &rows));
            let direct = found.iter().filter(|m| m.is_direct()).count();
            s.push_str(&format!(
                "\n{direct} direct, {} chained\n",
                found.len() - direct
            ));
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn label_fn(lib: &Library) -> impl Fn(&MappingTarget, &str) -> Option<String> + '_ {
    move |t, r| match t {
        MappingTarget::Catalog(k) => lib.get_exact(&k.id, &k.version)?.item(r).map(|i| {
            i.title
                .en
                .clone()
                .or(i.title.zh.clone())
                .unwrap_or_default()
        }),
        MappingTarget::External(_) => None,
    }
}

fn emit(out: &Option<PathBuf>, content: &str) -> Result<()> {
    match out {
        Some(p) => {
            write_atomic(p, content)?;
            note(&format!("wrote {}", p.display()));
        }
        None => print(content),
    }
    Ok(())
}

fn export(dd: &DataDir, id: &str, format: ExportFormat, out: Option<PathBuf>) -> Result<ExitCode> {
    let lib = dd.library()?;
    let label = label_fn(&lib);
    if let Some(s) = lib.mapping_set(id) {
        let content = formats::export_mapping_set(s, format, &label).map_err(anyhow::Error::msg)?;
        emit(&out, &content)?;
        return Ok(ExitCode::SUCCESS);
    }
    let c = lib
        .resolve(id)
        .with_context(|| format!("{id} is neither a catalog nor a mapping set"))?;
    if format != ExportFormat::Sssom {
        let content = formats::export_catalog(c, format).map_err(anyhow::Error::msg)?;
        emit(&out, &content)?;
        return Ok(ExitCode::SUCCESS);
    }
    let sets: Vec<&MappingSet> = lib
        .mapping_sets()
        .filter(|s| {
            s.subject == c.key() || matches!(&s.object, MappingTarget::Catalog(k) if *k == c.key())
        })
        .collect();
    match (sets.len(), &out) {
        (0, _) => bail!("no mapping sets involve {}", c.key()),
        (1, _) => emit(
            &out,
            &formats::export_mapping_set(sets[0], format, &label).map_err(anyhow::Error::msg)?,
        )?,
        (n, None) => bail!(
            "{n} mapping sets involve {} ({}); pass --out DIR to write one SSSOM file each, or export one set by its id",
            c.key(),
            sets.iter()
                .map(|s| s.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        (_, Some(dir)) => {
            if dir.exists() && !dir.is_dir() {
                bail!("{} exists and is not a directory", dir.display());
            }
            for s in sets {
                let p = dir.join(format!("{}.sssom.tsv", s.id));
                write_atomic(
                    &p,
                    &formats::export_mapping_set(s, format, &label).map_err(anyhow::Error::msg)?,
                )?;
                note(&format!("wrote {}", p.display()));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(file: &PathBuf) -> Result<String> {
    let meta =
        std::fs::metadata(file).with_context(|| format!("cannot read {}", file.display()))?;
    if meta.len() as usize > aigov_catalog::load::MAX_FILE_BYTES {
        bail!(
            "{} is {} bytes; the limit is {}",
            file.display(),
            meta.len(),
            aigov_catalog::load::MAX_FILE_BYTES
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            file.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// CISO Assistant requirement URNs of everything imported so far, for mapping libraries.
fn urn_index(lib: &Library) -> HashMap<String, (CatalogKey, String)> {
    let mut m = HashMap::new();
    for (c, o) in lib.catalogs_with_origin() {
        if matches!(o, Source::Imported(_)) {
            for it in &c.items {
                if let Some(u) = formats::ciso::urn_of(it) {
                    m.insert(u.to_string(), (c.key(), it.r#ref.clone()));
                }
            }
        }
    }
    m
}

fn import(
    dd: &DataDir,
    file: &PathBuf,
    replace: bool,
    ov: ImportOverrides,
    dry_run: bool,
) -> Result<ExitCode> {
    let src = read_input(file)?;
    let name = file.display().to_string();
    let urns = urn_index(&dd.library()?);
    let imported = match formats::import_file_with(&name, &src, &ov, &|u| urns.get(u).cloned()) {
        Ok(i) => i,
        Err(d) => {
            print(&format!("{d}\n"));
            bail!("{name} was not imported: {} problem(s)", d.0.len());
        }
    };
    let mut lib = dd.library()?;
    // Check everything before writing anything, so an import lands whole or not at all.
    let mut plan: Vec<String> = Vec::new();
    for c in &imported.catalogs {
        let key = c.key();
        match lib.origin(&key) {
            Some(Source::Builtin) => bail!(
                "{key} is a built-in catalog and cannot be replaced; import it under another version or id"
            ),
            Some(Source::Imported(_)) => {
                let existing = lib
                    .get_exact(&c.id, c.version.as_str())
                    .map(af::catalog_json);
                if existing.as_ref() == Some(&af::catalog_json(c)) {
                    plan.push(format!("{key}: unchanged"));
                    continue;
                }
                if !replace {
                    bail!(
                        "{key} is already imported with different content; pass --replace to overwrite it"
                    );
                }
                plan.push(format!("{key}: replace ({} items)", c.items.len()));
            }
            None => {
                let older: Vec<String> =
                    lib.versions(&c.id).map(|o| o.version.to_string()).collect();
                let keep = if older.is_empty() {
                    String::new()
                } else {
                    format!("; kept version(s) {}", older.join(", "))
                };
                plan.push(format!("{key}: new ({} items){keep}", c.items.len()));
            }
        }
        lib.add_catalog(c.clone(), Source::Imported(String::new()))?;
    }
    for s in &imported.mapping_sets {
        if let Err(d) = lib.check_mapping_set(s) {
            print(&format!("{d}\n"));
            bail!("mapping set {} was not imported", s.id);
        }
        let existing = lib.mapping_sets_with_origin().find(|(x, _)| x.id == s.id);
        match existing {
            Some((_, Source::Builtin)) => bail!(
                "mapping set {} is built in and cannot be replaced; use another id",
                s.id
            ),
            Some((x, _)) if af::mapping_set_json(x) == af::mapping_set_json(s) => {
                plan.push(format!("mapping set {}: unchanged", s.id))
            }
            Some(_) if !replace => bail!(
                "mapping set {} is already imported with different content; pass --replace to overwrite it",
                s.id
            ),
            Some(_) => plan.push(format!(
                "mapping set {}: replace ({} rows)",
                s.id,
                s.mappings.len()
            )),
            None => plan.push(format!(
                "mapping set {}: new ({} rows)",
                s.id,
                s.mappings.len()
            )),
        }
    }
    for line in &plan {
        note(&format!(
            "{}{line}",
            if dry_run { "would import " } else { "" }
        ));
    }
    for sk in &imported.skipped {
        note(&format!("left out: {sk}"));
    }
    if dry_run {
        note(&format!(
            "dry run ({} format): nothing written",
            imported.format
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let actor = settings::cli_actor();
    dd.rt.block_on(async {
        let store = settings::open_store(&dd.cfg, true).await?;
        let builtin = Library::builtin().map_err(|d| anyhow::anyhow!("{d}"))?;
        store.sync_builtin_catalogs(&builtin).await?;
        for c in &imported.catalogs {
            store.import_catalog(&actor, c, replace).await?;
        }
        for s in &imported.mapping_sets {
            store.import_mapping_set(&actor, s, replace).await?;
        }
        anyhow::Ok(())
    })?;
    note(&format!(
        "imported from {name} ({} format) into {}",
        imported.format,
        dd.root()
    ));
    Ok(ExitCode::SUCCESS)
}

fn validate(dd: &DataDir, files: &[PathBuf], strict: bool, format: ListFormat) -> Result<ExitCode> {
    let lib = dd.library()?;
    let mut results = Vec::new();
    let mut failed = false;
    for f in files {
        let name = f.display().to_string();
        let src = match read_input(f) {
            Ok(s) => s,
            Err(e) => {
                failed = true;
                results.push((name, Err(vec![format!("{e:#}")]), String::new()));
                continue;
            }
        };
        // aigov files go through the line-aware loader; other formats through the importer.
        let is_aigov = src.contains("aigov_catalog") || src.contains("aigov_mapping_set");
        let outcome: Result<Vec<String>, Vec<String>> = if is_aigov
            && !formats::csv::is_catalog_csv(&src)
        {
            match parse_document(&name, &src, LoadOptions { strict }) {
                Ok(Document::Catalog(c)) => Ok(vec![format!(
                    "catalog {} ({} items)",
                    c.key(),
                    c.items.len()
                )]),
                Ok(Document::MappingSet(s)) => match lib.check_mapping_set(&s) {
                    Ok(()) => Ok(vec![format!(
                        "mapping set {} ({} rows)",
                        s.id,
                        s.mappings.len()
                    )]),
                    Err(d) => Err(d.0.iter().map(|x| x.to_string()).collect()),
                },
                Err(d) => Err(d.0.iter().map(|x| x.to_string()).collect()),
            }
        } else {
            let urns = urn_index(&lib);
            match formats::import_file_with(&name, &src, &ImportOverrides::default(), &|u| {
                urns.get(u).cloned()
            }) {
                Ok(i) => {
                    let mut scratch = lib.clone();
                    let mut errs = Vec::new();
                    let mut ok = Vec::new();
                    for c in &i.catalogs {
                        ok.push(format!("catalog {} ({} items)", c.key(), c.items.len()));
                        let _ = scratch.add_catalog(c.clone(), Source::Imported(String::new()));
                    }
                    for s in &i.mapping_sets {
                        match scratch.check_mapping_set(s) {
                            Ok(()) => {
                                ok.push(format!("mapping set {} ({} rows)", s.id, s.mappings.len()))
                            }
                            Err(d) => errs.extend(d.0.iter().map(|x| x.to_string())),
                        }
                    }
                    if errs.is_empty() { Ok(ok) } else { Err(errs) }
                }
                Err(d) => Err(d.0.iter().map(|x| x.to_string()).collect()),
            }
        };
        failed |= outcome.is_err();
        results.push((name, outcome, String::new()));
    }
    match format {
        ListFormat::Json => {
            let v: Vec<_> = results
                .iter()
                .map(|(n, r, _)| match r {
                    Ok(ok) => json!({"file": n, "valid": true, "contents": ok, "problems": []}),
                    Err(e) => json!({"file": n, "valid": false, "contents": [], "problems": e}),
                })
                .collect();
            print(&output::json(&json!(v)));
        }
        ListFormat::Table => {
            let mut s = String::new();
            for (n, r, _) in &results {
                match r {
                    Ok(ok) => s.push_str(&format!("ok: {n}: {}\n", ok.join(", "))),
                    Err(e) => {
                        for line in e {
                            s.push_str(line);
                            s.push('\n');
                        }
                        s.push_str(&format!("invalid: {n}: {} problem(s)\n", e.len()));
                    }
                }
            }
            print(&s);
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn diff_cmd(dd: &DataDir, old: &str, new: &str, format: ListFormat) -> Result<ExitCode> {
    let lib = dd.library()?;
    let a = lib.resolve(old)?;
    let b = lib.resolve(new)?;
    let changes = diff(a, b);
    match format {
        ListFormat::Json => {
            let v: Vec<_> = changes
                .iter()
                .map(|c| match c {
                    Change::Added(r) => json!({"change": "added", "ref": r}),
                    Change::Removed(r) => json!({"change": "removed", "ref": r}),
                    Change::Changed(r, f) => json!({"change": "changed", "ref": r, "fields": f.iter().map(|(k, o, n)| json!({"field": k, "old": o, "new": n})).collect::<Vec<_>>()}),
                })
                .collect();
            print(&output::json(
                &json!({"old": a.key().to_string(), "new": b.key().to_string(), "changes": v}),
            ));
        }
        ListFormat::Table => {
            let mut rows = Vec::new();
            for c in &changes {
                match c {
                    Change::Added(r) => rows.push(vec!["added".into(), r.clone(), String::new()]),
                    Change::Removed(r) => {
                        rows.push(vec!["removed".into(), r.clone(), String::new()])
                    }
                    Change::Changed(r, f) => {
                        for (k, o, n) in f {
                            let short = |s: &str| {
                                if s.chars().count() > 60 {
                                    format!("{}…", s.chars().take(60).collect::<String>())
                                } else {
                                    s.to_string()
                                }
                            };
                            rows.push(vec![
                                "changed".into(),
                                r.clone(),
                                format!("{k}: {:?} → {:?}", short(o), short(n)),
                            ]);
                        }
                    }
                }
            }
            let (ad, rm, ch) = changes.iter().fold((0, 0, 0), |(a, r, c), x| match x {
                Change::Added(_) => (a + 1, r, c),
                Change::Removed(_) => (a, r + 1, c),
                Change::Changed(..) => (a, r, c + 1),
            });
            let mut s = format!(
                "{} → {}: {ad} added, {rm} removed, {ch} changed\n",
                a.key(),
                b.key()
            );
            if !rows.is_empty() {
                s.push('\n');
                s.push_str(&table(&["CHANGE", "REF", "DETAIL"], &rows));
            }
            print(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}
