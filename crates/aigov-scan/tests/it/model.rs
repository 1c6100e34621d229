//! The model scanner against generated fixtures: every pickle technique, every container, every
//! format's checks, and truncated or garbage input of every format.

use aigov_scan::model::{FileReport, ModelScanner, Severity};

use crate::fixtures::{self, P};

fn scan(name: &str, data: &[u8]) -> FileReport {
    ModelScanner::default().scan_bytes(name, data)
}

fn rules(r: &FileReport) -> Vec<&str> {
    r.findings.iter().map(|f| f.rule.as_str()).collect()
}

fn has(r: &FileReport, rule: &str) -> bool {
    r.findings.iter().any(|f| f.rule == rule)
}

fn critical_global(r: &FileReport, m: &str, n: &str) -> bool {
    r.findings.iter().any(|f| {
        f.severity == Severity::Critical && f.global.as_ref().is_some_and(|(a, b)| a == m && b == n)
    })
}

#[test]
fn every_malicious_pickle_technique_is_critical() {
    for (what, data, (m, n)) in fixtures::malicious_pickles() {
        let r = scan("x.pkl", &data);
        assert!(critical_global(&r, m, n), "{what}: {:#?}", r.findings);
        assert_eq!(r.worst(), Some(Severity::Critical), "{what}");
        assert!(r.format == "pickle", "{what}: {}", r.format);
    }
}

#[test]
fn findings_carry_offsets_members_and_globals() {
    let r = scan("x.pkl", &fixtures::p0_os_system());
    let f = &r.findings[0];
    assert_eq!(
        (f.rule.as_str(), f.offset, f.member.as_deref()),
        ("pickle.global.critical", Some(0), None)
    );
    assert_eq!(f.global, Some(("os".into(), "system".into())));
    // The getattr chain also shows the call of a computed value.
    let chain = fixtures::malicious_pickles()
        .into_iter()
        .find(|(w, _, _)| *w == "getattr chain")
        .unwrap()
        .1;
    let r = scan("x.pkl", &chain);
    assert!(has(&r, "pickle.call-computed"), "{:#?}", r.findings);
    // A pickle inside bytes is reported with its own member label.
    let inner = fixtures::malicious_pickles()
        .into_iter()
        .find(|(w, _, _)| *w == "pickle in bytes")
        .unwrap()
        .1;
    let r = scan("x.pkl", &inner);
    let f = r
        .findings
        .iter()
        .find(|f| f.severity == Severity::Critical)
        .unwrap();
    assert_eq!(f.member.as_deref(), Some("bytes@2"));
    // PROTO(2) + BINBYTES header(5) = 7, then the inner PROTO(2): GLOBAL at byte 9.
    assert_eq!(f.offset, Some(9));
}

#[test]
fn unresolvable_stack_global_and_extensions() {
    // The module name is the result of a call: the scanner cannot know it.
    let p = P::proto(4)
        .global("builtins", "str")
        .str("o")
        .tuple1()
        .reduce()
        .str("system")
        .stack_global()
        .stop();
    let r = scan("x.pkl", &p);
    assert!(has(&r, "pickle.global.unresolved"), "{:#?}", r.findings);
    let r = scan(
        "x.pkl",
        &P::proto(2).op(0x82).op(1).empty_tuple().reduce().stop(),
    );
    assert!(
        has(&r, "pickle.extension") && has(&r, "pickle.call-computed"),
        "{:#?}",
        r.findings
    );
}

#[test]
fn benign_pickles_are_clean() {
    let r = scan("sd.pkl", &fixtures::torch_state_dict_pickle());
    assert!(
        r.findings.iter().all(|f| f.severity <= Severity::Info),
        "{:#?}",
        r.findings
    );
    assert!(has(&r, "pickle.persistent-id"));
    let data = P::proto(2)
        .empty_dict()
        .binput(0)
        .mark()
        .str("a")
        .int(1)
        .str("b")
        .empty_list()
        .binput(1)
        .mark()
        .int1(1)
        .int1(2)
        .appends()
        .str("c")
        .binget(1)
        .setitems()
        .stop();
    let r = scan("d.pkl", &data);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    // A class of the user's own code is medium (default deny), not critical.
    let r = scan(
        "m.pkl",
        &P::proto(2)
            .global("__main__", "Net")
            .empty_tuple()
            .newobj()
            .stop(),
    );
    assert_eq!(r.worst(), Some(Severity::Medium));
    assert!(has(&r, "pickle.global.unknown"));
}

#[test]
fn allowlist_can_be_extended() {
    let mut s = ModelScanner::default();
    s.allow.allow("__main__.Net").unwrap();
    let r = s.scan_bytes(
        "m.pkl",
        &P::proto(2)
            .global("__main__", "Net")
            .empty_tuple()
            .newobj()
            .stop(),
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
}

#[test]
fn pytorch_zip_legacy_and_nested_archives() {
    let clean = scan(
        "model.pt",
        &fixtures::torch_zip(&fixtures::torch_state_dict_pickle()),
    );
    assert_eq!(clean.format, "pytorch-zip");
    assert!(
        clean.findings.iter().all(|f| f.severity <= Severity::Info),
        "{:#?}",
        clean.findings
    );
    assert_eq!(
        clean
            .details
            .metadata
            .get("pytorch.storages")
            .map(String::as_str),
        Some("1")
    );
    let bad = scan("model.pt", &fixtures::torch_zip(&fixtures::p0_os_system()));
    let f = bad
        .findings
        .iter()
        .find(|f| f.severity == Severity::Critical)
        .unwrap();
    assert_eq!(f.member.as_deref(), Some("archive/data.pkl"));
    // Legacy format: five pickles, the fourth is the model.
    let legacy = scan(
        "old.pth",
        &fixtures::torch_legacy(&fixtures::p0_os_system()),
    );
    assert_eq!(legacy.format, "pytorch-legacy");
    assert!(
        critical_global(&legacy, "os", "system"),
        "{:#?}",
        legacy.findings
    );
    // A zip inside a zip inside a tar.gz.
    let inner = fixtures::zip(&[("payload.pkl", &fixtures::p0_os_system())]);
    let outer = fixtures::zip_deflated(&[("readme.txt", b"hello"), ("inner.zip", &inner)]);
    let tgz = fixtures::gzip(&fixtures::tar(&[("bundle/outer.zip", &outer)]));
    let r = scan("bundle.tar.gz", &tgz);
    let f = r
        .findings
        .iter()
        .find(|f| f.severity == Severity::Critical)
        .unwrap();
    assert_eq!(
        f.member.as_deref(),
        Some("(gzip) > bundle/outer.zip > inner.zip > payload.pkl"),
        "{:#?}",
        r.findings
    );
    // Depth budget: nesting beyond the limit is reported, not followed.
    let mut nested = fixtures::zip(&[("p.pkl", &fixtures::p0_os_system())]);
    for i in 0..8 {
        nested = fixtures::zip(&[(if i % 2 == 0 { "a.zip" } else { "b.zip" }, &nested)]);
    }
    let r = scan("deep.zip", &nested);
    assert!(has(&r, "zip.budget"), "{:#?}", r.findings);
}

#[test]
fn zip_bombs_paths_and_duplicates() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = fixtures::zip_deflated(&[("big.bin", &zeros)]);
    let r = scan("b.zip", &bomb);
    assert!(has(&r, "zip.bomb"), "{:#?}", r.findings);
    let r = scan(
        "p.zip",
        &fixtures::zip(&[("../../etc/cron.d/x", b"x"), ("a", b"1")]),
    );
    assert!(has(&r, "zip.path"), "{:#?}", r.findings);
}

#[test]
fn numpy_object_arrays_npz_and_joblib() {
    let obj = fixtures::npy("|O", "(1,)", &fixtures::p0_os_system());
    let r = scan("a.npy", &obj);
    assert!(
        has(&r, "numpy.object-array") && critical_global(&r, "os", "system"),
        "{:#?}",
        r.findings
    );
    let ok = fixtures::npy("<f4", "(2, 3)", &[0u8; 24]);
    let r = scan("a.npy", &ok);
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.details.tensors.as_ref().unwrap().parameters, 6);
    let short = fixtures::npy("<f4", "(2, 3)", &[0u8; 20]);
    assert!(has(&scan("a.npy", &short), "numpy.size-mismatch"));
    let npz = fixtures::zip(&[("x.npy", &ok), ("y.npy", &obj)]);
    let r = scan("a.npz", &npz);
    assert_eq!(r.format, "npz");
    assert!(critical_global(&r, "os", "system"));
    // joblib: the array bytes sit between opcodes; what follows them is still analysed.
    let benign = fixtures::joblib(P(Vec::new()).str("tail"));
    let r = scan("m.joblib", &benign);
    assert_eq!(r.format, "joblib");
    assert!(
        r.findings.iter().all(|f| f.severity <= Severity::Info),
        "{:#?}",
        r.findings
    );
    let evil = fixtures::joblib(
        P(Vec::new())
            .global("os", "system")
            .str("id")
            .tuple1()
            .reduce(),
    );
    let r = scan("m.joblib", &evil);
    assert!(critical_global(&r, "os", "system"), "{:#?}", r.findings);
    // Compressed joblib (zlib) and gzip.
    let r = scan("m.joblib", &fixtures::zlib(&evil));
    assert!(critical_global(&r, "os", "system"), "{:#?}", r.findings);
    let r = scan("m.pkl.gz", &fixtures::gzip(&fixtures::p0_os_system()));
    assert!(critical_global(&r, "os", "system"));
}

#[test]
fn format_by_content_not_by_name() {
    let r = scan("model.safetensors", &fixtures::p0_os_system());
    assert_eq!(r.format, "pickle");
    assert!(has(&r, "scan.format-mismatch") && critical_global(&r, "os", "system"));
    // A polyglot: a harmless pickle with a zip carrying a malicious pickle appended.
    let mut poly = P::proto(2).empty_dict().stop();
    poly.extend(fixtures::zip(&[("x.pkl", &fixtures::p0_os_system())]));
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("poly.bin");
    std::fs::write(&p, &poly).unwrap();
    let r = ModelScanner::default().scan_file(&p);
    assert!(has(&r, "container.polyglot"), "{:#?}", r.findings);
    assert!(critical_global(&r, "os", "system"), "{:#?}", r.findings);
}

#[test]
fn safetensors_checks() {
    let ok = fixtures::safetensors(
        r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}}"#,
        &[0u8; 24],
    );
    let r = scan("m.safetensors", &ok);
    assert_eq!(r.format, "safetensors");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let t = r.details.tensors.as_ref().unwrap();
    assert_eq!((t.count, t.parameters, t.bytes), (2, 8, 24));
    assert_eq!(
        r.details.metadata.get("format").map(String::as_str),
        Some("pt")
    );
    let cases: &[(&str, usize, &str)] = &[
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
            12,
            "safetensors.overlap",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}"#,
            20,
            "safetensors.gap",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            16,
            "safetensors.gap",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
            8,
            "safetensors.shape-mismatch",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#,
            8,
            "safetensors.out-of-bounds",
        ),
        (
            r#"{"a":{"dtype":"Q9","shape":[2],"data_offsets":[0,8]}}"#,
            8,
            "safetensors.dtype",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
            8,
            "safetensors.duplicate",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[18446744073709551615,2],"data_offsets":[0,8]}}"#,
            8,
            "safetensors.malformed-header",
        ),
        (r#"{"__metadata__":{"x":1}}"#, 0, "safetensors.metadata"),
        (r#"{"a":[1,2]}"#, 0, "safetensors.malformed-header"),
    ];
    for (h, n, rule) in cases {
        let r = scan("m.safetensors", &fixtures::safetensors(h, &vec![0u8; *n]));
        assert!(has(&r, rule), "{rule}: {:#?}", r.findings);
    }
    // Declared header longer than the file.
    let mut big = (1u64 << 30).to_le_bytes().to_vec();
    big.extend(b"{}");
    let r = scan("m.safetensors", &big);
    assert!(r.format != "safetensors" || has(&r, "safetensors.header-too-large"));
}

#[test]
fn gguf_checks_and_chat_templates() {
    let chatml = "{% for m in messages %}{{'<|im_start|>' + m['role'] + '\\n' + m['content'] + '<|im_end|>\\n'}}{% endfor %}";
    let ok = {
        let mut g = fixtures::Gguf::default()
            .kv_str("general.architecture", "llama")
            .kv_str("general.name", "tiny")
            .kv_str("general.license", "apache-2.0")
            .kv_u32("llama.context_length", 2048)
            .kv_str_array("tokenizer.ggml.tokens", &["a", "b", "c"])
            .kv_str("tokenizer.chat_template", chatml)
            .tensor("tok_embd.weight", &[32, 2], 0, 0)
            .tensor("out.weight", &[64], 8, 256);
        g.data = vec![0u8; 256 + 68];
        g.build()
    };
    let r = scan("m.gguf", &ok);
    assert_eq!(r.format, "gguf");
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(
        r.details
            .metadata
            .get("general.license")
            .map(String::as_str),
        Some("apache-2.0")
    );
    assert_eq!(
        r.details
            .metadata
            .get("llama.context_length")
            .map(String::as_str),
        Some("2048")
    );
    assert_eq!(r.details.templates.len(), 1);
    let t = r.details.tensors.as_ref().unwrap();
    assert_eq!((t.count, t.parameters), (2, 128));
    let ssti = fixtures::Gguf::default()
        .kv_str(
            "tokenizer.chat_template",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        )
        .build();
    assert!(has(&scan("m.gguf", &ssti), "template.ssti"));
    let oob = fixtures::Gguf::default()
        .tensor("w", &[1024, 1024], 0, 0)
        .build();
    assert!(has(&scan("m.gguf", &oob), "gguf.tensor-out-of-bounds"));
    let bad = fixtures::Gguf::default()
        .tensor("w", &[1, 1, 1, 1, 1], 0, 0)
        .build();
    assert!(has(&scan("m.gguf", &bad), "gguf.tensor-dims"));
    let unk = fixtures::Gguf::default().tensor("w", &[4], 99, 0).build();
    assert!(has(&scan("m.gguf", &unk), "gguf.tensor-type"));
    let mis = {
        let mut g = fixtures::Gguf::default()
            .tensor("w", &[4], 0, 3)
            .tensor("v", &[4], 0, 0);
        g.data = vec![0u8; 64];
        g.build()
    };
    let r = scan("m.gguf", &mis);
    assert!(
        has(&r, "gguf.tensor-alignment") && has(&r, "gguf.tensor-overlap"),
        "{:#?}",
        r.findings
    );
    // A string length that runs past the file.
    let mut huge = b"GGUF".to_vec();
    huge.extend(&3u32.to_le_bytes());
    huge.extend(&0u64.to_le_bytes());
    huge.extend(&1u64.to_le_bytes());
    huge.extend(&(1u64 << 40).to_le_bytes());
    let r = scan("m.gguf", &huge);
    assert!(
        has(&r, "gguf.budget") || has(&r, "gguf.malformed"),
        "{:#?}",
        r.findings
    );
    // A tokenizer config with a malicious template.
    let cfg = br#"{"chat_template": "{{ cycler.__init__.__globals__.os.popen('id').read() }}"}"#;
    let r = scan("tokenizer_config.json", cfg);
    assert_eq!(r.format, "tokenizer-config");
    assert!(has(&r, "template.ssti"));
}

#[test]
fn keras_and_hdf5() {
    let lambda = br#"{"class_name": "Sequential", "config": {"layers": [{"class_name": "Lambda", "config": {"name": "evil", "function": ["4wEAAAAA", null, null]}}]}, "keras_version": "2.15.0"}"#;
    let k = fixtures::zip_deflated(&[
        ("config.json", lambda),
        ("metadata.json", br#"{"keras_version": "3.3.3"}"#),
    ]);
    let r = scan("m.keras", &k);
    assert_eq!(r.format, "keras");
    assert!(has(&r, "keras.lambda"), "{:#?}", r.findings);
    let module = br#"{"class_name": "Functional", "config": {"layers": [{"class_name": "Activation", "config": {"activation": {"module": "builtins", "class_name": "function", "config": "exec", "registered_name": "function"}}}]}}"#;
    let r = scan(
        "m.keras",
        &fixtures::zip(&[
            ("config.json", module),
            ("model.weights.h5", b"\x89HDF\r\n\x1a\n"),
        ]),
    );
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "keras.module")
        .unwrap();
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.global, Some(("builtins".into(), "exec".into())));
    // HDF5: the config attribute's JSON text after the signature and some binary.
    let mut h5 = b"\x89HDF\r\n\x1a\n".to_vec();
    h5.extend(vec![0u8; 70_000]);
    h5.extend_from_slice(lambda);
    h5.extend(vec![0u8; 100]);
    let r = scan("m.h5", &h5);
    assert_eq!(r.format, "hdf5");
    assert!(has(&r, "keras.lambda"), "{:#?}", r.findings);
    let mut plain = b"\x89HDF\r\n\x1a\n".to_vec();
    plain.extend(vec![1u8; 1000]);
    let r = scan("m.h5", &plain);
    assert_eq!(rules(&r), vec!["hdf5.config-not-found"]);
}

#[test]
fn onnx_external_data() {
    let r = scan("m.onnx", &fixtures::onnx_external("../../../etc/passwd"));
    assert_eq!(r.format, "onnx");
    assert!(has(&r, "onnx.external-data-traversal"), "{:#?}", r.findings);
    assert!(has(&r, "onnx.custom-domain"));
    assert_eq!(
        r.details
            .metadata
            .get("onnx.producer_name")
            .map(String::as_str),
        Some("pytorch")
    );
    let r = scan("m.onnx", &fixtures::onnx_external("/etc/shadow"));
    assert!(has(&r, "onnx.external-data-traversal"));
    // On disk: a missing file, a file that is too short, a link out of the directory.
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("m.onnx");
    std::fs::write(&m, fixtures::onnx_external("weights.bin")).unwrap();
    let r = ModelScanner::default().scan_file(&m);
    assert!(has(&r, "onnx.external-data-missing"), "{:#?}", r.findings);
    std::fs::write(d.path().join("weights.bin"), b"").unwrap();
    let r = ModelScanner::default().scan_file(&m);
    assert!(!has(&r, "onnx.external-data-missing"), "{:#?}", r.findings);
    #[cfg(unix)]
    {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), d.path().join("link.bin"))
            .unwrap();
        std::fs::write(&m, fixtures::onnx_external("link.bin")).unwrap();
        let r = ModelScanner::default().scan_file(&m);
        assert!(has(&r, "onnx.external-data-traversal"), "{:#?}", r.findings);
    }
}

/// Every fixture, truncated everywhere and with garbage appended or flipped in: findings or a
/// clean result, never a panic.
#[test]
fn truncated_and_garbage_input_never_panics() {
    let mut all: Vec<(&str, Vec<u8>)> = vec![
        ("a.pkl", fixtures::torch_state_dict_pickle()),
        (
            "a.pt",
            fixtures::torch_zip(&fixtures::torch_state_dict_pickle()),
        ),
        ("a.pth", fixtures::torch_legacy(&fixtures::p0_os_system())),
        (
            "a.npy",
            fixtures::npy("|O", "(1,)", &fixtures::p0_os_system()),
        ),
        ("a.joblib", fixtures::joblib(P(Vec::new()).str("t"))),
        (
            "a.safetensors",
            fixtures::safetensors(
                r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#,
                &[0u8; 8],
            ),
        ),
        (
            "a.gguf",
            fixtures::Gguf::default()
                .kv_str("general.name", "x")
                .tensor("w", &[4], 0, 0)
                .build(),
        ),
        ("a.onnx", fixtures::onnx_external("x.bin")),
        (
            "a.tar",
            fixtures::tar(&[("x.pkl", &fixtures::p0_os_system())]),
        ),
        ("a.gz", fixtures::gzip(&fixtures::p0_os_system())),
    ];
    for (_, d, _) in fixtures::malicious_pickles() {
        all.push(("m.pkl", d));
    }
    let s = ModelScanner::default();
    let mut rng = aigov_scan::rng::SplitMix64::new(9);
    for (name, data) in &all {
        let step = (data.len() / 40).max(1);
        for cut in (0..data.len()).step_by(step) {
            let _ = s.scan_bytes(name, &data[..cut]);
        }
        for _ in 0..40 {
            let mut d = data.clone();
            for _ in 0..4 {
                let i = rng.below(d.len() as u64) as usize;
                d[i] = rng.next() as u8;
            }
            let _ = s.scan_bytes(name, &d);
        }
        let mut g = data.clone();
        g.extend((0..300).map(|_| rng.next() as u8));
        let _ = s.scan_bytes(name, &g);
    }
    for _ in 0..300 {
        let n = rng.below(600) as usize;
        let d: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let _ = s.scan_bytes("r.bin", &d);
    }
}
