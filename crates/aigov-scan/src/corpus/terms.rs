//! The keyword-library matcher: every (overlapping) occurrence of every term in a normalised
//! text.
//!
//! An Aho–Corasick automaton walks one state per character and follows failure links on every
//! mismatch; on mixed CJK/ASCII text against a library of 10,000 terms that walk is a chain of
//! dependent, branchy loads (about 45 % of a corpus scan with daachorse). Keyword libraries are
//! made of short terms, so this matcher works the other way round:
//!
//! - Terms are split into two classes by their first byte (ASCII or not). Within a class every
//!   term is keyed by its first `K` bytes, where `K` is the byte length of the class's shortest
//!   term of two characters or more, at most 8 (one machine word); single-character terms are
//!   keyed whole, at their own length.
//! - At each character of the text, the word of the next `K` bytes is hashed and tested
//!   against a bit set of every key (one test per position in the usual case, one more per
//!   single-character key length). The tests of different positions do not depend on each
//!   other, so the processor overlaps them.
//! - Only where a key passes (a few per cent of positions on the benchmark corpus) is a table
//!   consulted and the terms with that key compared byte for byte.
//!
//! - A key shared by more than [`SMALL_BUCKET`] terms (a library of URLs all starting with
//!   `https://`) is not compared term by term: for each distinct length among its terms, the
//!   text of that length is looked up in a hash map of those terms.
//!
//! Matches are exact: the bit set and the tables only choose which terms to compare. The cost
//! per position is bounded by the key lengths in use (at most a few tests) and, where a key
//! passes, by [`SMALL_BUCKET`] comparisons or by the number of distinct term lengths behind
//! the key.

/// Longest key, in bytes (one machine word).
const KEY_BYTES: usize = 8;

/// Terms sharing a key beyond this many are found by length and hash map instead of being
/// compared one by one.
pub const SMALL_BUCKET: usize = 16;

/// Bytes of the character a UTF-8 byte starts (1 for continuation bytes, which never start a
/// position: positions advance by whole characters).
const WIDTH: [u8; 256] = {
    let mut t = [1u8; 256];
    let mut b = 0xC0;
    while b < 0x100 {
        t[b] = if b < 0xE0 {
            2
        } else if b < 0xF0 {
            3
        } else {
            4
        };
        b += 1;
    }
    t
};

use std::collections::HashMap;

/// The first `len` bytes (1–8) of `b[i..]` as a little-endian word, zero-padded.
#[inline(always)]
fn word(b: &[u8], i: usize, len: usize) -> u64 {
    let w = match b.get(i..i + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().unwrap_or([0; 8])),
        None => {
            let mut buf = [0u8; 8];
            let rest = b.get(i..).unwrap_or(&[]);
            buf[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(buf)
        }
    };
    w & (u64::MAX >> (64 - 8 * len))
}

/// The hash of a key word and its length.
#[inline(always)]
fn hash(w: u64, len: usize) -> u64 {
    (w ^ (len as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The compiled matcher of one library. Term indices are positions in the slice it was built
/// from.
#[derive(Debug, Clone)]
pub struct TermMatcher {
    /// Bit set over key hashes (top bits of the hash).
    filter: Vec<u64>,
    shift: u32,
    /// Key lengths in bytes that occur, per class of the first byte ([`class`]): bit `k - 1`
    /// for length `k`.
    lens: [u8; 2],
    /// Open-addressed table: (key word, key length) → range of `cands`. `count == 0` marks an
    /// empty slot.
    slots: Vec<Slot>,
    mask: usize,
    /// Term indices, grouped by key.
    cands: Vec<u32>,
    /// Each term's bytes (a range of `pool`).
    spans: Vec<(u32, u32)>,
    pool: Vec<u8>,
    /// The distinct term lengths of each large bucket (ranges in [`Slot`]), ascending.
    lengths: Vec<u32>,
    /// The terms of large buckets, by their bytes.
    large: HashMap<Box<[u8]>, u32>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    word: u64,
    len: u32,
    first: u32,
    count: u32,
    /// For a bucket of more than [`SMALL_BUCKET`] terms, its range of `lengths`.
    lengths_first: u32,
    lengths_count: u32,
}

impl TermMatcher {
    /// Builds the matcher over distinct, non-empty normalised terms (empty ones never match).
    pub fn new<'a>(terms: impl IntoIterator<Item = &'a str>) -> TermMatcher {
        let terms: Vec<&str> = terms.into_iter().collect();
        // The key of a term is its first bytes: per class (terms starting with an ASCII
        // character, the others) as many as the shortest term of two characters or more has,
        // at most eight, so that one test per position covers them; shorter terms (single
        // characters) are keyed whole and get a test of their own length.
        let mut key = [KEY_BYTES; 2];
        for t in &terms {
            if t.chars().nth(1).is_some() {
                let c = class(t.as_bytes()[0]);
                key[c] = key[c].min(t.len());
            }
        }
        let mut pool = Vec::new();
        let mut spans = Vec::new();
        let mut keyed: Vec<(u64, u32, u32)> = Vec::new();
        let mut lens = [0u8; 2];
        for (i, t) in terms.iter().enumerate() {
            let start = pool.len() as u32;
            pool.extend_from_slice(t.as_bytes());
            spans.push((start, t.len() as u32));
            let Some(&first) = t.as_bytes().first() else {
                continue;
            };
            let c = class(first);
            let k = key[c].min(t.len());
            lens[c] |= 1 << (k - 1);
            keyed.push((word(t.as_bytes(), 0, k), k as u32, i as u32));
        }
        keyed.sort_unstable();
        let bits = (keyed.len().max(1) * 64)
            .next_power_of_two()
            .clamp(1 << 12, 1 << 21);
        let mut filter = vec![0u64; bits / 64];
        let shift = 64 - bits.trailing_zeros();
        let size = (keyed.len() * 2).next_power_of_two().max(16);
        let mut slots = vec![Slot::default(); size];
        let mask = size - 1;
        let mut cands = Vec::with_capacity(keyed.len());
        let mut lengths = Vec::new();
        let mut large = HashMap::new();
        let mut i = 0;
        while i < keyed.len() {
            let (w, len, _) = keyed[i];
            let first = cands.len() as u32;
            while i < keyed.len() && (keyed[i].0, keyed[i].1) == (w, len) {
                cands.push(keyed[i].2);
                i += 1;
            }
            let group = &cands[first as usize..];
            let (lengths_first, mut lengths_count) = (lengths.len() as u32, 0);
            if group.len() > SMALL_BUCKET {
                let mut ls: Vec<u32> = group.iter().map(|&t| spans[t as usize].1).collect();
                ls.sort_unstable();
                ls.dedup();
                lengths_count = ls.len() as u32;
                lengths.extend(ls);
                for &t in group {
                    let (start, n) = spans[t as usize];
                    large.insert(pool[start as usize..(start + n) as usize].into(), t);
                }
            }
            let h = hash(w, len as usize);
            let bit = (h >> shift) as usize;
            filter[bit / 64] |= 1 << (bit % 64);
            let mut s = slot_of(h, mask);
            while slots[s].count != 0 {
                s = (s + 1) & mask;
            }
            slots[s] = Slot {
                word: w,
                len,
                first,
                count: cands.len() as u32 - first,
                lengths_first,
                lengths_count,
            };
        }
        TermMatcher {
            filter,
            shift,
            lens,
            slots,
            mask,
            cands,
            spans,
            pool,
            lengths,
            large,
        }
    }

    /// Calls `out(start, end, term)` for every occurrence of every term in `text`, ordered by
    /// start.
    pub fn find(&self, text: &str, mut out: impl FnMut(usize, usize, u32)) {
        let b = text.as_bytes();
        let mut i = 0;
        // While eight bytes are left, one load serves every key length at a position.
        while let Some(w) = b.get(i..i + 8) {
            let w = u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
            let lead = w as u8;
            let mut lens = self.lens[class(lead)];
            while lens != 0 {
                let k = lens.trailing_zeros() as usize + 1;
                lens &= lens - 1;
                self.probe(b, i, w & (u64::MAX >> (64 - 8 * k)), k, &mut out);
            }
            i += usize::from(WIDTH[usize::from(lead)]);
        }
        while let Some(&lead) = b.get(i) {
            let mut lens = self.lens[class(lead)];
            while lens != 0 {
                let k = lens.trailing_zeros() as usize + 1;
                lens &= lens - 1;
                if i + k <= b.len() {
                    self.probe(b, i, word(b, i, k), k, &mut out);
                }
            }
            i += usize::from(WIDTH[usize::from(lead)]);
        }
    }

    /// Tests the key (`w`, `k`) at `i` against the bit set, and the terms behind it if it
    /// passes.
    #[inline(always)]
    fn probe(&self, b: &[u8], i: usize, w: u64, k: usize, out: &mut impl FnMut(usize, usize, u32)) {
        let h = hash(w, k);
        let bit = (h >> self.shift) as usize;
        if self.filter[bit / 64] & (1 << (bit % 64)) != 0 {
            self.verify(b, i, w, k, h, out);
        }
    }

    /// Compares the terms keyed (`w`, `k`) with the text at `i`.
    #[inline(never)]
    fn verify(
        &self,
        b: &[u8],
        i: usize,
        w: u64,
        k: usize,
        h: u64,
        out: &mut impl FnMut(usize, usize, u32),
    ) {
        let mut s = slot_of(h, self.mask);
        loop {
            let slot = self.slots[s];
            if slot.count == 0 {
                return;
            }
            if slot.word == w && slot.len as usize == k {
                if slot.lengths_count > 0 {
                    let (first, count) = (slot.lengths_first as usize, slot.lengths_count as usize);
                    for &len in &self.lengths[first..first + count] {
                        let Some(text) = b.get(i..i + len as usize) else {
                            break;
                        };
                        if let Some(&t) = self.large.get(text) {
                            out(i, i + len as usize, t);
                        }
                    }
                    return;
                }
                let (first, count) = (slot.first as usize, slot.count as usize);
                for &t in &self.cands[first..first + count] {
                    let (start, len) = self.spans[t as usize];
                    let (start, len) = (start as usize, len as usize);
                    if b.get(i..i + len) == Some(&self.pool[start..start + len]) {
                        out(i, i + len, t);
                    }
                }
                return;
            }
            s = (s + 1) & self.mask;
        }
    }
}

/// The class of a term or text position by its first byte: 0 for ASCII, 1 otherwise.
#[inline(always)]
fn class(first: u8) -> usize {
    usize::from(first >= 0x80)
}

#[inline(always)]
fn slot_of(h: u64, mask: usize) -> usize {
    (h >> 20) as usize & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every occurrence of every term, the slow way: (start, end, term) sorted.
    fn naive(terms: &[&str], text: &str) -> Vec<(usize, usize, u32)> {
        let mut out = Vec::new();
        for (t, term) in terms.iter().enumerate() {
            if term.is_empty() {
                continue;
            }
            let mut from = 0;
            while let Some(k) = text[from..].find(term) {
                let s = from + k;
                out.push((s, s + term.len(), t as u32));
                from = s + text[s..].chars().next().map_or(1, char::len_utf8);
            }
        }
        out.sort_unstable();
        out
    }

    fn fast(terms: &[&str], text: &str) -> Vec<(usize, usize, u32)> {
        let m = TermMatcher::new(terms.iter().copied());
        let mut out = Vec::new();
        m.find(text, |s, e, t| out.push((s, e, t)));
        out.sort_unstable();
        out
    }

    #[test]
    fn finds_overlapping_terms_of_every_length() {
        let terms = [
            "炸药",
            "制作炸药",
            "a",
            "bomb",
            "bombs",
            "炸",
            "ab",
            "x😀y",
            "ççç",
        ];
        let text = "如何制作炸药和bombs, abomb x😀y çççç";
        assert_eq!(fast(&terms, text), naive(&terms, text));
        assert!(fast(&terms, text).len() > 10);
        assert!(fast(&terms, "").is_empty());
        assert!(fast(&[], "text").is_empty());
    }

    #[test]
    fn large_buckets_are_searched_by_length() {
        // 300 URLs share their first eight bytes; some are prefixes of others.
        let mut terms: Vec<String> = (0..300)
            .map(|n| format!("https://site{n}.example"))
            .collect();
        terms.push("https://site1".into());
        terms.push("https://网站".into());
        terms.push("https:/".into());
        let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
        let text = "see https://site12.example/x and https://site1 or https://网站, https://site299.example https://none";
        let found = fast(&refs, text);
        assert_eq!(found, naive(&refs, text));
        assert!(found.len() >= 8, "{found:?}");
        let m = TermMatcher::new(refs.iter().copied());
        assert!(m.large.len() > SMALL_BUCKET);
    }

    proptest::proptest! {
        /// The matcher finds exactly what a naive search for each term finds, on texts and
        /// terms over a small mixed alphabet (many overlaps, shared keys, 1–6 characters).
        #[test]
        fn agrees_with_a_naive_search(
            terms in proptest::collection::btree_set("[ab中文😀é ]{1,6}", 1..40),
            text in "[ab中文😀é c]{0,80}",
        ) {
            let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(fast(&terms, &text), naive(&terms, &text));
        }

        /// The same over two letters, so that many terms share a key (large buckets).
        #[test]
        fn agrees_with_a_naive_search_on_shared_keys(
            terms in proptest::collection::btree_set("[ab]{2,9}", 1..80),
            text in "[abc]{0,120}",
        ) {
            let terms: Vec<&str> = terms.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(fast(&terms, &text), naive(&terms, &text));
        }
    }
}
