//! Validators for personal-information candidates: check digits, number plans, date checks.
//!
//! Every function takes the candidate as ASCII bytes and answers without allocating. They are
//! the precision half of the personal-information rules: the regex pass proposes candidates
//! cheaply, these decide.

/// Two-digit province codes of mainland resident ID numbers (GB/T 2260), plus 71 (Taiwan),
/// 81 (Hong Kong), 82 (Macau) and 83 (Taiwan residents' residence permits).
fn valid_province(p: u32) -> bool {
    matches!(
        p,
        11..=15 | 21..=23 | 31..=37 | 41..=46 | 50..=54 | 61..=65 | 71 | 81..=83
    )
}

fn digits_value(d: &[u8]) -> Option<u32> {
    let mut v: u32 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(v)
}

fn is_leap(y: u32) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

/// Whether `yyyy-mm-dd` is a calendar date with `1900 <= yyyy <= 2099`.
pub fn valid_date(y: u32, m: u32, d: u32) -> bool {
    if !(1900..=2099).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    };
    d <= days
}

/// The GB 11643 (ISO 7064 MOD 11-2) check character for the first 17 digits.
pub fn gb11643_check_char(first17: &[u8]) -> Option<u8> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (i, &c) in first17.iter().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        sum += u32::from(c - b'0') * W[i];
    }
    Some(C[(sum % 11) as usize])
}

/// An 18-character mainland resident ID number: a known province code, a valid birth date
/// and the GB 11643 check character (`X` in either case).
pub fn cn_resident_id_18(s: &[u8]) -> bool {
    if s.len() != 18 {
        return false;
    }
    let Some(p) = digits_value(&s[0..2]) else {
        return false;
    };
    if !valid_province(p) || digits_value(&s[2..6]).is_none() {
        return false;
    }
    let (Some(y), Some(m), Some(d)) = (
        digits_value(&s[6..10]),
        digits_value(&s[10..12]),
        digits_value(&s[12..14]),
    ) else {
        return false;
    };
    if !valid_date(y, m, d) {
        return false;
    }
    match gb11643_check_char(&s[..17]) {
        Some(c) => c == s[17].to_ascii_uppercase(),
        None => false,
    }
}

/// A 15-digit first-generation resident ID number (no check digit): a known province code and
/// a valid birth date in 1900–1999.
pub fn cn_resident_id_15(s: &[u8]) -> bool {
    if s.len() != 15 || !s.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let p = digits_value(&s[0..2]).unwrap_or(0);
    let (y, m, d) = (
        1900 + digits_value(&s[6..8]).unwrap_or(0),
        digits_value(&s[8..10]).unwrap_or(0),
        digits_value(&s[10..12]).unwrap_or(0),
    );
    valid_province(p) && valid_date(y, m, d)
}

/// The Luhn (mod 10) check over ASCII digits.
pub fn luhn(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return false;
        }
        let mut v = u32::from(c - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// The card network of a payment-card number by its issuer prefix and length, if any.
/// UnionPay first: Chinese debit and credit cards start with 62 (16–19 digits).
pub fn card_network(d: &[u8]) -> Option<&'static str> {
    let n = d.len();
    let pre = |k: usize| digits_value(&d[..k.min(n)]).unwrap_or(0);
    if d.first() == Some(&b'6') && d.get(1) == Some(&b'2') && (16..=19).contains(&n) {
        return Some("unionpay");
    }
    if d.first() == Some(&b'4') && matches!(n, 13 | 16 | 19) {
        return Some("visa");
    }
    if n == 16 && ((51..=55).contains(&pre(2)) || (2221..=2720).contains(&pre(4))) {
        return Some("mastercard");
    }
    if n == 15 && matches!(pre(2), 34 | 37) {
        return Some("amex");
    }
    if (16..=19).contains(&n) && (3528..=3589).contains(&pre(4)) {
        return Some("jcb");
    }
    if (16..=19).contains(&n) && (pre(4) == 6011 || (644..=649).contains(&pre(3)) || pre(2) == 65) {
        return Some("discover");
    }
    if (14..=19).contains(&n) && ((300..=305).contains(&pre(3)) || matches!(pre(2), 36 | 38)) {
        return Some("diners");
    }
    None
}

/// A payment-card number: a known network prefix and length, and a valid Luhn check.
pub fn bank_card(d: &[u8]) -> Option<&'static str> {
    if !(13..=19).contains(&d.len()) || !luhn(d) {
        return None;
    }
    card_network(d)
}

/// An 11-digit mainland mobile number in an allocated segment (13x, 14[5-9], 15x except 154,
/// 16[2567], 17[0-8], 18x, 19x except 194).
pub fn cn_mobile(d: &[u8]) -> bool {
    if d.len() != 11 || d[0] != b'1' || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let (a, b) = (d[1], d[2]);
    match a {
        b'3' | b'8' => true,
        b'4' => matches!(b, b'5'..=b'9'),
        b'5' => b != b'4',
        b'6' => matches!(b, b'2' | b'5' | b'6' | b'7'),
        b'7' => matches!(b, b'0'..=b'8'),
        b'9' => b != b'4',
        _ => false,
    }
}

/// Splits a mainland landline (digits only, trunk `0` included) into a valid area code and a
/// local number: `010` and `02x` take 8-digit local numbers, `0[3-9]xx` take 7 or 8; local
/// numbers start with 2–8.
pub fn cn_landline(d: &[u8]) -> bool {
    if d.first() != Some(&b'0') || !d.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let local_ok = |l: &[u8]| matches!(l.first(), Some(b'2'..=b'8'));
    match d.get(1) {
        Some(b'1') => d.len() == 11 && d[2] == b'0' && local_ok(&d[3..]),
        Some(b'2') => d.len() == 11 && local_ok(&d[3..]),
        Some(b'3'..=b'9') => matches!(d.len(), 11 | 12) && local_ok(&d[4..]),
        _ => false,
    }
}

fn letter_value(c: u8) -> Option<u32> {
    c.is_ascii_uppercase().then(|| u32::from(c - b'A') + 10)
}

/// A Hong Kong identity card number `X123456(7)` or `XY123456(A)` (parentheses optional), with
/// its mod-11 check character.
pub fn hk_id(s: &[u8]) -> bool {
    let core: Vec<u8> = s
        .iter()
        .copied()
        .filter(|c| *c != b'(' && *c != b')')
        .collect();
    let (letters, rest) = match core.iter().take_while(|c| c.is_ascii_uppercase()).count() {
        1 => (&core[..1], &core[1..]),
        2 => (&core[..2], &core[2..]),
        _ => return false,
    };
    if rest.len() != 7 || !rest[..6].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0u32;
    let mut w = 9u32;
    if letters.len() == 1 {
        sum += 36 * w; // a blank first letter counts 36
        w -= 1;
    }
    for &c in letters {
        sum += letter_value(c).unwrap_or(0) * w;
        w -= 1;
    }
    for &c in &rest[..6] {
        sum += u32::from(c - b'0') * w;
        w -= 1;
    }
    let check = match rest[6] {
        b'A' => 10,
        c @ b'0'..=b'9' => u32::from(c - b'0'),
        _ => return false,
    };
    (sum + check).is_multiple_of(11)
}

/// A Taiwan national identification number (or the new-style resident certificate number):
/// a letter, `1`/`2` (or `8`/`9`), 7 digits and a check digit.
pub fn tw_id(s: &[u8]) -> bool {
    const CODES: [u32; 26] = [
        10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32,
        30, 31, 33,
    ];
    if s.len() != 10 || !s[0].is_ascii_uppercase() || !matches!(s[1], b'1' | b'2' | b'8' | b'9') {
        return false;
    }
    if !s[1..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let code = CODES[usize::from(s[0] - b'A')];
    let mut sum = code / 10 + (code % 10) * 9;
    for (i, &c) in s[1..9].iter().enumerate() {
        sum += u32::from(c - b'0') * (8 - i as u32);
    }
    sum += u32::from(s[9] - b'0');
    sum.is_multiple_of(10)
}

/// Travel documents recognised by their format alone (there is no public check digit), for
/// an upper-case candidate: returns the rule id.
pub fn travel_document(s: &[u8]) -> Option<&'static str> {
    let n = s.len();
    let digits = |r: &[u8]| !r.is_empty() && r.iter().all(u8::is_ascii_digit);
    let letter_no_io = |c: u8| c.is_ascii_uppercase() && c != b'I' && c != b'O';
    match s.first()? {
        b'E' if n == 9 && (digits(&s[1..]) || (letter_no_io(s[1]) && digits(&s[2..]))) => {
            Some("pi.cn-passport")
        }
        b'G' if n == 9 && digits(&s[1..]) => Some("pi.cn-passport"),
        b'H' | b'M' if (n == 9 || n == 11) && digits(&s[1..]) => Some("pi.hk-macau-permit"),
        b'C' if n == 9 && (digits(&s[1..]) || (letter_no_io(s[1]) && digits(&s[2..]))) => {
            Some("pi.cn-hk-macau-travel-permit")
        }
        b'L' if n == 9 && digits(&s[1..]) => Some("pi.cn-taiwan-travel-permit"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a valid 18-digit ID from 17 digits.
    fn id(first17: &str) -> String {
        let c = gb11643_check_char(first17.as_bytes()).unwrap();
        format!("{first17}{}", c as char)
    }

    #[test]
    fn resident_ids() {
        // The GB 11643 example number.
        assert!(cn_resident_id_18(b"11010519491231002X"));
        assert!(cn_resident_id_18(b"11010519491231002x"));
        assert!(
            !cn_resident_id_18(b"110105194912310021"),
            "wrong check digit"
        );
        let ok = id("44030420000229123");
        assert!(cn_resident_id_18(ok.as_bytes()), "leap day 2000");
        let bad_date = id("44030420010229123");
        assert!(!cn_resident_id_18(bad_date.as_bytes()), "2001-02-29");
        let bad_prov = id("99030419900101123");
        assert!(!cn_resident_id_18(bad_prov.as_bytes()));
        assert!(cn_resident_id_15(b"110105491231002"));
        assert!(!cn_resident_id_15(b"110105491331002"));
    }

    #[test]
    fn cards() {
        assert!(luhn(b"4111111111111111"));
        assert!(!luhn(b"4111111111111112"));
        assert_eq!(bank_card(b"4111111111111111"), Some("visa"));
        assert_eq!(bank_card(b"6212345678901232"), Some("unionpay"));
        assert_eq!(bank_card(b"6212345678901234"), None);
        assert_eq!(bank_card(b"378282246310005"), Some("amex"));
        assert_eq!(bank_card(b"5555555555554444"), Some("mastercard"));
    }

    #[test]
    fn phones() {
        assert!(cn_mobile(b"13812345678"));
        assert!(cn_mobile(b"19912345678"));
        assert!(!cn_mobile(b"12012345678"));
        assert!(!cn_mobile(b"15412345678"));
        assert!(cn_landline(b"01062345678"));
        assert!(cn_landline(b"075528345678"));
        assert!(cn_landline(b"05718234567"));
        assert!(
            !cn_landline(b"01012345678"),
            "local numbers do not start with 1"
        );
        assert!(!cn_landline(b"0106234567"));
    }

    #[test]
    fn hk_tw_ids() {
        assert!(hk_id(b"A123456(3)"));
        assert!(hk_id(b"A1234563"));
        assert!(!hk_id(b"A123456(4)"));
        assert!(tw_id(b"A123456789"));
        assert!(!tw_id(b"A123456788"));
    }

    #[test]
    fn travel_documents() {
        assert_eq!(travel_document(b"E12345678"), Some("pi.cn-passport"));
        assert_eq!(travel_document(b"EA1234567"), Some("pi.cn-passport"));
        assert_eq!(travel_document(b"EI1234567"), None);
        assert_eq!(travel_document(b"H12345678"), Some("pi.hk-macau-permit"));
        assert_eq!(
            travel_document(b"C12345678"),
            Some("pi.cn-hk-macau-travel-permit")
        );
        assert_eq!(
            travel_document(b"L12345678"),
            Some("pi.cn-taiwan-travel-permit")
        );
        assert_eq!(travel_document(b"X12345678"), None);
    }
}
