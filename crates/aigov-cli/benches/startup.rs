//! Process start to exit of `aigov catalog list` (goal, issue 2: < 50 ms). Run with
//! `cargo bench -p aigov-cli`; the binary is built in the bench (release) profile.

use std::process::{Command, Stdio};

use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = env!("CARGO_BIN_EXE_aigov");
    let run = |args: &[&str]| {
        let st = Command::new(exe)
            .args(args)
            .env("AIGOV_DATA_DIR", dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run aigov");
        assert!(st.success());
    };
    let mut g = c.benchmark_group("startup");
    g.sample_size(30);
    g.bench_function("catalog-list", |b| b.iter(|| run(&["catalog", "list"])));
    g.bench_function("catalog-search", |b| {
        b.iter(|| run(&["catalog", "search", "数据泄露"]))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
