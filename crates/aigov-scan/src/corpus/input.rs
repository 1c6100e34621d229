//! Corpus inputs: finding the files, deciding their format and compression, cutting them into
//! shards, and streaming their bytes.
//!
//! Compression is decided by magic bytes (gzip `1f 8b`, zstd `28 b5 2f fd`), never by name.
//! The record format comes from `--input-format`, else from the name (with `.gz`/`.zst`
//! removed: `.jsonl`, `.ndjson`, `.json`, `.csv`, `.tsv`, `.parquet`), else from the first
//! bytes (`{` → JSON Lines, `PAR1` → Parquet, anything else → plain text).

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::ScanError;

/// The record format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// JSON Lines: one JSON value per line.
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// Apache Parquet (feature `parquet`).
    Parquet,
    /// Plain text.
    Text,
}

impl Format {
    /// Parses `jsonl`, `csv`, `tsv`, `parquet`, `text`.
    pub fn parse(s: &str) -> Option<Format> {
        Some(match s {
            "jsonl" | "ndjson" | "json" => Format::Jsonl,
            "csv" => Format::Csv,
            "tsv" => Format::Tsv,
            "parquet" => Format::Parquet,
            "text" | "txt" => Format::Text,
            _ => return None,
        })
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Parquet => "parquet",
            Format::Text => "text",
        }
    }
}

/// How an input file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (one or more members).
    Gzip,
    /// Zstandard (one or more frames).
    Zstd,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// The path to open.
    pub path: PathBuf,
    /// The name shown in reports (the path as given, or relative below a directory argument).
    pub name: String,
    /// Size on disk.
    pub size: u64,
    /// Modification time (seconds since the epoch), part of the resume check.
    pub mtime: u64,
    /// Record format.
    pub format: Format,
    /// Compression.
    pub compression: Compression,
    /// The path argument it was found under (a source when sources are per argument).
    pub argument: String,
    /// A short relative name: the file name for a file argument, `<dir name>/<path below it>`
    /// for a file found in a directory argument (used to name redacted copies).
    pub rel: String,
}

/// How lines of plain text become records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextRecords {
    /// Each line is a record.
    #[default]
    Line,
    /// Each blank-line-separated paragraph is a record.
    Paragraph,
    /// The whole file is one record.
    File,
}

fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    }
}

fn format_by_name(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let base = lower
        .strip_suffix(".gz")
        .or_else(|| lower.strip_suffix(".gzip"))
        .or_else(|| lower.strip_suffix(".zst"))
        .or_else(|| lower.strip_suffix(".zstd"))
        .unwrap_or(&lower);
    let ext = Path::new(base).extension()?.to_str()?;
    Some(match ext {
        "jsonl" | "ndjson" | "json" => Format::Jsonl,
        "csv" => Format::Csv,
        "tsv" | "tab" => Format::Tsv,
        "parquet" | "pq" => Format::Parquet,
        "txt" | "text" | "md" => Format::Text,
        _ => return None,
    })
}

fn format_by_content(head: &[u8]) -> Format {
    if head.starts_with(b"PAR1") {
        return Format::Parquet;
    }
    let first = head
        .iter()
        .copied()
        .find(|b| !(b.is_ascii_whitespace() || *b == 0xEF || *b == 0xBB || *b == 0xBF));
    if first == Some(b'{') {
        Format::Jsonl
    } else {
        Format::Text
    }
}

fn read_head(path: &Path, n: usize) -> io::Result<Vec<u8>> {
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; n];
    let mut got = 0;
    while got < n {
        let k = f.read(&mut buf[got..])?;
        if k == 0 {
            break;
        }
        got += k;
    }
    buf.truncate(got);
    Ok(buf)
}

fn describe(
    path: &Path,
    name: String,
    rel: String,
    argument: &str,
    forced: Option<Format>,
) -> Result<InputFile, ScanError> {
    let meta = std::fs::metadata(path).map_err(|e| ScanError::io(path, e))?;
    let head = read_head(path, 4096).map_err(|e| ScanError::io(path, e))?;
    let compression = sniff_compression(&head);
    let format = match forced.or_else(|| format_by_name(&name)) {
        Some(f) => f,
        None => {
            let inner = match compression {
                Compression::None => head.clone(),
                _ => {
                    let mut r = open_stream(path, compression, None, 0)
                        .map_err(|e| ScanError::io(path, e))?;
                    let mut b = vec![0u8; 4096];
                    let n = r.read(&mut b).unwrap_or(0);
                    b.truncate(n);
                    b
                }
            };
            format_by_content(&inner)
        }
    };
    if format == Format::Parquet && compression != Compression::None {
        return Err(ScanError::Input {
            path: name,
            message: "a compressed Parquet file cannot be read; decompress it first (Parquet compresses its pages itself)".into(),
        });
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    Ok(InputFile {
        path: path.to_path_buf(),
        name,
        size: meta.len(),
        mtime,
        format,
        compression,
        argument: argument.to_string(),
        rel,
    })
}

/// Finds the input files under `paths` (files, or directories walked recursively in name
/// order, skipping hidden entries and anything under `exclude`).
pub fn discover(
    paths: &[PathBuf],
    forced: Option<Format>,
    exclude: &[PathBuf],
) -> Result<Vec<InputFile>, ScanError> {
    let exclude: Vec<PathBuf> = exclude
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok())
        .collect();
    let mut out = Vec::new();
    for p in paths {
        let arg = p.display().to_string();
        let meta = std::fs::metadata(p).map_err(|e| ScanError::io(p, e))?;
        if meta.is_dir() {
            let mut stack = vec![p.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                if let Ok(c) = std::fs::canonicalize(&dir)
                    && exclude.iter().any(|x| c.starts_with(x))
                {
                    continue;
                }
                let rd = std::fs::read_dir(&dir).map_err(|e| ScanError::io(&dir, e))?;
                for e in rd {
                    let e = e.map_err(|e| ScanError::io(&dir, e))?;
                    let name = e.file_name();
                    if name.to_string_lossy().starts_with('.') {
                        continue;
                    }
                    let path = e.path();
                    let ft = e.file_type().map_err(|e| ScanError::io(&path, e))?;
                    if ft.is_dir() {
                        stack.push(path);
                    } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
                        found.push(path);
                    }
                }
            }
            found.sort();
            let base = p
                .canonicalize()
                .ok()
                .and_then(|c| c.file_name().map(|n| n.to_string_lossy().into_owned()))
                .unwrap_or_else(|| "input".into());
            for f in found {
                let rel = f.strip_prefix(p).unwrap_or(&f);
                let name = Path::new(&arg).join(rel).display().to_string();
                let short = Path::new(&base).join(rel).display().to_string();
                out.push(describe(&f, name, short, &arg, forced)?);
            }
        } else {
            let short = p
                .file_name()
                .map_or_else(|| "input".into(), |n| n.to_string_lossy().into_owned());
            out.push(describe(p, arg.clone(), short, &arg, forced)?);
        }
    }
    if out.is_empty() {
        return Err(ScanError::Config("no input files found".into()));
    }
    Ok(out)
}

/// The part of a file a shard covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Range {
    /// The whole file.
    Whole,
    /// Records that start in `start..end` (uncompressed line formats).
    Bytes {
        /// First byte.
        start: u64,
        /// End (exclusive).
        end: u64,
    },
    /// Parquet row groups `start..end`.
    RowGroups {
        /// First row group.
        start: usize,
        /// End (exclusive).
        end: usize,
    },
}

/// A unit of work, resumable on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Stable id within the scan: `<file>-<part>`.
    pub id: String,
    /// Index into the input files.
    pub file: usize,
    /// Position of this shard within its file.
    pub part: usize,
    /// What it covers.
    pub range: Range,
    /// Bytes on disk it covers (for progress).
    pub disk_bytes: u64,
}

/// Cuts files into shards: uncompressed JSON Lines and line-based text into byte ranges of
/// about `shard_bytes`, Parquet into groups of row groups, everything else whole.
pub fn plan(
    files: &[InputFile],
    shard_bytes: u64,
    text: TextRecords,
) -> Result<Vec<Shard>, ScanError> {
    // Byte ranges below 64 KiB would cost more in overhead than they gain; Parquet row groups
    // are natural units and may be one per shard.
    let group_bytes = shard_bytes.max(1);
    let shard_bytes = shard_bytes.max(1 << 16);
    let mut out = Vec::new();
    for (fi, f) in files.iter().enumerate() {
        let splittable = f.compression == Compression::None
            && (f.format == Format::Jsonl
                || (f.format == Format::Text && text == TextRecords::Line));
        let mut push = |part: usize, range: Range, disk: u64| {
            out.push(Shard {
                id: format!("{fi:05}-{part:05}"),
                file: fi,
                part,
                range,
                disk_bytes: disk,
            })
        };
        if splittable && f.size > shard_bytes {
            let n = f.size.div_ceil(shard_bytes);
            for k in 0..n {
                let start = k * shard_bytes;
                let end = ((k + 1) * shard_bytes).min(f.size);
                push(k as usize, Range::Bytes { start, end }, end - start);
            }
        } else if f.format == Format::Parquet {
            let groups = parquet_row_group_sizes(f)?;
            if groups.is_empty() {
                push(0, Range::RowGroups { start: 0, end: 0 }, f.size);
            }
            let mut part = 0;
            let mut start = 0;
            let mut acc = 0u64;
            for (i, g) in groups.iter().enumerate() {
                acc += g;
                if acc >= group_bytes || i + 1 == groups.len() {
                    push(part, Range::RowGroups { start, end: i + 1 }, acc);
                    part += 1;
                    start = i + 1;
                    acc = 0;
                }
            }
        } else {
            push(0, Range::Whole, f.size);
        }
    }
    Ok(out)
}

#[cfg(feature = "parquet")]
fn parquet_row_group_sizes(f: &InputFile) -> Result<Vec<u64>, ScanError> {
    crate::corpus::parquet_input::row_group_sizes(&f.path).map_err(|m| ScanError::Input {
        path: f.name.clone(),
        message: m,
    })
}

#[cfg(not(feature = "parquet"))]
fn parquet_row_group_sizes(f: &InputFile) -> Result<Vec<u64>, ScanError> {
    Err(ScanError::Input {
        path: f.name.clone(),
        message: "this build of aigov has no Parquet support (feature `parquet`)".into(),
    })
}

/// A reader that adds the bytes it reads to a shared counter (for progress).
#[derive(Debug)]
pub struct Counting<R> {
    inner: R,
    counter: Option<Arc<AtomicU64>>,
    pending: u64,
}

impl<R> Counting<R> {
    /// Wraps `inner`.
    pub fn new(inner: R, counter: Option<Arc<AtomicU64>>) -> Counting<R> {
        Counting {
            inner,
            counter,
            pending: 0,
        }
    }

    fn flush_count(&mut self) {
        if let Some(c) = &self.counter {
            c.fetch_add(self.pending, Ordering::Relaxed);
        }
        self.pending = 0;
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pending += n as u64;
        if self.pending >= 1 << 20 || n == 0 {
            self.flush_count();
        }
        Ok(n)
    }
}

impl<R> Drop for Counting<R> {
    fn drop(&mut self) {
        self.flush_count();
    }
}

/// Decodes every frame of a Zstandard stream (skippable frames are skipped).
struct ZstdFrames<R: BufRead> {
    src: R,
    dec: ruzstd::decoding::FrameDecoder,
    started: bool,
}

impl<R: BufRead> Read for ZstdFrames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::BlockDecodingStrategy;
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if self.started {
                if self.dec.can_collect() > 0 {
                    return self.dec.read(buf);
                }
                if !self.dec.is_finished() {
                    self.dec
                        .decode_blocks(&mut self.src, BlockDecodingStrategy::UptoBlocks(1))
                        .map_err(io::Error::other)?;
                    continue;
                }
            }
            if self.src.fill_buf()?.is_empty() {
                return Ok(0);
            }
            match self.dec.reset(&mut self.src) {
                Ok(()) => self.started = true,
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame {
                    length,
                    ..
                })) => {
                    self.started = false;
                    io::copy(
                        &mut (&mut self.src).take(u64::from(length)),
                        &mut io::sink(),
                    )?;
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }
}

/// A Zstandard decoder over every frame of `src`.
pub(crate) fn zstd_decoder<R: BufRead>(src: R) -> impl Read {
    ZstdFrames {
        src,
        dec: ruzstd::decoding::FrameDecoder::new(),
        started: false,
    }
}

/// Opens a file's decompressed byte stream, starting at `start` (uncompressed files only).
pub fn open_stream(
    path: &Path,
    compression: Compression,
    counter: Option<Arc<AtomicU64>>,
    start: u64,
) -> io::Result<Box<dyn Read + Send>> {
    let mut f = File::open(path)?;
    if start > 0 {
        f.seek(SeekFrom::Start(start))?;
    }
    let counted = Counting::new(f, counter);
    Ok(match compression {
        Compression::None => Box::new(counted),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(
            1 << 16,
            counted,
        ))),
        Compression::Zstd => Box::new(ZstdFrames {
            src: BufReader::with_capacity(1 << 16, counted),
            dec: ruzstd::decoding::FrameDecoder::new(),
            started: false,
        }),
    })
}

/// One line from a [`LineReader`].
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line (without its `\n` and a trailing `\r`), starting at `offset` in the stream.
    Ok {
        /// Offset of the first byte.
        offset: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// A line longer than the limit, skipped.
    TooLong {
        /// Offset of the first byte.
        offset: u64,
        /// Its length.
        len: u64,
    },
}

/// Reads lines with a large reused buffer; never holds more than `max_line` bytes of one line.
#[derive(Debug)]
pub struct LineReader<R> {
    r: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    max_line: usize,
}

impl<R: Read> LineReader<R> {
    /// Reads from `r`, whose first byte is at stream offset `offset`.
    pub fn new(r: R, offset: u64, max_line: usize) -> LineReader<R> {
        LineReader {
            r,
            buf: vec![0u8; 1 << 20],
            start: 0,
            end: 0,
            offset,
            eof: false,
            max_line: max_line.max(1024),
        }
    }

    /// The stream offset of the next unread byte.
    pub fn position(&self) -> u64 {
        self.offset
    }

    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(self.max_line + 2);
            if grown <= self.buf.len() {
                return Ok(true);
            }
            self.buf.resize(grown, 0);
        }
        loop {
            match self.r.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The next line, or `None` at the end of the stream.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        let mut searched = 0;
        loop {
            if let Some(k) = memchr::memchr(b'\n', &self.buf[self.start + searched..self.end]) {
                let s = self.start;
                let e = s + searched + k;
                self.start = e + 1;
                let offset = self.offset;
                self.offset += (e + 1 - s) as u64;
                if e - s > self.max_line {
                    return Ok(Some(Line::TooLong {
                        offset,
                        len: (e + 1 - s) as u64,
                    }));
                }
                let line = &self.buf[s..e];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Ok(Some(Line::Ok {
                    offset,
                    bytes: line,
                }));
            }
            searched = self.end - self.start;
            if searched > self.max_line {
                // Too long: drop what we have and skip to the next newline.
                let offset = self.offset;
                let mut len = searched as u64;
                self.start = self.end;
                loop {
                    if !self.fill()? && self.start == self.end {
                        self.offset += len;
                        return Ok(Some(Line::TooLong { offset, len }));
                    }
                    if let Some(k) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                        len += k as u64 + 1;
                        self.start += k + 1;
                        self.offset += len;
                        return Ok(Some(Line::TooLong { offset, len }));
                    }
                    len += (self.end - self.start) as u64;
                    self.start = self.end;
                }
            }
            let before = self.end - self.start;
            let more = self.fill()?;
            searched = searched.min(self.end - self.start);
            if !more && self.end - self.start == before {
                if self.start == self.end {
                    return Ok(None);
                }
                let s = self.start;
                let e = self.end;
                self.start = e;
                let offset = self.offset;
                self.offset += (e - s) as u64;
                let line = &self.buf[s..e];
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Ok(Some(Line::Ok {
                    offset,
                    bytes: line,
                }));
            }
        }
    }
}

/// Positions a byte-range shard at its first record: the first line that starts at or after
/// `start`. Returns the reader and the offset of that line.
pub fn open_at_record(
    f: &InputFile,
    start: u64,
    counter: Option<Arc<AtomicU64>>,
) -> io::Result<(Box<dyn Read + Send>, u64)> {
    if start == 0 {
        return Ok((open_stream(&f.path, f.compression, counter, 0)?, 0));
    }
    // Look at the byte before `start`: a newline means a record starts exactly here.
    let mut file = File::open(&f.path)?;
    file.seek(SeekFrom::Start(start - 1))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut skipped = 0u64;
    let mut prev = [0u8; 1];
    r.read_exact(&mut prev)?;
    if prev[0] != b'\n' {
        let mut sink = Vec::new();
        skipped = r.read_until(b'\n', &mut sink)? as u64;
    }
    let at = start + skipped;
    Ok((open_stream(&f.path, f.compression, counter, at)?, at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_reader_handles_long_and_final_lines() {
        let data = format!("a\r\n{}\nlast", "x".repeat(5000));
        let mut r = LineReader::new(data.as_bytes(), 0, 1024);
        assert_eq!(
            r.next_line().unwrap(),
            Some(Line::Ok {
                offset: 0,
                bytes: b"a"
            })
        );
        assert_eq!(
            r.next_line().unwrap(),
            Some(Line::TooLong {
                offset: 3,
                len: 5001
            })
        );
        assert_eq!(
            r.next_line().unwrap(),
            Some(Line::Ok {
                offset: 5004,
                bytes: b"last"
            })
        );
        assert_eq!(r.next_line().unwrap(), None);
    }

    #[test]
    fn sniffs_formats() {
        assert_eq!(format_by_name("a/b.jsonl.gz"), Some(Format::Jsonl));
        assert_eq!(format_by_name("x.TSV"), Some(Format::Tsv));
        assert_eq!(format_by_name("noext"), None);
        assert_eq!(format_by_content(b"  {\"a\":1}"), Format::Jsonl);
        assert_eq!(format_by_content(b"PAR1...."), Format::Parquet);
        assert_eq!(format_by_content(b"hello"), Format::Text);
        assert_eq!(sniff_compression(&[0x1f, 0x8b, 8]), Compression::Gzip);
    }
}
