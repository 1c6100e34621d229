//! A fast, allocation-light field extractor for JSON Lines.
//!
//! A JSONL corpus is mostly text in one or two fields. Parsing whole records into a DOM costs
//! more than the detectors themselves, so this walker reads a record once, skips what is not
//! selected with `memchr` (strings) and a bracket scan (containers), and hands each selected
//! string to a callback as `&str` — borrowed from the line when it has no escapes, decoded into
//! a reused buffer when it has.
//!
//! Selection is by field name (`text`) or JSON pointer (`/messages/0/content`, RFC 6901), with
//! `*` as an extension that matches every member of an object or array
//! (`/messages/*/content`). A pointer that ends at an object or array selects every string
//! inside it; with no pointer at all, every string value of the record is selected.

use std::borrow::Cow;

/// One step of a pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object member (or, when it is all digits, also an array index).
    Key(String),
    /// `*`: every member or element.
    Any,
}

/// A parsed field selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    segs: Vec<Seg>,
    text: String,
}

impl Pointer {
    /// Parses `name` (a top-level member) or `/a/b/0` (RFC 6901, `~0` and `~1` escapes) or
    /// `/a/*/b`. `""` and `/` select the whole record.
    pub fn parse(s: &str) -> Result<Pointer, String> {
        let text = s.to_string();
        if s.is_empty() || s == "/" {
            return Ok(Pointer { segs: vec![], text });
        }
        if !s.starts_with('/') {
            return Ok(Pointer {
                segs: vec![Seg::Key(s.to_string())],
                text: format!("/{}", s.replace('~', "~0").replace('/', "~1")),
            });
        }
        let mut segs = Vec::new();
        for part in s[1..].split('/') {
            if part == "*" {
                segs.push(Seg::Any);
                continue;
            }
            let mut out = String::new();
            let mut it = part.chars();
            while let Some(c) = it.next() {
                if c == '~' {
                    match it.next() {
                        Some('0') => out.push('~'),
                        Some('1') => out.push('/'),
                        _ => return Err(format!("{s:?}: `~` must be followed by 0 or 1")),
                    }
                } else {
                    out.push(c);
                }
            }
            segs.push(Seg::Key(out));
        }
        Ok(Pointer { segs, text })
    }

    /// The pointer as given (a bare name is shown as `/name`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn matches(&self, depth: usize, el: &PathEl<'_>) -> bool {
        match self.segs.get(depth) {
            Some(Seg::Any) => true,
            Some(Seg::Key(k)) => match el {
                PathEl::Key(name) => name == k,
                PathEl::Index(i) => k.parse::<usize>().ok() == Some(*i),
            },
            None => false,
        }
    }
}

/// One step of the path to the current value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathEl<'a> {
    /// An object member.
    Key(Cow<'a, str>),
    /// An array element.
    Index(usize),
}

/// Renders a path as a JSON pointer (`/messages/2/content`).
pub fn render_path(path: &[PathEl<'_>]) -> String {
    let mut s = String::new();
    render_path_into(path, &mut s);
    s
}

/// Appends the JSON pointer of `path` to `out`.
pub fn render_path_into(path: &[PathEl<'_>], out: &mut String) {
    use std::fmt::Write as _;
    for el in path {
        out.push('/');
        match el {
            PathEl::Key(k) if k.contains(['~', '/']) => {
                out.push_str(&k.replace('~', "~0").replace('/', "~1"))
            }
            PathEl::Key(k) => out.push_str(k),
            PathEl::Index(i) => {
                let _ = write!(out, "{i}");
            }
        }
    }
}

/// A malformed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// Byte offset in the line.
    pub offset: usize,
    /// What is wrong.
    pub message: &'static str,
}

impl std::fmt::Display for JsonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid JSON at byte {}: {}", self.offset, self.message)
    }
}

/// What to pull out of each record.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Text fields; empty means every string.
    pub text: Vec<Pointer>,
    /// A record id to carry into the flagged output.
    pub id: Option<Pointer>,
    /// A field that names the record's source (for per-source shares).
    pub source: Option<Pointer>,
}

/// Values captured from one record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Captures {
    /// The id field's value (strings unquoted, other scalars as written).
    pub id: Option<String>,
    /// The source field's value.
    pub source: Option<String>,
}

const MAX_DEPTH: usize = 128;

struct Walker<'a, 'f> {
    b: &'a [u8],
    pos: usize,
    sel: &'a Selection,
    scratch: &'a mut Vec<u8>,
    on_text: &'f mut dyn FnMut(&[PathEl<'a>], &str),
    caps: &'a mut Captures,
    path: Vec<PathEl<'a>>,
}

/// Which selectors are still alive at the current value: bits for text pointers, plus the id
/// and source pointers.
#[derive(Clone, Copy)]
struct Alive {
    text: u64,
    id: bool,
    source: bool,
    /// Inside a fully matched text pointer: every string is selected.
    selected: bool,
}

impl Selection {
    /// Walks one record, calling `on_text(path, text)` for every selected string and filling
    /// `caps`. `scratch` is reused for strings with escapes.
    pub fn extract<'a>(
        &'a self,
        line: &'a [u8],
        scratch: &'a mut Vec<u8>,
        caps: &'a mut Captures,
        on_text: &mut dyn FnMut(&[PathEl<'a>], &str),
    ) -> Result<(), JsonError> {
        *caps = Captures::default();
        let text_mask = if self.text.len() >= 64 {
            u64::MAX
        } else {
            (1u64 << self.text.len()) - 1
        };
        let root_selected = self.text.is_empty() || self.text.iter().any(|p| p.segs.is_empty());
        let mut w = Walker {
            b: line,
            pos: 0,
            sel: self,
            scratch,
            on_text,
            caps,
            path: Vec::with_capacity(8),
        };
        w.ws();
        w.value(
            Alive {
                text: text_mask,
                id: self.id.as_ref().is_some_and(|p| !p.segs.is_empty()),
                source: self.source.as_ref().is_some_and(|p| !p.segs.is_empty()),
                selected: root_selected,
            },
            0,
        )?;
        w.ws();
        if w.pos != w.b.len() {
            return Err(w.err("trailing characters after the record"));
        }
        Ok(())
    }
}

impl<'a> Walker<'a, '_> {
    fn err(&self, message: &'static str) -> JsonError {
        JsonError {
            offset: self.pos,
            message,
        }
    }

    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn child(&self, a: Alive, depth: usize, el: &PathEl<'_>) -> Alive {
        let mut text = 0u64;
        let mut selected = a.selected;
        for (i, p) in self.sel.text.iter().enumerate().take(64) {
            if a.text & (1 << i) != 0 && p.matches(depth, el) {
                if p.segs.len() == depth + 1 {
                    selected = true;
                } else {
                    text |= 1 << i;
                }
            }
        }
        let id = a.id && self.sel.id.as_ref().is_some_and(|p| p.matches(depth, el));
        let source = a.source
            && self
                .sel
                .source
                .as_ref()
                .is_some_and(|p| p.matches(depth, el));
        Alive {
            text,
            id,
            source,
            selected,
        }
    }

    /// Whether the id (or source) pointer ends exactly at the current depth.
    fn ends_here(p: Option<&Pointer>, alive: bool, depth: usize) -> bool {
        alive && p.is_some_and(|p| p.segs.len() == depth)
    }

    fn value(&mut self, a: Alive, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting deeper than 128 levels"));
        }
        let capture_id = Self::ends_here(self.sel.id.as_ref(), a.id, depth);
        let capture_source = Self::ends_here(self.sel.source.as_ref(), a.source, depth);
        let interesting = a.selected || a.text != 0 || a.id || a.source;
        match self.b.get(self.pos) {
            None => Err(self.err("unexpected end of record")),
            Some(b'"') => {
                if !interesting {
                    return self.skip_string();
                }
                let start = self.pos + 1;
                self.skip_string()?;
                let raw: &'a [u8] = &self.b[start..self.pos - 1];
                let lossy;
                let s: &str = if memchr::memchr(b'\\', raw).is_none() {
                    match simdutf8::basic::from_utf8(raw) {
                        Ok(s) => s,
                        Err(_) => {
                            lossy = String::from_utf8_lossy(raw).into_owned();
                            &lossy
                        }
                    }
                } else {
                    self.scratch.clear();
                    decode_escapes(raw, self.scratch).map_err(|m| JsonError {
                        offset: start,
                        message: m,
                    })?;
                    match simdutf8::basic::from_utf8(self.scratch) {
                        Ok(s) => s,
                        Err(_) => {
                            lossy = String::from_utf8_lossy(self.scratch).into_owned();
                            &lossy
                        }
                    }
                };
                if capture_id {
                    self.caps.id = Some(s.to_string());
                }
                if capture_source {
                    self.caps.source = Some(s.to_string());
                }
                if a.selected && !s.is_empty() {
                    (self.on_text)(&self.path, s);
                }
                Ok(())
            }
            Some(b'{') => {
                if !interesting {
                    return self.skip_container();
                }
                self.pos += 1;
                self.ws();
                if self.b.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    if self.b.get(self.pos) != Some(&b'"') {
                        return Err(self.err("expected a member name"));
                    }
                    let key = self.key()?;
                    self.ws();
                    if self.b.get(self.pos) != Some(&b':') {
                        return Err(self.err("expected `:`"));
                    }
                    self.pos += 1;
                    self.ws();
                    let el = PathEl::Key(key);
                    let ca = self.child(a, depth, &el);
                    if ca.selected || ca.text != 0 || ca.id || ca.source {
                        self.path.push(el);
                        self.value(ca, depth + 1)?;
                        self.path.pop();
                    } else {
                        self.skip_value()?;
                    }
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected `,` or `}`")),
                    }
                }
            }
            Some(b'[') => {
                if !interesting {
                    return self.skip_container();
                }
                self.pos += 1;
                self.ws();
                if self.b.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(());
                }
                let mut i = 0;
                loop {
                    self.ws();
                    let el = PathEl::Index(i);
                    let ca = self.child(a, depth, &el);
                    if ca.selected || ca.text != 0 || ca.id || ca.source {
                        self.path.push(el);
                        self.value(ca, depth + 1)?;
                        self.path.pop();
                    } else {
                        self.skip_value()?;
                    }
                    i += 1;
                    self.ws();
                    match self.b.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(self.err("expected `,` or `]`")),
                    }
                }
            }
            Some(_) => {
                let start = self.pos;
                self.scalar()?;
                if capture_id || capture_source {
                    let raw = String::from_utf8_lossy(&self.b[start..self.pos]).into_owned();
                    if capture_id {
                        self.caps.id = Some(raw.clone());
                    }
                    if capture_source {
                        self.caps.source = Some(raw);
                    }
                }
                Ok(())
            }
        }
    }

    fn scalar(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        while let Some(&c) = self.b.get(self.pos) {
            if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.') {
                self.pos += 1;
            } else {
                break;
            }
        }
        let tok = &self.b[start..self.pos];
        let ok = matches!(tok, b"true" | b"false" | b"null")
            || (!tok.is_empty()
                && (tok[0] == b'-' || tok[0].is_ascii_digit())
                && tok
                    .iter()
                    .all(|c| c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')));
        if ok {
            Ok(())
        } else {
            self.pos = start;
            Err(self.err("expected a value"))
        }
    }

    fn skip_value(&mut self) -> Result<(), JsonError> {
        match self.b.get(self.pos) {
            Some(b'"') => self.skip_string(),
            Some(b'{' | b'[') => self.skip_container(),
            Some(_) => self.scalar(),
            None => Err(self.err("unexpected end of record")),
        }
    }

    /// Skips a string starting at the opening quote.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        let mut p = self.pos + 1;
        loop {
            match memchr::memchr2(b'"', b'\\', &self.b[p..]) {
                None => {
                    self.pos = self.b.len();
                    return Err(self.err("unterminated string"));
                }
                Some(k) => {
                    p += k;
                    if self.b[p] == b'\\' {
                        p += 2;
                        if p > self.b.len() {
                            self.pos = self.b.len();
                            return Err(self.err("unterminated string"));
                        }
                    } else {
                        self.pos = p + 1;
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Skips an object or array, checking only that brackets balance outside strings.
    fn skip_container(&mut self) -> Result<(), JsonError> {
        let mut stack: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.pos) else {
                return Err(self.err("unexpected end of record"));
            };
            match c {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'{' => stack.push(b'}'),
                b'[' => stack.push(b']'),
                b'}' | b']' => {
                    if stack.pop() != Some(c) {
                        return Err(self.err("mismatched bracket"));
                    }
                    if stack.is_empty() {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            if stack.len() > MAX_DEPTH {
                return Err(self.err("nesting deeper than 128 levels"));
            }
            self.pos += 1;
        }
    }

    /// A member name, borrowed when it has no escapes.
    fn key(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.pos + 1;
        self.skip_string()?;
        let raw = &self.b[start..self.pos - 1];
        if !raw.contains(&b'\\') {
            return Ok(match std::str::from_utf8(raw) {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => Cow::Owned(String::from_utf8_lossy(raw).into_owned()),
            });
        }
        let mut buf = Vec::new();
        decode_escapes(raw, &mut buf).map_err(|m| JsonError {
            offset: start,
            message: m,
        })?;
        Ok(Cow::Owned(String::from_utf8_lossy(&buf).into_owned()))
    }
}

fn hex4(b: &[u8]) -> Option<u32> {
    if b.len() < 4 {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[..4] {
        v = v * 16 + (c as char).to_digit(16)?;
    }
    Some(v)
}

/// Decodes the body of a JSON string with escapes into `out`.
fn decode_escapes(raw: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut i = 0;
    while i < raw.len() {
        let Some(k) = memchr::memchr(b'\\', &raw[i..]) else {
            out.extend_from_slice(&raw[i..]);
            break;
        };
        out.extend_from_slice(&raw[i..i + k]);
        i += k + 1;
        let Some(&e) = raw.get(i) else {
            return Err("unterminated escape");
        };
        i += 1;
        let ch = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(&raw[i..]).ok_or("invalid \\u escape")?;
                i += 4;
                if (0xD800..0xDC00).contains(&hi) {
                    if raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u') {
                        let lo = hex4(&raw[i + 2..]).ok_or("invalid \\u escape")?;
                        if (0xDC00..0xE000).contains(&lo) {
                            i += 6;
                            let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            char::from_u32(c).unwrap_or('\u{FFFD}')
                        } else {
                            '\u{FFFD}'
                        }
                    } else {
                        '\u{FFFD}'
                    }
                } else {
                    char::from_u32(hi).unwrap_or('\u{FFFD}')
                }
            }
            _ => return Err("invalid escape"),
        };
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(text: &[&str]) -> Selection {
        Selection {
            text: text.iter().map(|p| Pointer::parse(p).unwrap()).collect(),
            ..Selection::default()
        }
    }

    fn run(s: &Selection, line: &str) -> Result<Vec<(String, String)>, JsonError> {
        let mut scratch = Vec::new();
        let mut caps = Captures::default();
        let mut got = Vec::new();
        s.extract(line.as_bytes(), &mut scratch, &mut caps, &mut |p, t| {
            got.push((render_path(p), t.to_string()))
        })?;
        Ok(got)
    }

    #[test]
    fn selects_fields_pointers_and_wildcards() {
        let line = r#"{"id": 7, "text": "你好\n\u4e16\u754c \ud83d\ude00", "meta": {"url": "x"}, "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}"#;
        assert_eq!(
            run(&sel(&["text"]), line).unwrap(),
            vec![("/text".into(), "你好\n世界 😀".into())]
        );
        assert_eq!(
            run(&sel(&["/messages/*/content"]), line).unwrap(),
            vec![
                ("/messages/0/content".into(), "hi".into()),
                ("/messages/1/content".into(), "yo".into())
            ]
        );
        assert_eq!(
            run(&sel(&["/messages/1"]), line).unwrap(),
            vec![
                ("/messages/1/role".into(), "assistant".into()),
                ("/messages/1/content".into(), "yo".into())
            ]
        );
        assert_eq!(run(&sel(&[]), line).unwrap().len(), 6);
        assert_eq!(run(&sel(&["missing"]), line).unwrap().len(), 0);
    }

    #[test]
    fn captures_id_and_source() {
        let s = Selection {
            text: vec![Pointer::parse("text").unwrap()],
            id: Some(Pointer::parse("/meta/id").unwrap()),
            source: Some(Pointer::parse("src").unwrap()),
        };
        let mut scratch = Vec::new();
        let mut caps = Captures::default();
        s.extract(
            br#"{"src": "web", "meta": {"id": 42}, "text": "t"}"#,
            &mut scratch,
            &mut caps,
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(caps.id.as_deref(), Some("42"));
        assert_eq!(caps.source.as_deref(), Some("web"));
    }

    #[test]
    fn malformed_records_are_errors_not_panics() {
        let s = sel(&["text"]);
        for bad in [
            "",
            "{",
            r#"{"text": "unterminated}"#,
            r#"{"text": "x",}"#,
            r#"{"a": [1, 2}"#,
            r#"{"text": "\x"}"#,
            r#"{"text": "x"} trailing"#,
            "nul",
            &"[".repeat(500),
        ] {
            assert!(run(&s, bad).is_err(), "{bad:?}");
        }
        assert!(run(&s, r#"{"a": {"b": [1, {"c": "]"}]}, "text": "ok"}"#).is_ok());
    }

    #[test]
    fn pointers() {
        assert_eq!(Pointer::parse("text").unwrap().as_str(), "/text");
        assert_eq!(
            Pointer::parse("/a~1b/~0c").unwrap().segs,
            vec![Seg::Key("a/b".into()), Seg::Key("~c".into())]
        );
        assert!(Pointer::parse("/a~2").is_err());
    }
}
