//! Text normalisation for matching, with a map back to the original for evidence spans.
//!
//! Matching runs on a normalised copy: ASCII lower case, full-width ASCII folded to ASCII
//! (`，` → `,`, `Ｉ` → `i`), curly quotes straightened (`can’t` → `can't`), zero-width and
//! BOM characters dropped (so `我\u{200B}无法` still matches), and runs of whitespace collapsed
//! to one space. Every byte of the normalised text remembers the byte offset of the original
//! character it came from, so a match maps back to an exact span of the response.

/// A normalised text and its offset map.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    /// The normalised text.
    pub text: String,
    /// For each byte of `text`, the byte offset in the original of the char it came from.
    map: Vec<u32>,
}

fn fold(c: char) -> Option<char> {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => None,
        '\u{FF01}'..='\u{FF5E}' => {
            char::from_u32(c as u32 - 0xFEE0).map(|a| a.to_ascii_lowercase())
        }
        '\u{3000}' => Some(' '),
        '\u{2018}' | '\u{2019}' | '\u{201B}' | '\u{2032}' | '\u{02BC}' => Some('\''),
        '\u{201C}' | '\u{201D}' | '\u{201F}' | '\u{2033}' => Some('"'),
        c if c.is_whitespace() => Some(' '),
        c => Some(c.to_ascii_lowercase()),
    }
}

impl Normalized {
    /// Normalises `s`.
    pub fn new(s: &str) -> Normalized {
        let mut text = String::with_capacity(s.len());
        let mut map = Vec::with_capacity(s.len());
        let mut prev_space = true; // also trims leading whitespace
        for (i, c) in s.char_indices() {
            let Some(f) = fold(c) else { continue };
            if f == ' ' {
                if prev_space {
                    continue;
                }
                prev_space = true;
            } else {
                prev_space = false;
            }
            let before = text.len();
            text.push(f);
            for _ in before..text.len() {
                map.push(i as u32);
            }
        }
        if text.ends_with(' ') {
            text.pop();
            map.pop();
        }
        Normalized { text, map }
    }

    /// Maps a normalised byte range back to a byte range of `original`.
    pub fn span(&self, original: &str, start: usize, end: usize) -> (usize, usize) {
        if self.map.is_empty() || start >= end {
            return (0, 0);
        }
        let s = self.map[start.min(self.map.len() - 1)] as usize;
        let last = self.map[(end - 1).min(self.map.len() - 1)] as usize;
        let e = last
            + original[last.min(original.len())..]
                .chars()
                .next()
                .map(char::len_utf8)
                .unwrap_or(0);
        (s.min(original.len()), e.min(original.len()))
    }

    /// Where the content starts: after leading markdown markers, quotes and a speaker label
    /// such as `assistant:`, so a prefix rule matches `**I'm sorry**` and `> 抱歉`.
    pub fn content_start(&self) -> usize {
        let t = &self.text;
        let mut i = 0;
        loop {
            let rest = &t[i..];
            let skip = rest
                .char_indices()
                .find(|(_, c)| {
                    !matches!(
                        c,
                        '#' | '*'
                            | '_'
                            | '>'
                            | '-'
                            | '`'
                            | '"'
                            | '\''
                            | ' '
                            | '「'
                            | '『'
                            | '【'
                            | '“'
                    )
                })
                .map(|(j, _)| j)
                .unwrap_or(rest.len());
            i += skip;
            let rest = &t[i..];
            let mut advanced = false;
            for label in ["assistant:", "ai:", "answer:", "回答:", "答:", "助手:"] {
                if rest.starts_with(label) {
                    i += label.len();
                    advanced = true;
                }
            }
            if !advanced {
                return i;
            }
        }
    }
}

/// Whether the byte at `i` of `s` (if any) is an ASCII letter or digit.
pub fn ascii_word_at(s: &str, i: usize) -> bool {
    s.as_bytes()
        .get(i)
        .is_some_and(|b| b.is_ascii_alphanumeric())
}

/// Whether the match `s[start..end]` has word boundaries where its ends are ASCII words.
pub fn word_bounded(s: &str, start: usize, end: usize) -> bool {
    let b = s.as_bytes();
    let first_word = b.get(start).is_some_and(|c| c.is_ascii_alphanumeric());
    let last_word = end > 0 && b.get(end - 1).is_some_and(|c| c.is_ascii_alphanumeric());
    let before_ok = !first_word || start == 0 || !ascii_word_at(s, start - 1);
    let after_ok = !last_word || !ascii_word_at(s, end);
    before_ok && after_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_and_maps_back() {
        let orig = "  Ｉ can’t\u{200B} help，   抱歉";
        let n = Normalized::new(orig);
        assert_eq!(n.text, "i can't help, 抱歉");
        let at = n.text.find("can't").unwrap();
        let (s, e) = n.span(orig, at, at + "can't".len());
        assert_eq!(&orig[s..e], "can’t");
        let at = n.text.find("抱歉").unwrap();
        let (s, e) = n.span(orig, at, at + "抱歉".len());
        assert_eq!(&orig[s..e], "抱歉");
    }

    #[test]
    fn content_start_skips_markup() {
        let n = Normalized::new("**Assistant:** > “抱歉");
        assert_eq!(&n.text[n.content_start()..], "抱歉");
        assert!(word_bounded("i can't", 0, 1));
        assert!(!word_bounded("hi can't", 1, 2));
    }
}
