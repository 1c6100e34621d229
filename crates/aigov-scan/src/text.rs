//! Text normalisation for matching.
//!
//! Keyword libraries are matched against a *normalised* copy of each text so that the usual
//! evasions do not work: full-width forms (`ＡＢＣ１２３` → `abc123`), upper case (`BoMb` →
//! `bomb`), invisible characters inserted between letters (`炸\u{200b}药` → `炸药`) and exotic
//! spaces. Personal-information rules run on the same copy, so `１３８ １２３４ ５６７８` is a
//! phone number too. Offsets found in the copy are mapped back to the original text, so every
//! reported span points into the input as written.
//!
//! What is folded (and nothing else):
//! - ASCII upper case → lower case;
//! - full-width forms U+FF01–U+FF5E → ASCII, ideographic space U+3000, no-break spaces and the
//!   typographic spaces U+2000–U+200A, U+202F, U+205F → a space;
//! - Latin-1 (À–Þ) and basic Cyrillic (Ѐ–Я) capitals → their lower case;
//! - zero-width and direction-control characters (U+200B–U+200F, U+202A–U+202E,
//!   U+2060–U+2064, U+2066–U+2069, U+FEFF) and the soft hyphen U+00AD are removed.

/// Bytes that start a character the normaliser may change (besides ASCII capitals, which are
/// folded in a separate, vectorisable pass).
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[0xC2] = true;
    t[0xC3] = true;
    t[0xD0] = true;
    t[0xE2] = true;
    t[0xE3] = true;
    t[0xEF] = true;
    t
};

/// What to do with one special character.
enum Repl {
    /// Leave it.
    Keep,
    /// Drop it.
    Drop,
    /// Replace it with one ASCII byte.
    Ascii(u8),
    /// Replace it with a two-byte sequence (same length as the original).
    Two(u8, u8),
}

/// Decides the replacement of the character starting at `b[i]` (a [`SPECIAL`] byte), returning
/// its length in bytes too. `b` is valid UTF-8.
#[inline]
fn classify(b: &[u8], i: usize) -> (usize, Repl) {
    let at = |k: usize| b.get(i + k).copied().unwrap_or(0);
    match b[i] {
        0xC2 => match at(1) {
            0xA0 => (2, Repl::Ascii(b' ')),
            0xAD => (2, Repl::Drop),
            _ => (2, Repl::Keep),
        },
        0xC3 => {
            let c = at(1);
            if (0x80..=0x9E).contains(&c) && c != 0x97 {
                (2, Repl::Two(0xC3, c + 0x20))
            } else {
                (2, Repl::Keep)
            }
        }
        0xD0 => {
            let c = at(1);
            match c {
                // Ѐ–Џ (U+0400–U+040F) → ѐ–џ (U+0450–U+045F).
                0x80..=0x8F => (2, Repl::Two(0xD1, c + 0x10)),
                // А–П → а–п.
                0x90..=0x9F => (2, Repl::Two(0xD0, c + 0x20)),
                // Р–Я → р–я.
                0xA0..=0xAF => (2, Repl::Two(0xD1, c - 0x20)),
                _ => (2, Repl::Keep),
            }
        }
        0xE2 => {
            let (c1, c2) = (at(1), at(2));
            let r = match (c1, c2) {
                // U+2000–U+200A spaces.
                (0x80, 0x80..=0x8A) => Repl::Ascii(b' '),
                // U+200B–U+200F zero-width and marks.
                (0x80, 0x8B..=0x8F) => Repl::Drop,
                // U+202A–U+202E bidi embeddings; U+202F narrow no-break space.
                (0x80, 0xAA..=0xAE) => Repl::Drop,
                (0x80, 0xAF) => Repl::Ascii(b' '),
                // U+205F medium mathematical space; U+2060–U+2064 invisible operators;
                // U+2066–U+2069 isolates.
                (0x81, 0x9F) => Repl::Ascii(b' '),
                (0x81, 0xA0..=0xA4) | (0x81, 0xA6..=0xA9) => Repl::Drop,
                _ => Repl::Keep,
            };
            (3, r)
        }
        0xE3 => {
            if at(1) == 0x80 && at(2) == 0x80 {
                (3, Repl::Ascii(b' '))
            } else {
                (3, Repl::Keep)
            }
        }
        0xEF => {
            let (c1, c2) = (at(1), at(2));
            let r = match (c1, c2) {
                (0xBB, 0xBF) => Repl::Drop,
                // U+FF01–U+FF3F → 0x21–0x5F.
                (0xBC, 0x81..=0xBF) => Repl::Ascii(c2 - 0x81 + 0x21),
                // U+FF40–U+FF5E → 0x60–0x7E.
                (0xBD, 0x80..=0x9E) => Repl::Ascii(c2 - 0x80 + 0x60),
                _ => Repl::Keep,
            };
            (3, r)
        }
        _ => (1, Repl::Keep),
    }
}

/// A reusable normalised copy of a text, with the map back to the original's byte offsets.
#[derive(Debug, Default, Clone)]
pub struct Normalized {
    text: String,
    /// `(normalised offset, original offset)` wherever the two stop moving in step; sorted.
    anchors: Vec<(usize, usize)>,
}

impl Normalized {
    /// An empty buffer.
    pub fn new() -> Normalized {
        Normalized::default()
    }

    /// Normalises `input` into this buffer (replacing what was there).
    pub fn set(&mut self, input: &str) {
        self.text.clear();
        self.anchors.clear();
        let b = input.as_bytes();
        let mut copied = 0;
        if memchr::memchr3(0xC2, 0xC3, 0xD0, b).is_none() {
            // Common case (CJK and ASCII text): only the three-byte leads can change, and
            // memchr finds them with SIMD.
            let mut from = 0;
            while let Some(k) = memchr::memchr3(0xE2, 0xE3, 0xEF, &b[from..]) {
                let i = from + k;
                from = self.special(input, i, &mut copied);
            }
        } else {
            let mut i = 0;
            while i < b.len() {
                if SPECIAL[b[i] as usize] {
                    i = self.special(input, i, &mut copied);
                } else {
                    i += 1;
                }
            }
        }
        self.text.push_str(&input[copied..]);
        self.text.make_ascii_lowercase();
    }

    /// Handles the special character at `i`; returns the index after it.
    #[inline]
    fn special(&mut self, input: &str, i: usize, copied: &mut usize) -> usize {
        let b = input.as_bytes();
        let (len, r) = classify(b, i);
        let len = len.min(b.len() - i);
        match r {
            Repl::Keep => {}
            Repl::Two(x, y) => {
                self.text.push_str(&input[*copied..i]);
                let mut buf = [0u8; 4];
                let ch = std::str::from_utf8(&[x, y])
                    .ok()
                    .and_then(|s| s.chars().next())
                    .unwrap_or('\u{FFFD}');
                self.text.push_str(ch.encode_utf8(&mut buf));
                *copied = i + len;
            }
            Repl::Ascii(a) => {
                self.text.push_str(&input[*copied..i]);
                self.text.push(a as char);
                *copied = i + len;
                self.anchors.push((self.text.len(), *copied));
            }
            Repl::Drop => {
                self.text.push_str(&input[*copied..i]);
                *copied = i + len;
                self.anchors.push((self.text.len(), *copied));
            }
        }
        i + len
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether normalisation changed any offsets (a width fold or a removal happened).
    pub fn shifted(&self) -> bool {
        !self.anchors.is_empty()
    }

    /// The original offset of the character that starts at normalised offset `pos`.
    pub fn start_to_original(&self, pos: usize) -> usize {
        match self.anchors.partition_point(|&(n, _)| n <= pos) {
            0 => pos,
            k => {
                let (n, o) = self.anchors[k - 1];
                o + (pos - n)
            }
        }
    }

    /// Maps the normalised span `start..end` (on character boundaries of the normalised text)
    /// to the span of `original` it came from.
    pub fn span_to_original(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        if self.anchors.is_empty() {
            return (start, end);
        }
        let os = self.start_to_original(start);
        if end <= start {
            return (os, os);
        }
        // The last character of the match: map its start, then step over it in the original.
        let mut last = end - 1;
        while last > start && !self.text.is_char_boundary(last) {
            last -= 1;
        }
        let ol = self.start_to_original(last);
        let width = original
            .get(ol..)
            .and_then(|s| s.chars().next())
            .map_or(1, char::len_utf8);
        (os, (ol + width).min(original.len()))
    }
}

/// Normalises one term of a keyword library exactly as texts are normalised.
pub fn normalize_term(term: &str) -> String {
    let mut n = Normalized::new();
    n.set(term);
    n.text
}

/// Folds full-width forms to ASCII and nothing else (case is kept). Used by validators that
/// must see the case of a candidate as written.
pub fn fold_width(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        let c = ch as u32;
        if (0xFF01..=0xFF5E).contains(&c) {
            out.push(char::from_u32(c - 0xFEE0).unwrap_or(ch));
        } else if c == 0x3000 {
            out.push(' ');
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> (String, Normalized) {
        let mut n = Normalized::new();
        n.set(s);
        (n.as_str().to_string(), n)
    }

    #[test]
    fn folds_width_case_and_invisibles() {
        assert_eq!(norm("ＡＢＣ１２３").0, "abc123");
        assert_eq!(norm("BoMb").0, "bomb");
        assert_eq!(norm("炸\u{200b}药").0, "炸药");
        assert_eq!(norm("a\u{3000}b\u{a0}c").0, "a b c");
        assert_eq!(norm("ÀÉÎ×").0, "àéî×");
        assert_eq!(norm("ПРИВЕТ Ѐ").0, "привет ѐ");
        assert_eq!(norm("\u{feff}x\u{ad}y").0, "xy");
        // Chinese punctuation outside the full-width block is kept.
        assert_eq!(norm("你好，世界。").0, "你好,世界。");
    }

    #[test]
    fn maps_spans_back() {
        let orig = "前缀ＡＢ\u{200b}Ｃ后";
        let (n, map) = norm(orig);
        assert_eq!(n, "前缀abc后");
        let s = n.find("abc").unwrap();
        let (os, oe) = map.span_to_original(orig, s, s + 3);
        assert_eq!(&orig[os..oe], "ＡＢ\u{200b}Ｃ");
        let s = n.find("后").unwrap();
        let (os, oe) = map.span_to_original(orig, s, s + "后".len());
        assert_eq!(&orig[os..oe], "后");
        // Unshifted text maps to itself.
        let (_, map) = norm("plain text");
        assert_eq!(map.span_to_original("plain text", 6, 10), (6, 10));
    }

    #[test]
    fn fold_width_keeps_case() {
        assert_eq!(fold_width("ＡＫＩＡ１"), "AKIA1");
    }
}
