//! Redacted copies of corpus records.

use serde::{Deserialize, Serialize};

/// How a redacted span is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RedactStyle {
    /// `[pi.cn-mobile]`: the rule id in brackets.
    #[default]
    Tag,
    /// `***********`: one `*` per character.
    Mask,
    /// `138****5678`: the first 3 and last 4 characters kept when the span has at least 9
    /// characters (the usual Chinese convention), otherwise fully masked.
    Partial,
}

impl RedactStyle {
    /// Parses `tag`, `mask`, `partial`.
    pub fn parse(s: &str) -> Option<RedactStyle> {
        Some(match s {
            "tag" => RedactStyle::Tag,
            "mask" => RedactStyle::Mask,
            "partial" => RedactStyle::Partial,
            _ => return None,
        })
    }
}

/// A span to redact in one text: byte offsets and the rule id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span<'a> {
    /// Start (byte offset).
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// The rule that found it.
    pub rule: &'a str,
}

fn replacement(style: RedactStyle, original: &str, rule: &str) -> String {
    match style {
        RedactStyle::Tag => format!("[{rule}]"),
        RedactStyle::Mask => "*".repeat(original.chars().count()),
        RedactStyle::Partial => {
            let chars: Vec<char> = original.chars().collect();
            if chars.len() >= 9 {
                let mut s: String = chars[..3].iter().collect();
                s.push_str(&"*".repeat(chars.len() - 7));
                s.extend(&chars[chars.len() - 4..]);
                s
            } else {
                "*".repeat(chars.len())
            }
        }
    }
}

/// Applies the spans to `text` (overlapping spans are merged; the first rule names the merged
/// span). Spans off character boundaries or out of range are ignored.
pub fn apply(text: &str, spans: &mut [Span<'_>], style: RedactStyle) -> String {
    spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut i = 0;
    while i < spans.len() {
        let (start, mut end, rule) = (spans[i].start, spans[i].end, spans[i].rule);
        i += 1;
        while i < spans.len() && spans[i].start < end {
            end = end.max(spans[i].end);
            i += 1;
        }
        if start < pos
            || end > text.len()
            || !text.is_char_boundary(start)
            || !text.is_char_boundary(end)
        {
            continue;
        }
        out.push_str(&text[pos..start]);
        out.push_str(&replacement(style, &text[start..end], rule));
        pos = end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Redacts the strings of a JSON record at the given JSON pointers. Returns `None` when the
/// record does not parse (it is then written unchanged by the caller).
pub fn json_record(
    line: &[u8],
    fields: &[(String, Vec<Span<'_>>)],
    style: RedactStyle,
) -> Option<String> {
    let mut v: serde_json::Value = serde_json::from_slice(line).ok()?;
    for (path, spans) in fields {
        if let Some(serde_json::Value::String(s)) = v.pointer_mut(path) {
            let mut spans = spans.clone();
            *s = apply(s, &mut spans, style);
        }
    }
    serde_json::to_string(&v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn styles_and_overlaps() {
        let t = "电话13812345678，邮箱a@b.cn";
        let s = t.find("138").unwrap();
        let mk = |style| {
            apply(
                t,
                &mut [Span {
                    start: s,
                    end: s + 11,
                    rule: "pi.cn-mobile",
                }],
                style,
            )
        };
        assert_eq!(mk(RedactStyle::Tag), "电话[pi.cn-mobile]，邮箱a@b.cn");
        assert_eq!(mk(RedactStyle::Mask), "电话***********，邮箱a@b.cn");
        assert_eq!(mk(RedactStyle::Partial), "电话138****5678，邮箱a@b.cn");
        let mut spans = [
            Span {
                start: 0,
                end: 4,
                rule: "a",
            },
            Span {
                start: 2,
                end: 6,
                rule: "b",
            },
            Span {
                start: 1,
                end: 99,
                rule: "bad",
            },
        ];
        assert_eq!(
            apply("abcdefgh", &mut spans[..2], RedactStyle::Tag),
            "[a]gh"
        );
        assert_eq!(
            apply("abcdefgh", &mut spans[2..], RedactStyle::Tag),
            "abcdefgh"
        );
    }

    #[test]
    fn json_records_keep_order() {
        let line = br#"{"b": 1, "text": "call 13812345678", "a": {"c": "x"}}"#;
        let out = json_record(
            line,
            &[(
                "/text".to_string(),
                vec![Span {
                    start: 5,
                    end: 16,
                    rule: "pi.cn-mobile",
                }],
            )],
            RedactStyle::Tag,
        )
        .unwrap();
        assert_eq!(out, r#"{"b":1,"text":"call [pi.cn-mobile]","a":{"c":"x"}}"#);
        assert!(json_record(b"{bad", &[], RedactStyle::Tag).is_none());
    }
}
