//! NumPy `.npy`: the header (a Python dict literal), object arrays (whose data is a pickle) and
//! the data size.

use super::details::Details;
use super::finding::Severity;
use super::io::Input;
use super::pickle;
use super::scope::Scope;

/// A value of the header literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    /// `'…'` or `"…"`.
    Str(String),
    /// An integer.
    Int(i64),
    /// `True` / `False`.
    Bool(bool),
    /// `None`.
    None,
    /// `(…)` or `[…]`.
    Seq(Vec<Lit>),
    /// `{k: v, …}`.
    Dict(Vec<(Lit, Lit)>),
}

struct P<'a> {
    s: &'a [u8],
    i: usize,
    depth: u32,
}

impl P<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(u8::is_ascii_whitespace) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Lit> {
        self.depth += 1;
        if self.depth > 32 {
            return None;
        }
        self.ws();
        let c = *self.s.get(self.i)?;
        let v = match c {
            b'\'' | b'"' => {
                self.i += 1;
                let start = self.i;
                while *self.s.get(self.i)? != c {
                    if self.s[self.i] == b'\\' {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                let v = String::from_utf8_lossy(&self.s[start..self.i]).into_owned();
                self.i += 1;
                Lit::Str(v)
            }
            b'(' | b'[' => {
                let close = if c == b'(' { b')' } else { b']' };
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if *self.s.get(self.i)? == close {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.ws();
                    match *self.s.get(self.i)? {
                        b',' => self.i += 1,
                        x if x == close => {}
                        _ => return None,
                    }
                    if items.len() > 4096 {
                        return None;
                    }
                }
                Lit::Seq(items)
            }
            b'{' => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if *self.s.get(self.i)? == b'}' {
                        self.i += 1;
                        break;
                    }
                    let k = self.value()?;
                    self.ws();
                    if *self.s.get(self.i)? != b':' {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value()?;
                    items.push((k, v));
                    self.ws();
                    match *self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {}
                        _ => return None,
                    }
                    if items.len() > 256 {
                        return None;
                    }
                }
                Lit::Dict(items)
            }
            _ => {
                let start = self.i;
                while self
                    .s
                    .get(self.i)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"True" => Lit::Bool(true),
                    b"False" => Lit::Bool(false),
                    b"None" => Lit::None,
                    t => {
                        let t = std::str::from_utf8(t).ok()?;
                        Lit::Int(t.trim_end_matches('L').parse().ok()?)
                    }
                }
            }
        };
        self.depth -= 1;
        Some(v)
    }
}

/// Parses the header literal.
pub fn parse_literal(s: &[u8]) -> Option<Lit> {
    let mut p = P { s, i: 0, depth: 0 };
    p.value()
}

/// Item size of a dtype descriptor string (`<f4`, `|S10`, `<U5`), and whether it is an object.
fn item(desc: &str) -> Option<(u64, bool)> {
    let d = desc.trim_start_matches(['<', '>', '|', '=']);
    let kind = d.chars().next()?;
    if kind == 'O' {
        return Some((8, true));
    }
    let n: u64 = d.get(1..)?.split('[').next()?.parse().ok()?;
    Some((if kind == 'U' { n.checked_mul(4)? } else { n }, false))
}

/// Item size of a descriptor (string or structured list), and whether any field is an object.
fn descr_size(d: &Lit) -> Option<(u64, bool)> {
    match d {
        Lit::Str(s) => item(s),
        Lit::Seq(fields) => {
            let mut total: u64 = 0;
            let mut obj = false;
            for f in fields {
                let Lit::Seq(parts) = f else { return None };
                let (sz, o) = descr_size(parts.get(1)?)?;
                let mut count: u64 = 1;
                if let Some(Lit::Seq(shape)) = parts.get(2) {
                    for x in shape {
                        let Lit::Int(v) = x else { return None };
                        count = count.checked_mul(u64::try_from(*v).ok()?)?;
                    }
                }
                total = total.checked_add(sz.checked_mul(count)?)?;
                obj |= o;
            }
            Some((total, obj))
        }
        _ => None,
    }
}

/// Scans a `.npy` stream positioned at its magic.
pub fn scan(input: &mut Input<'_>, scope: &mut Scope<'_>, details: &mut Details, name: &str) {
    let malformed = |scope: &mut Scope<'_>, at: u64, m: &str| {
        scope.report(
            "numpy.malformed",
            Severity::Medium,
            Some(at),
            format!("{name}: {m}"),
            None,
        )
    };
    let mut magic = [0u8; 8];
    if input.read_exact(&mut magic).is_err() || &magic[..6] != b"\x93NUMPY" {
        malformed(scope, 0, "not a .npy header");
        return;
    }
    let major = magic[6];
    let hlen = match major {
        1 => input.u16_le().map(u64::from),
        2 | 3 => input.u32_le().map(u64::from),
        v => {
            malformed(scope, 6, &format!("unknown .npy version {v}"));
            return;
        }
    };
    let header = match hlen.and_then(|n| input.take_vec(n, 1 << 20)) {
        Ok(h) => h,
        Err(e) => {
            malformed(scope, input.pos(), &format!("header cannot be read: {e}"));
            return;
        }
    };
    let Some(Lit::Dict(kv)) = parse_literal(&header) else {
        malformed(scope, 10, "header is not a dict literal");
        return;
    };
    let get = |k: &str| {
        kv.iter()
            .find(|(key, _)| matches!(key, Lit::Str(s) if s == k))
            .map(|(_, v)| v.clone())
    };
    let (Some(descr), Some(Lit::Seq(shape))) = (get("descr"), get("shape")) else {
        malformed(scope, 10, "header lacks descr or shape");
        return;
    };
    let mut count: u64 = 1;
    for d in &shape {
        match d {
            Lit::Int(v) if *v >= 0 => match count.checked_mul(*v as u64) {
                Some(c) => count = c,
                None => {
                    malformed(scope, 10, "shape overflows");
                    return;
                }
            },
            _ => {
                malformed(scope, 10, "shape is not a tuple of non-negative integers");
                return;
            }
        }
    }
    let Some((isz, object)) = descr_size(&descr) else {
        malformed(scope, 10, &format!("unsupported dtype {descr:?}"));
        return;
    };
    let dtype = match &descr {
        Lit::Str(s) => s.clone(),
        _ => "structured".into(),
    };
    let data_at = input.pos();
    if object {
        scope.report(
            "numpy.object-array",
            Severity::Medium,
            Some(data_at),
            format!("{name}: array of Python objects ({dtype}, {count} elements); its data is a pickle and loading needs allow_pickle=True"),
            None,
        );
        let infos = pickle::scan_pickles(input, scope);
        for i in &infos {
            details.pickle().add(i);
        }
        details.tensors().add(&dtype, count, 0);
        return;
    }
    let bytes = count.saturating_mul(isz);
    details.tensors().add(&dtype, count, bytes);
    if let Some(rem) = input.remaining()
        && rem != bytes
    {
        scope.report(
            "numpy.size-mismatch",
            Severity::Low,
            Some(data_at),
            format!(
                "{name}: header says {bytes} bytes of data ({dtype} × {count}), the file has {rem}"
            ),
            None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        let l =
            parse_literal(b"{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }").unwrap();
        let Lit::Dict(kv) = l else { panic!() };
        assert_eq!(kv.len(), 3);
        assert_eq!(kv[2].1, Lit::Seq(vec![Lit::Int(3), Lit::Int(4)]));
        assert_eq!(
            descr_size(&parse_literal(b"[('a', '<i4'), ('b', '<f8', (2,))]").unwrap()),
            Some((20, false))
        );
        assert_eq!(descr_size(&Lit::Str("|O".into())), Some((8, true)));
        assert_eq!(descr_size(&Lit::Str("<U3".into())), Some((12, false)));
        assert!(parse_literal(b"{'a': ").is_none());
        assert!(parse_literal(&[b'['; 100]).is_none());
    }
}
