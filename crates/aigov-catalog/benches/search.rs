//! Search over all built-in catalogs. Goal (issue 2): an answer in < 20 ms.

use aigov_catalog::Library;
use aigov_catalog::search::{Query, search};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let lib = Library::builtin().expect("built-ins load");
    let mut g = c.benchmark_group("search");
    for (name, text) in [
        ("zh-term", "数据泄露"),
        ("zh-variant", "训练数据投毒"),
        ("en-phrase", "prompt injection"),
        ("en-two-terms", "supply chain"),
        ("ref", "GOVERN 1.1"),
        ("no-hit", "zzzz-not-a-word"),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                search(
                    &lib,
                    &Query {
                        text,
                        limit: 20,
                        ..Default::default()
                    },
                )
                .len()
            })
        });
    }
    g.finish();
    c.bench_function("load-builtin-library", |b| {
        b.iter(|| Library::builtin().map(|l| l.catalogs().count()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
