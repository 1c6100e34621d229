//! GGUF: header, metadata (typed key/values), tensor infos and their bounds, and the chat
//! template. Only the header is read; tensor data is checked by arithmetic on offsets and the
//! file size.

use super::details::Details;
use super::finding::Severity;
use super::io::Input;
use super::scope::Scope;
use super::template;

/// `(block size, bytes per block, name)` of a ggml tensor type.
pub fn ggml_type(t: u32) -> Option<(u64, u64, &'static str)> {
    Some(match t {
        0 => (1, 4, "F32"),
        1 => (1, 2, "F16"),
        2 => (32, 18, "Q4_0"),
        3 => (32, 20, "Q4_1"),
        6 => (32, 22, "Q5_0"),
        7 => (32, 24, "Q5_1"),
        8 => (32, 34, "Q8_0"),
        9 => (32, 40, "Q8_1"),
        10 => (256, 84, "Q2_K"),
        11 => (256, 110, "Q3_K"),
        12 => (256, 144, "Q4_K"),
        13 => (256, 176, "Q5_K"),
        14 => (256, 210, "Q6_K"),
        15 => (256, 292, "Q8_K"),
        16 => (256, 66, "IQ2_XXS"),
        17 => (256, 74, "IQ2_XS"),
        18 => (256, 98, "IQ3_XXS"),
        19 => (256, 50, "IQ1_S"),
        20 => (32, 18, "IQ4_NL"),
        21 => (256, 110, "IQ3_S"),
        22 => (256, 82, "IQ2_S"),
        23 => (256, 136, "IQ4_XS"),
        24 => (1, 1, "I8"),
        25 => (1, 2, "I16"),
        26 => (1, 4, "I32"),
        27 => (1, 8, "I64"),
        28 => (1, 8, "F64"),
        29 => (256, 56, "IQ1_M"),
        30 => (1, 2, "BF16"),
        34 => (256, 54, "TQ1_0"),
        35 => (256, 66, "TQ2_0"),
        39 => (32, 17, "MXFP4"),
        _ => return None,
    })
}

#[derive(Debug)]
enum E {
    Io(std::io::Error),
    Bad(String),
    Budget(String),
}

impl From<std::io::Error> for E {
    fn from(e: std::io::Error) -> Self {
        E::Io(e)
    }
}

struct G<'x, 'y> {
    input: &'x mut Input<'y>,
    v1: bool,
}

impl G<'_, '_> {
    fn count(&mut self) -> Result<u64, E> {
        Ok(if self.v1 {
            u64::from(self.input.u32_le()?)
        } else {
            self.input.u64_le()?
        })
    }

    fn string(&mut self, max: u64) -> Result<Vec<u8>, E> {
        let n = self.count()?;
        if n > max {
            return Err(E::Budget(format!("string of {n} bytes (budget {max})")));
        }
        if let Some(r) = self.input.remaining()
            && n > r
        {
            return Err(E::Bad(format!(
                "string of {n} bytes runs past the end of the file"
            )));
        }
        Ok(self.input.take_vec(n, max)?)
    }

    fn skip_string(&mut self, max: u64) -> Result<u64, E> {
        let n = self.count()?;
        if n > max {
            return Err(E::Budget(format!("string of {n} bytes (budget {max})")));
        }
        self.input.skip(n)?;
        Ok(n)
    }
}

fn scalar_size(t: u32) -> Option<u64> {
    Some(match t {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

/// A metadata value, as far as the report needs it.
enum Val {
    Num(String),
    Str(Vec<u8>),
    Array(u32, u64),
}

fn read_value(g: &mut G<'_, '_>, t: u32, scope: &Scope<'_>, depth: u32) -> Result<Val, E> {
    let b = scope.budgets;
    Ok(match t {
        0 => Val::Num(g.input.u8()?.to_string()),
        1 => Val::Num((g.input.u8()? as i8).to_string()),
        2 => Val::Num(g.input.u16_le()?.to_string()),
        3 => Val::Num((g.input.u16_le()? as i16).to_string()),
        4 => Val::Num(g.input.u32_le()?.to_string()),
        5 => Val::Num((g.input.u32_le()? as i32).to_string()),
        6 => Val::Num(f32::from_bits(g.input.u32_le()?).to_string()),
        7 => Val::Num((g.input.u8()? != 0).to_string()),
        10 => Val::Num(g.input.u64_le()?.to_string()),
        11 => Val::Num((g.input.u64_le()? as i64).to_string()),
        12 => Val::Num(f64::from_bits(g.input.u64_le()?).to_string()),
        8 => Val::Str(g.string(b.max_gguf_string)?),
        9 => {
            if depth > 2 {
                return Err(E::Bad("arrays nested deeper than two levels".into()));
            }
            let et = g.input.u32_le()?;
            let n = g.count()?;
            if n > b.max_gguf_array {
                return Err(E::Budget(format!(
                    "array of {n} elements (budget {})",
                    b.max_gguf_array
                )));
            }
            match (et, scalar_size(et)) {
                (_, Some(sz)) => {
                    let bytes = n
                        .checked_mul(sz)
                        .ok_or_else(|| E::Bad("array size overflows".into()))?;
                    if let Some(r) = g.input.remaining()
                        && bytes > r
                    {
                        return Err(E::Bad(format!(
                            "array of {n} elements runs past the end of the file"
                        )));
                    }
                    g.input.skip(bytes)?;
                }
                (8, None) => {
                    let min = if g.v1 { 4 } else { 8 };
                    if let Some(r) = g.input.remaining()
                        && n.saturating_mul(min) > r
                    {
                        return Err(E::Bad(format!(
                            "array of {n} strings runs past the end of the file"
                        )));
                    }
                    for _ in 0..n {
                        g.skip_string(b.max_gguf_string)?;
                    }
                }
                (9, None) => {
                    for _ in 0..n {
                        read_value(g, 9, scope, depth + 1)?;
                    }
                }
                (other, None) => {
                    return Err(E::Bad(format!("array of unknown value type {other}")));
                }
            }
            Val::Array(et, n)
        }
        other => return Err(E::Bad(format!("unknown value type {other}"))),
    })
}

/// Whether the bytes start a GGUF file.
pub fn sniff(head: &[u8]) -> bool {
    head.starts_with(b"GGUF")
}

/// Scans a GGUF stream positioned at its magic.
pub fn scan(input: &mut Input<'_>, scope: &mut Scope<'_>, details: &mut Details) {
    let file_len = input.remaining();
    if let Err(e) = scan_inner(input, scope, details, file_len) {
        let at = input.pos();
        match e {
            E::Io(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => scope.report(
                "gguf.malformed",
                Severity::High,
                Some(at),
                "the header is truncated",
                None,
            ),
            E::Io(e) => scope.report(
                "scan.io",
                Severity::Medium,
                Some(at),
                format!("read error: {e}"),
                None,
            ),
            E::Bad(m) => scope.report("gguf.malformed", Severity::High, Some(at), m, None),
            E::Budget(m) => scope.report("gguf.budget", Severity::Medium, Some(at), m, None),
        }
    }
}

fn scan_inner(
    input: &mut Input<'_>,
    scope: &mut Scope<'_>,
    details: &mut Details,
    file_len: Option<u64>,
) -> Result<(), E> {
    let mut magic = [0u8; 4];
    input.read_exact(&mut magic)?;
    let version = input.u32_le()?;
    if !(1..=3).contains(&version) {
        scope.report(
            "gguf.version",
            Severity::Medium,
            Some(4),
            format!("unsupported GGUF version {version}"),
            None,
        );
        return Ok(());
    }
    details.meta("gguf.version", version.to_string());
    let mut g = G {
        input,
        v1: version == 1,
    };
    let n_tensors = g.count()?;
    let n_kv = g.count()?;
    let b = scope.budgets;
    if n_tensors > b.max_gguf_tensors {
        return Err(E::Budget(format!(
            "{n_tensors} tensors (budget {})",
            b.max_gguf_tensors
        )));
    }
    if n_kv > b.max_gguf_kv {
        return Err(E::Budget(format!(
            "{n_kv} metadata entries (budget {})",
            b.max_gguf_kv
        )));
    }
    let mut alignment: u64 = 32;
    let mut arch = String::new();
    for _ in 0..n_kv {
        let at = g.input.pos();
        let key = String::from_utf8_lossy(&g.string(65_536)?).into_owned();
        let t = g.input.u32_le()?;
        let v = read_value(&mut g, t, scope, 0)?;
        match v {
            Val::Str(s) => {
                let text = String::from_utf8_lossy(&s);
                if key == "tokenizer.chat_template" || key.starts_with("tokenizer.chat_template.") {
                    template::check(&key, &text, scope, details, Some(at));
                } else if key.starts_with("general.") {
                    details.meta(key.clone(), &text);
                    if key == "general.architecture" {
                        arch = text.into_owned();
                    }
                }
            }
            Val::Num(s) => {
                if key == "general.alignment" {
                    match s.parse::<u64>() {
                        Ok(a) if a > 0 && a.is_power_of_two() => alignment = a,
                        _ => {
                            scope.report(
                                "gguf.malformed",
                                Severity::High,
                                Some(at),
                                format!("general.alignment {s} is not a power of two"),
                                None,
                            );
                            return Ok(());
                        }
                    }
                }
                if key.starts_with("general.")
                    || (!arch.is_empty() && key.starts_with(&format!("{arch}.")))
                {
                    details.meta(key.clone(), &s);
                }
            }
            Val::Array(et, n) => {
                if key.starts_with("tokenizer.ggml.") || key.starts_with("general.") {
                    details.meta(key.clone(), format!("<array of {n} × type {et}>"));
                }
            }
        }
    }
    struct T {
        name: String,
        offset: u64,
        bytes: Option<u64>,
    }
    let mut tensors: Vec<T> = Vec::with_capacity(n_tensors.min(1 << 16) as usize);
    for _ in 0..n_tensors {
        let at = g.input.pos();
        let name = String::from_utf8_lossy(&g.string(65_536)?).into_owned();
        let nd = g.input.u32_le()?;
        if nd == 0 || nd > 4 {
            scope.report(
                "gguf.tensor-dims",
                Severity::High,
                Some(at),
                format!("tensor {name:?} has {nd} dimensions (1 to 4 allowed)"),
                None,
            );
            return Ok(());
        }
        let mut dims = Vec::with_capacity(nd as usize);
        for _ in 0..nd {
            dims.push(g.count()?);
        }
        let ty = g.input.u32_le()?;
        let offset = g.input.u64_le()?;
        let elements = dims.iter().try_fold(1u64, |a, &d| a.checked_mul(d));
        let bytes = match (ggml_type(ty), elements) {
            (None, _) => {
                scope.report(
                    "gguf.tensor-type",
                    Severity::Medium,
                    Some(at),
                    format!("tensor {name:?} has unknown ggml type {ty}"),
                    None,
                );
                None
            }
            (_, None) => {
                scope.report(
                    "gguf.tensor-dims",
                    Severity::High,
                    Some(at),
                    format!("tensor {name:?}: dimensions {dims:?} overflow"),
                    None,
                );
                None
            }
            (Some((block, size, tname)), Some(el)) => {
                if dims[0] % block != 0 {
                    scope.report("gguf.tensor-dims", Severity::High, Some(at), format!("tensor {name:?}: first dimension {} is not a multiple of the {tname} block size {block}", dims[0]), None);
                    None
                } else {
                    let bytes = (el / block).checked_mul(size);
                    if let Some(by) = bytes {
                        details.tensors().add(tname, el, by);
                    }
                    bytes
                }
            }
        };
        if offset % alignment != 0 {
            scope.report(
                "gguf.tensor-alignment",
                Severity::Medium,
                Some(at),
                format!(
                    "tensor {name:?} offset {offset} is not a multiple of the alignment {alignment}"
                ),
                None,
            );
        }
        tensors.push(T {
            name,
            offset,
            bytes,
        });
    }
    let header_end = g.input.pos();
    let data_start = header_end.div_ceil(alignment) * alignment;
    if let Some(len) = file_len {
        for t in &tensors {
            if let Some(b) = t.bytes {
                let end = data_start.saturating_add(t.offset).saturating_add(b);
                if end > len || data_start.checked_add(t.offset).is_none() {
                    scope.report(
                        "gguf.tensor-out-of-bounds",
                        Severity::High,
                        Some(header_end),
                        format!(
                            "tensor {:?} spans [{}, {end}) beyond the file of {len} bytes",
                            t.name,
                            data_start.saturating_add(t.offset)
                        ),
                        None,
                    );
                }
            }
        }
    }
    let mut spans: Vec<(u64, u64, &str)> = tensors
        .iter()
        .filter_map(|t| {
            t.bytes
                .map(|b| (t.offset, t.offset.saturating_add(b), t.name.as_str()))
        })
        .collect();
    spans.sort();
    let mut overlaps = 0;
    for w in spans.windows(2) {
        if w[1].0 < w[0].1 {
            overlaps += 1;
            if overlaps <= 10 {
                scope.report(
                    "gguf.tensor-overlap",
                    Severity::High,
                    Some(header_end),
                    format!("tensors {:?} and {:?} overlap", w[0].2, w[1].2),
                    None,
                );
            }
        }
    }
    details.meta("gguf.tensor_data_offset", data_start.to_string());
    Ok(())
}
