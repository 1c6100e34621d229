//! PDF through Typst, in process. The document is generated as Typst source from the layout
//! with every piece of user text passed as a Typst *string literal* (`"…"` with `\` and `"`
//! escaped), never as markup, so text such as `#import`, `]`, `$` or `*` prints literally.
//! A4 pages, page numbers and the title in the footer, table header rows that repeat on every
//! page (`table.header`), grade colours with their names. Fonts: Typst's bundled Latin fonts
//! plus Droid Sans Fallback for CJK, all embedded in the binary; nothing is read from disk.
//! The report id and digest go into the PDF's keywords.

use std::fmt::Write;
use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration, Smart};
use typst::syntax::{FileId, Source};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};
use typst_layout::PagedDocument;

use crate::layout::{BarsView, Block, Cell, Doc, HeatView, Table};
use crate::model::Report;

/// The embedded CJK font (Apache-2.0; see `fonts/README.md`).
static CJK: &[u8] = include_bytes!("../fonts/DroidSansFallbackFull.ttf");

struct Fonts {
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static FONTS: LazyLock<Fonts> = LazyLock::new(|| {
    let mut fonts = Vec::new();
    for data in typst_assets::fonts().chain(std::iter::once(CJK)) {
        fonts.extend(Font::iter(Bytes::new(data)));
    }
    Fonts {
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

static LIBRARY: LazyLock<LazyHash<Library>> =
    LazyLock::new(|| LazyHash::new(Library::builder().build()));

/// A world with one source file and the embedded fonts; no file system, no packages.
struct ReportWorld {
    main: Source,
}

impl World for ReportWorld {
    fn library(&self) -> &LazyHash<Library> {
        &LIBRARY
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &FONTS.book
    }

    fn main(&self) -> FileId {
        self.main.id()
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main.id() {
            Ok(self.main.clone())
        } else {
            Err(FileError::AccessDenied)
        }
    }

    fn file(&self, _id: FileId) -> FileResult<Bytes> {
        Err(FileError::AccessDenied)
    }

    fn font(&self, index: usize) -> Option<Font> {
        FONTS.fonts.get(index).cloned()
    }

    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        // Reports carry their own generation time; `datetime.today()` is not used.
        None
    }
}

/// A Typst string literal: the text, literally.
pub fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A colour literal from `#rrggbb` (grey when malformed).
fn color(c: &str) -> String {
    let ok = c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit());
    format!("rgb({})", string(if ok { c } else { "#757575" }))
}

fn cell(c: &Cell) -> String {
    match c {
        Cell::Text(t) => string(t),
        Cell::Grade { text, color: c } => format!("grade({}, {})", string(text), color(c)),
    }
}

fn table(o: &mut String, t: &Table) {
    let _ = write!(
        o,
        "#table(columns: {}, table.header(",
        t.columns.len().max(1)
    );
    for c in &t.columns {
        let _ = write!(o, "strong({}), ", string(c));
    }
    o.push_str("),\n");
    for r in &t.rows {
        for c in r {
            o.push_str(&cell(c));
            o.push_str(", ");
        }
        o.push('\n');
    }
    o.push_str(")\n\n");
}

fn heatmap(o: &mut String, h: &HeatView) {
    let _ = writeln!(o, "#block(breakable: false)[#strong({})", string(&h.title));
    let _ = write!(
        o,
        "#table(columns: {}, align: center + horizon, table.header(strong(\"L \\\\ I\"), ",
        h.impact.len() + 1
    );
    for l in &h.impact {
        let _ = write!(o, "strong({}), ", string(l));
    }
    o.push_str("),\n");
    for (li, row) in h.cells.iter().enumerate().rev() {
        let _ = write!(
            o,
            "strong({}), ",
            string(h.likelihood.get(li).map(String::as_str).unwrap_or(""))
        );
        for (n, c, name) in row {
            let _ = write!(
                o,
                "heat({n}, {}, {}), ",
                string(&format!("{n}")),
                format_args!("{}, {}", color(c), string(name))
            );
        }
        o.push('\n');
    }
    o.push_str(")]\n\n");
}

fn bars(o: &mut String, b: &BarsView) {
    let max = b.bars.iter().map(|x| x.1).max().unwrap_or(0).max(1) as f64;
    let _ = writeln!(
        o,
        "#block(breakable: false)[#strong({})\n#table(columns: (auto, 1fr), stroke: none, align: horizon,",
        string(&b.title)
    );
    for (label, n, c) in &b.bars {
        let pct = (*n as f64 / max * 85.0).round();
        let _ = writeln!(
            o,
            "{}, [#box(width: {pct}%, height: 8pt, fill: {})#h(4pt)#{}],",
            string(label),
            color(c),
            string(&n.to_string())
        );
    }
    o.push_str(")]\n\n");
}

/// The Typst source of a report.
pub fn source(r: &Report) -> String {
    typst_source(r, &crate::layout::document(r))
}

fn typst_source(r: &Report, d: &Doc) -> String {
    let mut o = String::new();
    let keywords = format!(
        "(\"aigov-report\", {}, {})",
        string(&format!("aigov-report-id:{}", r.meta.id)),
        string(&format!("aigov-report-digest:sha256:{}", r.digest))
    );
    let _ = write!(
        o,
        r#"#set document(title: {title}, author: {author}, keywords: {keywords}, date: none)
#set page(paper: "a4", margin: (x: 15mm, top: 16mm, bottom: 20mm), footer: context [
  #set text(size: 7.5pt, fill: luma(90))
  #{title} #h(1fr) #counter(page).display("1 / 1", both: true)
])
#set text(font: ("Libertinus Serif", "Droid Sans Fallback"), size: 9.5pt, lang: "en")
#set par(justify: false)
#set table(stroke: 0.4pt + luma(190), inset: 3.5pt)
#show table: set text(size: 7.5pt)
#show table: set par(justify: false)
#show heading.where(level: 1): set text(size: 13pt)
#show heading.where(level: 2): set text(size: 10.5pt)
#let grade(l, c) = box(fill: c, inset: (x: 3pt, y: 1.5pt), radius: 2pt, text(fill: white, weight: "bold", l))
#let heat(n, label, c, name) = table.cell(fill: if n > 0 {{ c }} else {{ c.lighten(80%) }})[#text(fill: if n > 0 {{ white }} else {{ black }}, weight: "bold", label) \ #text(size: 6pt, fill: if n > 0 {{ white }} else {{ black }}, name)]

"#,
        title = string(&d.title),
        author = string(&r.meta.generated_by),
    );
    // Cover block.
    let _ = writeln!(
        o,
        "#block(fill: luma(245), inset: 10pt, radius: 4pt, width: 100%)[#text(size: 17pt, weight: \"bold\", {})\n#v(4pt)\n#grid(columns: (auto, 1fr), column-gutter: 10pt, row-gutter: 5pt,",
        string(&d.title)
    );
    for (k, v) in &d.cover {
        let _ = writeln!(o, "text(fill: luma(90), {}), {},", string(k), string(v));
    }
    o.push_str(")]\n\n");
    for s in &d.sections {
        let _ = writeln!(o, "#heading(level: 1, {})\n", string(&s.title));
        for b in &s.blocks {
            match b {
                Block::Para(p) => {
                    let _ = writeln!(o, "#block({})\n", string(p));
                }
                Block::Subheading(h) => {
                    let _ = writeln!(o, "#heading(level: 2, {})\n", string(h));
                }
                Block::Facts(f) => {
                    o.push_str(
                        "#grid(columns: (auto, 1fr), column-gutter: 10pt, row-gutter: 5pt,\n",
                    );
                    for (k, v) in f {
                        let _ = writeln!(o, "text(fill: luma(90), {}), {},", string(k), string(v));
                    }
                    o.push_str(")\n\n");
                }
                Block::Table(t) => table(&mut o, t),
                Block::Heatmap(h) => heatmap(&mut o, h),
                Block::Bars(b) => bars(&mut o, b),
            }
        }
    }
    o
}

/// Compiles the Typst source of a report to PDF bytes.
pub(crate) fn render(r: &Report, d: &Doc) -> Result<Vec<u8>, String> {
    let src = typst_source(r, d);
    let world = ReportWorld {
        main: Source::detached(src),
    };
    let doc: PagedDocument = typst::compile(&world).output.map_err(|errs| {
        errs.iter()
            .map(|e| e.message.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    let opts = typst_pdf::PdfOptions {
        ident: Smart::Custom(r.meta.id.clone()),
        creator: Smart::Custom(Some(r.meta.generator.clone())),
        ..Default::default()
    };
    typst_pdf::pdf(&doc, &opts).map_err(|errs| {
        errs.iter()
            .map(|e| e.message.to_string())
            .collect::<Vec<_>>()
            .join("; ")
    })
}
