//! Archives: zip (PyTorch, TorchScript, `.npz`, `.keras`, generic) and tar, with nested
//! archives, and budgets on entries, sizes, compression ratio and depth.
//!
//! Every member is judged by its content, as a top-level file is. Known layouts change only
//! what is expected: the raw tensor storages of a PyTorch archive (`<root>/data/<n>`) are
//! never unpickled by `torch.load`, so they are listed but not parsed.

use std::io::{Read, Seek};

use zip::ZipArchive;

use super::details::Details;
use super::finding::Severity;
use super::scope::Scope;
use super::{Hint, Source, scan_source};

/// The layout of a zip archive.
fn layout(names: &[String]) -> &'static str {
    let has = |n: &str| names.iter().any(|x| x == n);
    let pytorch = names.iter().any(|n| {
        n.ends_with("data.pkl")
            && (has(&format!("{}version", &n[..n.len() - 8]))
                || has(&format!("{}.data/version", &n[..n.len() - 8])))
    });
    if names
        .iter()
        .any(|n| n.contains("/code/") || n.ends_with("constants.pkl"))
    {
        return "torchscript";
    }
    if pytorch {
        return "pytorch-zip";
    }
    if has("config.json") && (has("metadata.json") || has("model.weights.h5")) {
        return "keras";
    }
    let files: Vec<&String> = names.iter().filter(|n| !n.ends_with('/')).collect();
    if !files.is_empty() && files.iter().all(|n| n.ends_with(".npy")) {
        return "npz";
    }
    "zip"
}

fn bad_name(n: &str) -> bool {
    n.starts_with('/')
        || n.starts_with('\\')
        || (n.len() >= 2 && n.as_bytes()[1] == b':')
        || n.split(['/', '\\']).any(|c| c == "..")
}

/// Scans a zip archive. Returns its layout name.
pub fn scan_zip<R: Read + Seek>(
    r: R,
    scope: &mut Scope<'_>,
    details: &mut Details,
) -> &'static str {
    let mut zip = match ZipArchive::new(r) {
        Ok(z) => z,
        Err(e) => {
            scope.report(
                "zip.malformed",
                Severity::Medium,
                None,
                format!("not a readable zip archive: {e}"),
                None,
            );
            return "zip";
        }
    };
    let n = zip.len();
    let limit = n.min(scope.budgets.max_zip_entries);
    if n > limit {
        scope.report(
            "zip.budget",
            Severity::Medium,
            None,
            format!("{n} members; only the first {limit} were scanned"),
            None,
        );
    }
    let mut names = Vec::with_capacity(limit);
    for i in 0..limit {
        let name = match zip.by_index_data(i) {
            Ok(e) => String::from_utf8_lossy(e.name_raw()).into_owned(),
            Err(_) => String::new(),
        };
        names.push(name);
    }
    let kind = layout(&names);
    let storage_prefix = if kind == "pytorch-zip" || kind == "torchscript" {
        names
            .iter()
            .find(|n| n.ends_with("data.pkl"))
            .map(|n| format!("{}data/", &n[..n.len() - 8]))
    } else {
        None
    };
    let mut seen = std::collections::HashSet::new();
    let mut storages = 0u64;
    let mut code_files = 0u64;
    for (i, name) in names.iter().enumerate() {
        let (size, csize, encrypted, is_dir, at) = match zip.by_index_data(i) {
            Ok(e) => (
                e.size(),
                e.compressed_size(),
                e.encrypted(),
                e.is_dir(),
                e.header_start(),
            ),
            Err(err) => {
                scope.report(
                    "zip.malformed",
                    Severity::Medium,
                    None,
                    format!("member {i}: {err}"),
                    None,
                );
                continue;
            }
        };
        if !seen.insert(name.clone()) {
            scope.report(
                "zip.duplicate",
                Severity::Medium,
                Some(at),
                format!("member {name:?} appears twice; tools disagree on which one they read"),
                None,
            );
        }
        if bad_name(name) {
            scope.report("zip.path", Severity::Medium, Some(at), format!("member name {name:?} is absolute or contains `..` (path traversal when extracted)"), None);
        }
        if is_dir {
            continue;
        }
        if let Some(p) = &storage_prefix
            && name.starts_with(p.as_str())
        {
            storages += 1;
            continue;
        }
        if kind == "torchscript" && name.contains("/code/") {
            code_files += 1;
        }
        if encrypted {
            scope.report(
                "zip.encrypted",
                Severity::Medium,
                Some(at),
                format!("member {name:?} is encrypted and was not scanned"),
                None,
            );
            continue;
        }
        if size > scope.budgets.max_member_bytes {
            scope.report(
                "zip.budget",
                Severity::Medium,
                Some(at),
                format!("member {name:?} of {size} bytes exceeds the member budget; not scanned"),
                None,
            );
            continue;
        }
        let ratio_bad =
            size > (1 << 20) && (csize == 0 || size / csize.max(1) > scope.budgets.max_zip_ratio);
        if ratio_bad {
            scope.report(
                "zip.bomb",
                Severity::High,
                Some(at),
                format!(
                    "member {name:?} expands {csize} bytes to {size} (ratio above {}); not scanned",
                    scope.budgets.max_zip_ratio
                ),
                None,
            );
            continue;
        }
        if scope.spent.saturating_add(size) > scope.budgets.max_total_bytes {
            scope.report("zip.budget", Severity::Medium, Some(at), "the total uncompressed budget for this file is spent; remaining members not scanned", None);
            break;
        }
        *scope.spent += size;
        let file = match zip.by_index(i) {
            Ok(f) => f,
            Err(zip::result::ZipError::UnsupportedArchive(m)) => {
                scope.report(
                    "zip.unsupported",
                    Severity::Medium,
                    Some(at),
                    format!("member {name:?}: {m}; not scanned"),
                    None,
                );
                continue;
            }
            Err(zip::result::ZipError::CompressionMethodNotSupported(m)) => {
                scope.report(
                    "zip.unsupported",
                    Severity::Medium,
                    Some(at),
                    format!("member {name:?} uses compression method {m}; not scanned"),
                    None,
                );
                continue;
            }
            Err(e) => {
                scope.report(
                    "zip.malformed",
                    Severity::Medium,
                    Some(at),
                    format!("member {name:?}: {e}"),
                    None,
                );
                continue;
            }
        };
        let hint = Hint {
            hdf5_config_expected: !(kind == "keras" && name.ends_with(".h5")),
        };
        let mut child = scope.child(Some(name), 0);
        let fmt = scan_source(
            Source::Stream(Box::new(file), Some(size)),
            name,
            &mut child,
            details,
            hint,
        );
        let full = child.member.clone().unwrap_or_default();
        details.member(full, &fmt, size);
    }
    if storages > 0 {
        details.meta("pytorch.storages", storages.to_string());
    }
    if code_files > 0 {
        scope.report("torch.torchscript", Severity::Info, None, format!("TorchScript archive with {code_files} code files (TorchScript runs when the model is used)"), None);
    }
    kind
}

/// Whether the head is a tar header (`ustar` magic at offset 257).
pub fn sniff_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

fn octal(b: &[u8]) -> Option<u64> {
    // GNU base-256 for large sizes.
    if b.first().is_some_and(|c| c & 0x80 != 0) {
        let mut v: u64 = u64::from(b[0] & 0x7f);
        for &c in &b[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(c))?;
        }
        return Some(v);
    }
    let s: String = b
        .iter()
        .take_while(|c| **c != 0 && **c != b' ')
        .map(|&c| c as char)
        .collect();
    let s = s.trim();
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Scans a tar stream member by member.
pub fn scan_tar(input: &mut super::io::Input<'_>, scope: &mut Scope<'_>, details: &mut Details) {
    let mut entries = 0usize;
    let mut long_name: Option<String> = None;
    loop {
        let at = input.pos();
        let mut h = [0u8; 512];
        match input.read_exact(&mut h) {
            Ok(()) => {}
            Err(_) => {
                scope.report(
                    "zip.malformed",
                    Severity::Medium,
                    Some(at),
                    "tar archive is truncated",
                    None,
                );
                return;
            }
        }
        if h.iter().all(|&c| c == 0) {
            return;
        }
        let Some(size) = octal(&h[124..136]) else {
            scope.report(
                "zip.malformed",
                Severity::Medium,
                Some(at),
                "tar header has an invalid size",
                None,
            );
            return;
        };
        let raw_name: String = h[..100]
            .iter()
            .take_while(|c| **c != 0)
            .map(|&c| c as char)
            .collect();
        let prefix: String = h[345..500]
            .iter()
            .take_while(|c| **c != 0)
            .map(|&c| c as char)
            .collect();
        let mut name = if prefix.is_empty() {
            raw_name
        } else {
            format!("{prefix}/{raw_name}")
        };
        if let Some(l) = long_name.take() {
            name = l;
        }
        let typ = h[156];
        let padded = size.div_ceil(512) * 512;
        entries += 1;
        if entries > scope.budgets.max_zip_entries {
            scope.report(
                "zip.budget",
                Severity::Medium,
                Some(at),
                "too many tar members; the rest were not scanned",
                None,
            );
            return;
        }
        match typ {
            b'L' if size <= 65536 => {
                let Ok(v) = input.take_vec(size, 65536) else {
                    return;
                };
                long_name = Some(
                    String::from_utf8_lossy(&v)
                        .trim_end_matches('\0')
                        .to_string(),
                );
                if input.skip(padded - size).is_err() {
                    return;
                }
                continue;
            }
            b'0' | 0 | b'7' => {}
            b'1' | b'2' => {
                scope.report("zip.path", Severity::Medium, Some(at), format!("tar member {name:?} is a link (it may point outside the extraction directory)"), None);
                if input.skip(padded).is_err() {
                    return;
                }
                continue;
            }
            _ => {
                if input.skip(padded).is_err() {
                    return;
                }
                continue;
            }
        }
        if bad_name(&name) {
            scope.report("zip.path", Severity::Medium, Some(at), format!("member name {name:?} is absolute or contains `..` (path traversal when extracted)"), None);
        }
        if size > scope.budgets.max_member_bytes
            || scope.spent.saturating_add(size) > scope.budgets.max_total_bytes
        {
            scope.report(
                "zip.budget",
                Severity::Medium,
                Some(at),
                format!("member {name:?} of {size} bytes exceeds the budget; not scanned"),
                None,
            );
            if input.skip(padded).is_err() {
                return;
            }
            continue;
        }
        *scope.spent += size;
        input.push_limit(size);
        {
            let mut child = scope.child(Some(&name), 0);
            let sub = TarMember { input: &mut *input };
            let fmt = scan_source(
                Source::Stream(Box::new(sub), Some(size)),
                &name,
                &mut child,
                details,
                Hint::default(),
            );
            let full = child.member.clone().unwrap_or_default();
            details.member(full, &fmt, size);
        }
        if input.pop_limit().is_err() || input.skip(padded - size).is_err() {
            return;
        }
    }
}

/// A tar member's bytes: the parent stream within its limit.
struct TarMember<'x, 'y> {
    input: &'x mut super::io::Input<'y>,
}

impl Read for TarMember<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.input.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts() {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            layout(&v(&[
                "archive/data.pkl",
                "archive/version",
                "archive/data/0"
            ])),
            "pytorch-zip"
        );
        assert_eq!(
            layout(&v(&[
                "m/data.pkl",
                "m/.data/version",
                "m/code/__torch__/x.py",
                "m/constants.pkl"
            ])),
            "torchscript"
        );
        assert_eq!(
            layout(&v(&["config.json", "metadata.json", "model.weights.h5"])),
            "keras"
        );
        assert_eq!(layout(&v(&["a.npy", "b.npy"])), "npz");
        assert_eq!(layout(&v(&["a.txt"])), "zip");
        assert!(
            bad_name("../x") && bad_name("/etc/passwd") && bad_name("C:\\x") && !bad_name("a/b..c")
        );
        assert_eq!(octal(b"0000644\0"), Some(0o644));
    }
}
