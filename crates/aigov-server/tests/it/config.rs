//! Configuration: the commented reference file stays in step with the code; layering.

use aigov_server::config::{Config, FileConfig, LogFormat};

const EXAMPLE: &str = include_str!("../../../../aigov.example.toml");

#[test]
fn the_reference_config_documents_every_key_and_parses() {
    // Every key appears, set or commented out, and nothing else does.
    let mut documented = Vec::new();
    for line in EXAMPLE.lines() {
        let l = line.trim_start_matches('#').trim();
        if let Some((k, _)) = l.split_once('=') {
            let k = k.trim();
            if !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                documented.push(k.to_string());
            }
        }
    }
    documented.sort();
    documented.dedup();
    let mut keys: Vec<String> = FileConfig::KEYS.iter().map(|k| k.to_string()).collect();
    keys.sort();
    assert_eq!(documented, keys, "aigov.example.toml and FileConfig differ");
    // The active lines parse, with unknown keys refused.
    let parsed = FileConfig::parse(EXAMPLE).unwrap();
    // Uncommenting every example line also parses (the documented values are valid).
    let uncommented: String = EXAMPLE
        .lines()
        .map(|l| {
            let t = l.trim_start_matches('#').trim_start();
            if t.split_once('=')
                .is_some_and(|(k, _)| FileConfig::KEYS.contains(&k.trim()))
            {
                t.to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let full = FileConfig::parse(&uncommented).unwrap();
    assert!(full.database_url.is_some() && full.secret_key.is_some());
    // The defaults the file states are the code's defaults.
    let resolved = parsed.resolve().unwrap();
    let d = Config::default();
    assert_eq!(
        (
            resolved.bind,
            resolved.session_idle_minutes,
            resolved.max_body_bytes
        ),
        (d.bind, d.session_idle_minutes, d.max_body_bytes)
    );
    assert!(
        FileConfig::parse("bind = \"x\"\ncolour = 1\n")
            .unwrap_err()
            .contains("colour")
    );
}

#[test]
fn flags_beat_env_beat_file_beat_defaults() {
    let file = FileConfig::parse(
        "bind = \"127.0.0.1:9000\"\nlog_format = \"json\"\nsession_idle_minutes = 10\n",
    )
    .unwrap();
    let env = FileConfig::from_env(|k| match k {
        "AIGOV_BIND" => Some("127.0.0.1:9100".into()),
        "AIGOV_SESSION_IDLE_MINUTES" => Some("20".into()),
        _ => None,
    })
    .unwrap();
    let flags = FileConfig {
        bind: Some("127.0.0.1:9200".into()),
        ..Default::default()
    };
    let c = file.overlay(env).overlay(flags).resolve().unwrap();
    assert_eq!(c.bind, "127.0.0.1:9200");
    assert_eq!(c.session_idle_minutes, 20);
    assert_eq!(c.log_format, LogFormat::Json);
    assert_eq!(
        c.session_absolute_hours,
        Config::default().session_absolute_hours
    );
    assert!(
        FileConfig::from_env(|k| (k == "AIGOV_SECURE_COOKIES").then(|| "maybe".into())).is_err()
    );
    assert!(
        FileConfig::parse("bind = \"nonsense\"")
            .unwrap()
            .resolve()
            .is_err()
    );
    // Secrets never show in Debug output.
    let c = FileConfig {
        secret_key: Some("c2VjcmV0".into()),
        database_url: Some("postgres://u:pw@h/db".into()),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("c2VjcmV0") && !dbg.contains(":pw@"), "{dbg}");
}
