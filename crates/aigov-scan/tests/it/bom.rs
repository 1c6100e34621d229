//! CycloneDX ML-BOM: export from a model directory, import back, validation.

use aigov_scan::bom;
use aigov_scan::model::ModelScanner;

use crate::fixtures;

#[test]
fn export_then_import_round_trip() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("model");
    std::fs::create_dir_all(&m).unwrap();
    let gguf = {
        let mut g = fixtures::Gguf::default()
            .kv_str("general.architecture", "llama")
            .kv_str("general.license", "mit")
            .kv_str("tokenizer.chat_template", "{{ messages[0]['content'] }}")
            .tensor("w", &[32], 0, 0);
        g.data = vec![0u8; 128];
        g.build()
    };
    std::fs::write(m.join("tiny.gguf"), &gguf).unwrap();
    std::fs::write(
        m.join("model.safetensors"),
        fixtures::safetensors(
            r#"{"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}}"#,
            &[0u8; 8],
        ),
    )
    .unwrap();
    std::fs::write(
        m.join("README.md"),
        "---\nlicense: apache-2.0\nbase_model: org/base\ndatasets:\n  - org/data\n---\n",
    )
    .unwrap();
    std::fs::write(m.join("evil.pkl"), fixtures::p0_os_system()).unwrap();
    std::fs::write(
        d.path().join("train.jsonl"),
        "{\"text\": \"a\"}\n{\"text\": \"b\"}\n",
    )
    .unwrap();

    let input = bom::collect(
        &[m.clone(), d.path().join("train.jsonl")],
        &ModelScanner::default(),
    )
    .unwrap();
    assert_eq!(input.data.len(), 1);
    assert_eq!(input.data[0].records, Some(2));
    let b = bom::export(&input, "2025-01-01T00:00:00Z", "0.1.0");
    assert_eq!(b["specVersion"], "1.6");
    assert_eq!(b["metadata"]["timestamp"], "2025-01-01T00:00:00Z");
    let comps = b["components"].as_array().unwrap();
    let gg = comps.iter().find(|c| c["name"] == "tiny.gguf").unwrap();
    assert_eq!(gg["type"], "machine-learning-model");
    assert_eq!(gg["licenses"][0]["license"]["id"], "MIT");
    assert_eq!(
        gg["modelCard"]["modelParameters"]["architectureFamily"],
        "llama"
    );
    assert_eq!(gg["hashes"][0]["alg"], "SHA-256");
    let st = comps
        .iter()
        .find(|c| c["name"] == "model.safetensors")
        .unwrap();
    assert_eq!(
        st["licenses"][0]["license"]["id"], "Apache-2.0",
        "from the model card"
    );
    assert_eq!(st["pedigree"]["ancestors"][0]["name"], "org/base");
    assert_eq!(
        st["modelCard"]["modelParameters"]["datasets"][0]["name"],
        "org/data"
    );
    let data = comps.iter().find(|c| c["type"] == "data").unwrap();
    assert_eq!(data["name"], "train.jsonl");
    let vulns = b["vulnerabilities"].as_array().unwrap();
    let crit = vulns
        .iter()
        .find(|v| v["ratings"][0]["severity"] == "critical")
        .unwrap();
    assert_eq!(crit["id"], "pickle.global.critical");
    let evil = comps.iter().find(|c| c["name"] == "evil.pkl").unwrap();
    assert_eq!(crit["affects"][0]["ref"], evil["bom-ref"]);
    // Deterministic: the same inputs give the same serial number.
    let again = bom::export(&input, "2025-01-01T00:00:00Z", "0.1.0");
    assert_eq!(again["serialNumber"], b["serialNumber"]);

    let text = serde_json::to_string_pretty(&b).unwrap();
    let s = bom::import(&text).unwrap();
    assert_eq!(s.spec_version, "1.6");
    assert_eq!(s.models.len(), 3);
    assert_eq!(s.datasets.len(), 1);
    assert_eq!(s.datasets[0].records, Some(2));
    let g = s.models.iter().find(|x| x.name == "tiny.gguf").unwrap();
    assert_eq!(g.format.as_deref(), Some("gguf"));
    assert_eq!(g.licenses, vec!["MIT"]);
    assert_eq!(g.architecture.as_deref(), Some("llama"));
    assert_eq!(g.parameters, Some(32));
    assert!(g.sha256.as_ref().is_some_and(|h| h.len() == 64));
    let e = s.models.iter().find(|x| x.name == "evil.pkl").unwrap();
    assert_eq!(e.findings.get("critical"), Some(&1));
    assert_eq!(s.vulnerabilities.get("critical"), Some(&1));
    assert_eq!(s.tools, vec!["aigov 0.1.0"]);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}
