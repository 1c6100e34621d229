//! Model-scanner benchmarks on generated files (nothing committed):
//! - a benign 34 MB pickle of 2,000,000 memoized tuples (10,000,000 opcodes) — the case that
//!   takes picklescan about 10 s and 1.5 GB;
//! - the header check of an 8 GiB sparse safetensors file and an 8 GiB sparse GGUF file.
//!
//! Run: `cargo bench -p aigov-scan --bench model`. Peak memory of the pickle scan is measured
//! in a child process (the bench re-runs itself with `AIGOV_BENCH_RSS=<file>`) and printed as
//! `VmHWM`.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::io::Write;
use std::path::Path;

use aigov_scan::model::ModelScanner;
use criterion::{Criterion, Throughput, criterion_group};

const TUPLES: u32 = 2_000_000;

/// `pickle.dumps([(i, i / 2, True) for i in range(2_000_000)], protocol=4)`, in batches of
/// 1,000 APPENDS as CPython writes them, every tuple memoized.
fn big_pickle(path: &Path) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    w.write_all(&[0x80, 4, b']', 0x94]).unwrap();
    let mut i = 0u32;
    while i < TUPLES {
        w.write_all(b"(").unwrap();
        for _ in 0..1000.min(TUPLES - i) {
            w.write_all(b"J").unwrap();
            w.write_all(&(i as i32).to_le_bytes()).unwrap();
            w.write_all(b"G").unwrap();
            w.write_all(&(f64::from(i) / 2.0).to_be_bytes()).unwrap();
            w.write_all(&[0x88, 0x87, 0x94]).unwrap();
            i += 1;
        }
        w.write_all(b"e").unwrap();
    }
    w.write_all(b".").unwrap();
    w.flush().unwrap();
}

const GIB: u64 = 1 << 30;

/// An 8 GiB safetensors file: 64 tensors of 128 MiB; only the header is written (sparse).
fn sparse_safetensors(path: &Path) {
    let n = 64u64;
    let each = 8 * GIB / n;
    let mut h = String::from("{\"__metadata__\":{\"format\":\"pt\"}");
    for k in 0..n {
        h.push_str(&format!(
            ",\"layer.{k}.weight\":{{\"dtype\":\"F32\",\"shape\":[{},1024],\"data_offsets\":[{},{}]}}",
            each / 4096,
            k * each,
            (k + 1) * each
        ));
    }
    h.push('}');
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&(h.len() as u64).to_le_bytes()).unwrap();
    f.write_all(h.as_bytes()).unwrap();
    f.set_len(8 + h.len() as u64 + 8 * GIB).unwrap();
}

/// An 8 GiB GGUF file: metadata with a vocabulary of 32,000 tokens and 256 Q4_K tensors.
fn sparse_gguf(path: &Path) {
    let s = |v: &mut Vec<u8>, x: &str| {
        v.extend(&(x.len() as u64).to_le_bytes());
        v.extend(x.as_bytes());
    };
    let mut kv = Vec::new();
    s(&mut kv, "general.architecture");
    kv.extend(&8u32.to_le_bytes());
    s(&mut kv, "llama");
    s(&mut kv, "tokenizer.ggml.tokens");
    kv.extend(&9u32.to_le_bytes());
    kv.extend(&8u32.to_le_bytes());
    kv.extend(&32_000u64.to_le_bytes());
    for t in 0..32_000 {
        s(&mut kv, &format!("tok{t}"));
    }
    s(&mut kv, "tokenizer.chat_template");
    kv.extend(&8u32.to_le_bytes());
    s(
        &mut kv,
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}",
    );
    let n = 256u64;
    // Q4_K: 144 bytes per 256 elements; 8 GiB / 256 tensors = 32 MiB each.
    let each = 8 * GIB / n;
    let elements = each / 144 * 256;
    let mut ti = Vec::new();
    for k in 0..n {
        s(&mut ti, &format!("blk.{k}.weight"));
        ti.extend(&2u32.to_le_bytes());
        ti.extend(&4096u64.to_le_bytes());
        ti.extend(&(elements / 4096).to_le_bytes());
        ti.extend(&12u32.to_le_bytes());
        ti.extend(&(k * each).to_le_bytes());
    }
    let mut v = b"GGUF".to_vec();
    v.extend(&3u32.to_le_bytes());
    v.extend(&n.to_le_bytes());
    v.extend(&3u64.to_le_bytes());
    v.extend(kv);
    v.extend(ti);
    let data_start = (v.len() as u64).div_ceil(32) * 32;
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&v).unwrap();
    f.set_len(data_start + n * each).unwrap();
}

fn peak_rss_of_child(file: &Path) -> Option<String> {
    let exe = std::env::current_exe().ok()?;
    let out = std::process::Command::new(exe)
        .env("AIGOV_BENCH_RSS", file)
        .output()
        .ok()?;
    String::from_utf8(out.stdout).ok()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let pkl = dir.path().join("big.pkl");
    big_pickle(&pkl);
    let st = dir.path().join("big.safetensors");
    sparse_safetensors(&st);
    let gg = dir.path().join("big.gguf");
    sparse_gguf(&gg);
    let scanner = ModelScanner::default();

    let r = scanner.scan_file(&pkl);
    assert_eq!(r.format, "pickle");
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let p = r.details.pickle.as_ref().unwrap();
    eprintln!(
        "pickle: {} bytes, {} opcodes; {}",
        r.size,
        p.opcodes,
        peak_rss_of_child(&pkl).unwrap_or_default().trim()
    );
    for f in [&st, &gg] {
        let r = scanner.scan_file(f);
        assert!(r.findings.is_empty(), "{:?}", r.findings);
        let t = r.details.tensors.as_ref().unwrap();
        eprintln!(
            "{}: {} bytes declared, {} tensors, {} bytes on disk",
            r.format,
            r.size,
            t.count,
            std::fs::metadata(f)
                .map(|m| {
                    use std::os::unix::fs::MetadataExt;
                    m.blocks() * 512
                })
                .unwrap_or(0)
        );
    }

    let mut g = c.benchmark_group("model");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(std::fs::metadata(&pkl).unwrap().len()));
    g.bench_function("pickle 34 MB, 10M opcodes", |b| {
        b.iter(|| black_box(scanner.scan_file(&pkl)))
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("safetensors 8 GiB header check", |b| {
        b.iter(|| black_box(scanner.scan_file(&st)))
    });
    g.bench_function("gguf 8 GiB header check (32k-token vocabulary)", |b| {
        b.iter(|| black_box(scanner.scan_file(&gg)))
    });
    g.finish();
}

fn rss_mode() -> bool {
    let Ok(f) = std::env::var("AIGOV_BENCH_RSS") else {
        return false;
    };
    let r = ModelScanner::default().scan_file(Path::new(&f));
    black_box(&r);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM"))
        .unwrap_or("VmHWM: ?");
    println!(
        "peak RSS of a process scanning it: {}",
        hwm.trim_start_matches("VmHWM:").trim()
    );
    true
}

criterion_group!(benches, bench);

fn main() {
    if rss_mode() {
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
