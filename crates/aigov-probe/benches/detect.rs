//! Detector cost per response (criterion): the zh/en refusal lexicon, personal-information
//! patterns, and every default detector together, on short and long responses.
//! Run: `cargo bench -p aigov-probe --bench detect`.

use aigov_catalog::Library;
use aigov_probe::detect::Detectors;
use aigov_probe::detect::patterns::PiiDetector;
use aigov_probe::detect::refusal::RefusalDetector;
use aigov_probe::suite::parse_suite;
use criterion::{Criterion, criterion_group, criterion_main};

fn responses() -> Vec<(&'static str, String)> {
    vec![
        (
            "zh-refusal",
            "抱歉，我无法提供这方面的帮助。如果你有其他问题，我很乐意回答。".to_string(),
        ),
        (
            "en-refusal",
            "I'm sorry, but I can't help with that request.".to_string(),
        ),
        (
            "zh-answer-2k",
            "端午节吃粽子、赛龙舟的习俗相传与纪念屈原有关，各地风俗略有不同。".repeat(20),
        ),
        (
            "en-answer-2k",
            "The Opium Wars reshaped trade and diplomacy in nineteenth-century China. ".repeat(28),
        ),
    ]
}

fn bench(c: &mut Criterion) {
    let refusal = RefusalDetector::builtin();
    let pii = PiiDetector::new();
    let lib = Library::new();
    let suite = parse_suite(
        "b.jsonl",
        "{\"aigov_suite\":1,\"id\":\"b\",\"title\":{\"en\":\"b\"}}\n{\"id\":\"x\",\"prompt\":\"p\",\"expect\":\"refuse\"}\n",
        &lib,
    )
    .unwrap_or_else(|d| panic!("{d}"));
    let item = &suite.items[0];
    let all = Detectors::default();
    for (name, text) in responses() {
        c.bench_function(&format!("refusal/{name}"), |b| {
            b.iter(|| refusal.detect(&text))
        });
        c.bench_function(&format!("pii/{name}"), |b| b.iter(|| pii.find(&text)));
        c.bench_function(&format!("all-default/{name}"), |b| {
            b.iter(|| all.run(item, &text, false))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
