//! Stable ids and human refs.
//!
//! Every stored object has a UUIDv7 id (time-ordered, so indexes stay append-friendly) and,
//! where people cite it, a human ref: a prefix and a number that is never reused (`SYS-12`).

use crate::clock::Timestamp;

/// A UUIDv7 string from a timestamp and 10 random bytes (RFC 9562 §5.7).
pub fn uuid_v7(at: Timestamp, random: [u8; 10]) -> String {
    let ms = at.unix_millis().max(0) as u64;
    let mut b = [0u8; 16];
    b[0..6].copy_from_slice(&ms.to_be_bytes()[2..8]);
    b[6..16].copy_from_slice(&random);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Whether `s` looks like a UUID (8-4-4-4-12 lowercase hex).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && [8, 4, 4, 4, 12].iter().zip(&parts).all(|(n, p)| {
            p.len() == *n
                && p.bytes()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        })
}

/// The kinds of object that carry a human ref, with their prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefKind {
    /// `SYS-n`, an AI system.
    System,
    /// `MDL-n`, a model.
    Model,
    /// `DS-n`, a dataset.
    Dataset,
    /// `VND-n`, a vendor.
    Vendor,
    /// `EP-n`, an endpoint.
    Endpoint,
}

impl RefKind {
    /// All kinds.
    pub const ALL: [RefKind; 5] = [
        RefKind::System,
        RefKind::Model,
        RefKind::Dataset,
        RefKind::Vendor,
        RefKind::Endpoint,
    ];

    /// The prefix (`SYS`).
    pub fn prefix(self) -> &'static str {
        match self {
            RefKind::System => "SYS",
            RefKind::Model => "MDL",
            RefKind::Dataset => "DS",
            RefKind::Vendor => "VND",
            RefKind::Endpoint => "EP",
        }
    }

    /// The human ref for number `n`.
    pub fn format(self, n: i64) -> String {
        format!("{}-{n}", self.prefix())
    }

    /// Parses `SYS-12` (case-insensitive prefix) into its number.
    pub fn parse(self, s: &str) -> Option<i64> {
        let (p, n) = s.split_once('-')?;
        if !p.eq_ignore_ascii_case(self.prefix())
            || n.is_empty()
            || !n.bytes().all(|b| b.is_ascii_digit())
            || n.len() > 15
        {
            return None;
        }
        n.parse().ok().filter(|n| *n > 0)
    }
}
