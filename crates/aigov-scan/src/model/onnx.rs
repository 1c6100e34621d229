//! ONNX: a minimal protobuf walker over `ModelProto` that visits every tensor — graph
//! initializers, sparse initializers, node attributes (including subgraphs of `If`/`Loop` and
//! function bodies, and training graphs) — and checks external-data paths. Tensor payloads
//! (`raw_data`) are skipped, never read.
//!
//! External data (`data_location = EXTERNAL`, key `location`) is resolved relative to the model's
//! directory, as ONNX Runtime and `onnx.load` do. An absolute path, a `..` component, or a link
//! that leads outside the directory is a path traversal: loading the model reads that file.

use std::path::{Component, Path};

use super::details::Details;
use super::finding::Severity;
use super::io::Input;
use super::scope::Scope;

#[derive(Debug)]
enum E {
    Io(std::io::Error),
    Bad(String),
}

impl From<std::io::Error> for E {
    fn from(e: std::io::Error) -> Self {
        E::Io(e)
    }
}

type R<T> = Result<T, E>;

fn varint(input: &mut Input<'_>) -> R<u64> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = input.u8()?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(E::Bad("varint longer than 10 bytes".into()))
}

/// One field: number, wire type, and for length-delimited fields the length.
struct Field {
    num: u64,
    wire: u8,
}

struct W<'x, 'y, 'z, 's> {
    input: &'x mut Input<'y>,
    scope: &'z mut Scope<'s>,
    details: &'z mut Details,
    model_dir: Option<&'z Path>,
    tensors: u64,
    external: u64,
    domains: Vec<String>,
}

impl W<'_, '_, '_, '_> {
    fn field(&mut self, end: u64) -> R<Option<Field>> {
        if self.input.pos() >= end {
            return Ok(None);
        }
        let tag = varint(self.input)?;
        let wire = (tag & 7) as u8;
        let num = tag >> 3;
        if num == 0 {
            return Err(E::Bad("field number 0".into()));
        }
        Ok(Some(Field { num, wire }))
    }

    fn len(&mut self, end: u64) -> R<u64> {
        let n = varint(self.input)?;
        let here = self.input.pos();
        if here.checked_add(n).is_none_or(|e| e > end) {
            return Err(E::Bad(format!("field of {n} bytes runs past its message")));
        }
        Ok(here + n)
    }

    fn skip(&mut self, f: &Field, end: u64) -> R<()> {
        match f.wire {
            0 => {
                varint(self.input)?;
            }
            1 => self.input.skip(8)?,
            5 => self.input.skip(4)?,
            2 => {
                let e = self.len(end)?;
                let here = self.input.pos();
                self.input.skip(e - here)?;
            }
            w => return Err(E::Bad(format!("unsupported wire type {w}"))),
        }
        Ok(())
    }

    fn string(&mut self, end: u64, max: u64) -> R<String> {
        let e = self.len(end)?;
        let n = e - self.input.pos();
        if n > max {
            self.input.skip(n)?;
            return Ok(String::new());
        }
        Ok(String::from_utf8_lossy(&self.input.take_vec(n, max)?).into_owned())
    }

    fn sub<F>(&mut self, end: u64, depth: u32, f: F) -> R<()>
    where
        F: FnOnce(&mut Self, u64, u32) -> R<()>,
    {
        if depth > 64 {
            return Err(E::Bad("messages nested deeper than 64 levels".into()));
        }
        let e = self.len(end)?;
        f(self, e, depth + 1)?;
        let here = self.input.pos();
        if here != e {
            return Err(E::Bad("a nested message does not end at its length".into()));
        }
        Ok(())
    }

    fn model(&mut self, end: u64) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1, 0) => {
                    let v = varint(self.input)?;
                    self.details.meta("onnx.ir_version", v.to_string());
                }
                (2, 2) => {
                    let s = self.string(end, 1024)?;
                    self.details.meta("onnx.producer_name", s);
                }
                (3, 2) => {
                    let s = self.string(end, 1024)?;
                    self.details.meta("onnx.producer_version", s);
                }
                (7, 2) => self.sub(end, 0, |w, e, d| w.graph(e, d))?,
                (8, 2) => self.sub(end, 0, |w, e, _| w.opset(e))?,
                (20, 2) => self.sub(end, 0, |w, e, d| w.training(e, d))?,
                (25, 2) => self.sub(end, 0, |w, e, d| w.function(e, d))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn opset(&mut self, end: u64) -> R<()> {
        let mut domain = String::new();
        let mut version = 0;
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1, 2) => domain = self.string(end, 1024)?,
                (2, 0) => version = varint(self.input)?,
                _ => self.skip(&f, end)?,
            }
        }
        let d = if domain.is_empty() {
            "ai.onnx"
        } else {
            &domain
        };
        self.details
            .meta(format!("onnx.opset.{d}"), version.to_string());
        Ok(())
    }

    fn training(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1 | 2, 2) => self.sub(end, depth, |w, e, d| w.graph(e, d))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn function(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (7, 2) => self.sub(end, depth, |w, e, d| w.node(e, d))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn graph(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1, 2) => self.sub(end, depth, |w, e, d| w.node(e, d))?,
                (5, 2) => self.sub(end, depth, |w, e, _| w.tensor(e))?,
                (15, 2) => self.sub(end, depth, |w, e, d| w.sparse(e, d))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn sparse(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1 | 2, 2) => self.sub(end, depth, |w, e, _| w.tensor(e))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn node(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (5, 2) => self.sub(end, depth, |w, e, d| w.attribute(e, d))?,
                (7, 2) => {
                    let d = self.string(end, 1024)?;
                    if !d.is_empty()
                        && !matches!(
                            d.as_str(),
                            "ai.onnx"
                                | "ai.onnx.ml"
                                | "ai.onnx.training"
                                | "ai.onnx.preview.training"
                                | "com.microsoft"
                        )
                        && !self.domains.contains(&d)
                        && self.domains.len() < 32
                    {
                        self.domains.push(d);
                    }
                }
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn attribute(&mut self, end: u64, depth: u32) -> R<()> {
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (5 | 10, 2) => self.sub(end, depth, |w, e, _| w.tensor(e))?,
                (6 | 11, 2) => self.sub(end, depth, |w, e, d| w.graph(e, d))?,
                (22 | 23, 2) => self.sub(end, depth, |w, e, d| w.sparse(e, d))?,
                _ => self.skip(&f, end)?,
            }
        }
        Ok(())
    }

    fn tensor(&mut self, end: u64) -> R<()> {
        let start = self.input.pos();
        let mut name = String::new();
        let mut dims: Vec<u64> = Vec::new();
        let mut external = false;
        let mut location: Option<String> = None;
        let mut offset: Option<u64> = None;
        let mut length: Option<u64> = None;
        let mut raw = 0u64;
        while let Some(f) = self.field(end)? {
            match (f.num, f.wire) {
                (1, 0) => dims.push(varint(self.input)?),
                (1, 2) => {
                    let e = self.len(end)?;
                    while self.input.pos() < e {
                        dims.push(varint(self.input)?);
                    }
                }
                (8, 2) => name = self.string(end, 4096)?,
                (9, 2) => {
                    let e = self.len(end)?;
                    raw = e - self.input.pos();
                    self.input.skip(raw)?;
                }
                (13, 2) => {
                    let e = self.len(end)?;
                    let mut key = String::new();
                    let mut value = String::new();
                    while let Some(g) = self.field(e)? {
                        match (g.num, g.wire) {
                            (1, 2) => key = self.string(e, 4096)?,
                            (2, 2) => value = self.string(e, 65536)?,
                            _ => self.skip(&g, e)?,
                        }
                    }
                    match key.as_str() {
                        "location" => location = Some(value),
                        "offset" => offset = value.trim().parse().ok(),
                        "length" => length = value.trim().parse().ok(),
                        _ => {}
                    }
                }
                (14, 0) => external = varint(self.input)? == 1,
                _ => self.skip(&f, end)?,
            }
        }
        self.tensors += 1;
        let elements = dims
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .unwrap_or(u64::MAX);
        self.details.tensors().add("onnx", elements, raw);
        if external || location.is_some() {
            self.external += 1;
            self.check_external(
                &name,
                location.as_deref().unwrap_or(""),
                offset,
                length,
                start,
            );
        }
        Ok(())
    }

    fn check_external(
        &mut self,
        name: &str,
        loc: &str,
        offset: Option<u64>,
        length: Option<u64>,
        at: u64,
    ) {
        let p = Path::new(loc);
        let windows_abs = loc.len() >= 2 && loc.as_bytes()[1] == b':' || loc.starts_with('\\');
        let escapes = p.is_absolute()
            || windows_abs
            || p.components().any(|c| {
                matches!(
                    c,
                    Component::ParentDir | Component::RootDir | Component::Prefix(_)
                )
            })
            || loc.split(['/', '\\']).any(|s| s == "..");
        if loc.is_empty() {
            self.scope.report(
                "onnx.malformed",
                Severity::Medium,
                Some(at),
                format!("tensor {name:?} has external data without a location"),
                None,
            );
            return;
        }
        if escapes {
            self.scope.report(
                "onnx.external-data-traversal",
                Severity::High,
                Some(at),
                format!(
                    "tensor {name:?} loads external data from {loc:?}, outside the model directory"
                ),
                None,
            );
            return;
        }
        let Some(dir) = self.model_dir else { return };
        let target = dir.join(p);
        match std::fs::symlink_metadata(&target) {
            Err(_) => self.scope.report(
                "onnx.external-data-missing",
                Severity::Low,
                Some(at),
                format!("tensor {name:?}: external data file {loc:?} is missing"),
                None,
            ),
            Ok(_) => {
                let inside = match (std::fs::canonicalize(&target), std::fs::canonicalize(dir)) {
                    (Ok(t), Ok(d)) => t.starts_with(d),
                    _ => false,
                };
                if !inside {
                    self.scope.report(
                        "onnx.external-data-traversal",
                        Severity::High,
                        Some(at),
                        format!("tensor {name:?}: external data {loc:?} is a link that leads outside the model directory"),
                        None,
                    );
                    return;
                }
                if let Ok(m) = std::fs::metadata(&target) {
                    let off = offset.unwrap_or(0);
                    let end = match length {
                        Some(l) => off.checked_add(l),
                        None => Some(off),
                    };
                    if end.is_none_or(|e| e > m.len()) {
                        self.scope.report("onnx.external-data-bounds", Severity::Medium, Some(at), format!("tensor {name:?}: external range offset {off} length {} lies outside {loc:?} ({} bytes)", length.map_or("-".into(), |l| l.to_string()), m.len()), None);
                    }
                }
            }
        }
    }
}

/// Whether the head looks like an ONNX `ModelProto`: `ir_version` (field 1) first with a small
/// value, then a known field.
pub fn sniff(head: &[u8]) -> bool {
    if head.first() != Some(&0x08) {
        return false;
    }
    let mut i = 1;
    let mut v: u64 = 0;
    for k in 0..10 {
        let Some(&b) = head.get(i) else { return false };
        i += 1;
        v |= u64::from(b & 0x7f) << (7 * k);
        if b & 0x80 == 0 {
            break;
        }
    }
    if !(1..=32).contains(&v) {
        return false;
    }
    match head.get(i) {
        Some(&t) => matches!(
            t,
            0x12 | 0x1a | 0x22 | 0x28 | 0x32 | 0x3a | 0x42 | 0x72 | 0xa2 | 0xca
        ),
        None => false,
    }
}

/// Scans an ONNX model stream. `path` (the model file on disk) lets external data be checked.
pub fn scan(
    input: &mut Input<'_>,
    scope: &mut Scope<'_>,
    details: &mut Details,
    path: Option<&Path>,
) {
    let end = input.remaining().unwrap_or(u64::MAX);
    let dir = path.and_then(Path::parent).map(|d| {
        if d.as_os_str().is_empty() {
            Path::new(".")
        } else {
            d
        }
    });
    let mut w = W {
        input,
        scope,
        details,
        model_dir: dir,
        tensors: 0,
        external: 0,
        domains: Vec::new(),
    };
    let r = w.model(end);
    let domains = std::mem::take(&mut w.domains);
    let (tensors, external) = (w.tensors, w.external);
    let at = w.input.pos();
    match r {
        Ok(()) => {}
        Err(E::Io(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => scope.report(
            "onnx.malformed",
            Severity::Medium,
            Some(at),
            "the model is truncated",
            None,
        ),
        Err(E::Io(e)) => scope.report(
            "scan.io",
            Severity::Medium,
            Some(at),
            format!("read error: {e}"),
            None,
        ),
        Err(E::Bad(m)) => scope.report(
            "onnx.malformed",
            Severity::Medium,
            Some(at),
            format!("malformed protobuf: {m}"),
            None,
        ),
    }
    if !domains.is_empty() {
        scope.report(
            "onnx.custom-domain",
            Severity::Info,
            None,
            format!("custom operator domains: {}", domains.join(", ")),
            None,
        );
    }
    details.meta("onnx.tensors", tensors.to_string());
    if external > 0 {
        details.meta("onnx.external_tensors", external.to_string());
    }
}
