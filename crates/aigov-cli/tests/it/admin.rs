//! `aigov serve`, `user`, `token`, `audit`, `backup`, `restore` end to end.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{aigov, fails, json, ok};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn http(addr: &str, req: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

#[test]
fn serve_prints_the_url_and_first_admin_then_answers_and_stops_cleanly() {
    let d = tmp();
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            d.path().to_str().unwrap(),
            "serve",
            "--bind",
            "127.0.0.1:0",
        ])
        .env_remove("AIGOV_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut password, mut addr) = (None, None);
    let started = Instant::now();
    let mut line = String::new();
    while addr.is_none() && started.elapsed() < Duration::from_secs(60) {
        line.clear();
        if err.read_line(&mut line).unwrap() == 0 {
            break;
        }
        if let Some(p) = line
            .split("password (shown once, change it after logging in): ")
            .nth(1)
        {
            password = Some(p.trim().to_string());
        }
        if let Some(a) = line.split("serving http://").nth(1) {
            addr = Some(a.split_whitespace().next().unwrap().to_string());
        }
    }
    let (password, addr) = (
        password.expect("first-start password printed"),
        addr.expect("URL printed"),
    );
    assert_eq!(password.len(), 20);
    let health = http(
        &addr,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        health.starts_with("HTTP/1.1 200") && health.contains("\"status\":\"ok\""),
        "{health}"
    );
    let body = format!("{{\"username\":\"admin\",\"password\":\"{password}\"}}");
    let login = http(
        &addr,
        &format!(
            "POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(
        login.starts_with("HTTP/1.1 200") && login.contains("set-cookie: aigov_session="),
        "{login}"
    );
    // SIGTERM: graceful shutdown, exit 0.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    assert!(rest.contains("aigov stopped"), "{rest}");
    assert!(
        !rest.contains(&password),
        "the password is printed only once"
    );
    // A second start does not create another admin or print a password.
    let o = aigov(d.path(), &["user", "list", "--format", "json"]);
    let users = json(&String::from_utf8_lossy(&o.stdout));
    assert_eq!(users.as_array().unwrap().len(), 1);
}

#[test]
fn users_and_tokens_from_the_command_line() {
    let d = tmp();
    let o = aigov(
        d.path(),
        &[
            "user",
            "create",
            "alice",
            "--role",
            "risk_manager",
            "--display-name",
            "Alice",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("password (shown once): "), "{err}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "user",
            "create",
            "bob",
            "--role",
            "viewer",
            "--password-stdin",
        ])
        .env("AIGOV_DATA_DIR", d.path())
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"bobs long password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stderr).contains("shown once"));
    let (_, e) = fails(d.path(), &["user", "create", "bob", "--role", "viewer"]);
    assert!(e.contains("taken"), "{e}");
    let (_, e) = fails(d.path(), &["user", "create", "carol", "--role", "root"]);
    assert!(e.contains("unknown role"), "{e}");
    let list = ok(d.path(), &["user", "list"]);
    assert!(
        list.contains("alice") && list.contains("risk_manager") && list.contains("bob"),
        "{list}"
    );
    // Tokens: the secret goes to stdout once; listing never shows it.
    let secret = ok(
        d.path(),
        &["token", "create", "--user", "bob", "--name", "ci"],
    );
    let secret = secret.trim();
    assert!(secret.starts_with("aigov_"), "{secret}");
    let tl = ok(d.path(), &["token", "list", "--format", "json"]);
    assert!(!tl.contains(secret.rsplit('_').next().unwrap()));
    let v = json(&tl);
    let id = v[0]["id"].as_str().unwrap().to_string();
    let (_, e) = fails(
        d.path(),
        &[
            "token", "create", "--user", "bob", "--name", "up", "--role", "admin",
        ],
    );
    assert!(e.contains("cannot issue"), "{e}");
    ok(d.path(), &["token", "revoke", &id]);
    assert!(
        json(&ok(d.path(), &["token", "list", "--format", "json"]))[0]["revoked_at"].is_string()
    );
    // passwd and disable/enable.
    let o = aigov(d.path(), &["user", "passwd", "bob"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("new password (shown once)"));
    ok(d.path(), &["user", "disable", "bob"]);
    assert!(ok(d.path(), &["user", "list"]).contains("disabled"));
    ok(d.path(), &["user", "enable", "bob"]);
    // Everything above is in the audit log, as the CLI user.
    let v = json(&ok(d.path(), &["audit", "verify", "--format", "json"]));
    assert_eq!(v["ok"], true);
    assert!(v["events"].as_u64().unwrap() >= 7);
    let lines = ok(d.path(), &["audit", "export"]);
    let first = json(lines.lines().next().unwrap());
    assert!(
        first["actor"].as_str().unwrap().starts_with("cli:"),
        "{first}"
    );
    assert_eq!(lines.lines().count() as u64, v["events"].as_u64().unwrap());
}

#[test]
fn audit_verify_names_the_first_broken_link_after_tampering() {
    let d = tmp();
    for u in ["u1", "u2", "u3"] {
        ok(d.path(), &["user", "create", u, "--role", "viewer"]);
    }
    assert!(ok(d.path(), &["audit", "verify"]).starts_with("ok: 3 events"));
    // Edit event 2 directly in the SQLite file with the sqlite3 library (via Python, which
    // ships it), as someone with file access could.
    let db = d.path().join("aigov.db");
    let py = format!(
        "import sqlite3; c = sqlite3.connect({:?}); c.execute(\"UPDATE audit_events SET actor = 'cli:mallory' WHERE seq = 2\"); c.commit()",
        db.display().to_string()
    );
    let st = Command::new("python3").args(["-c", &py]).status();
    if !st.map(|s| s.success()).unwrap_or(false) {
        eprintln!("python3 with sqlite3 is not available; skipping the tamper step");
        return;
    }
    let o = aigov(d.path(), &["audit", "verify"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("BROKEN: audit chain broken at event 2"),
        "{out}"
    );
}

#[test]
fn backup_and_restore_round_trip() {
    let d = tmp();
    ok(d.path(), &["user", "create", "alice", "--role", "admin"]);
    // An evidence file lives outside the database; the backup carries it too.
    let ev = d.path().join("dpia.txt");
    std::fs::write(&ev, "impact assessment").unwrap();
    ok(
        d.path(),
        &["evidence", "add", ev.to_str().unwrap(), "--title", "DPIA"],
    );
    let f = d.path().join("snap.db");
    let o = aigov(d.path(), &["backup", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("copied 1 evidence file(s)"));
    let (_, e) = fails(d.path(), &["backup", f.to_str().unwrap()]);
    assert!(e.contains("exists"), "{e}");
    // Restore into a fresh data directory; refuse a non-empty one and a non-database file.
    let fresh = d.path().join("restored");
    let o = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            fresh.to_str().unwrap(),
            "restore",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("1 user(s)"));
    let users = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            fresh.to_str().unwrap(),
            "user",
            "list",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        json(&String::from_utf8_lossy(&users.stdout))[0]["username"],
        "alice"
    );
    let content = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            fresh.to_str().unwrap(),
            "api",
            "GET",
            "evidence/EV-1/content",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&content.stdout),
        "impact assessment",
        "{}",
        String::from_utf8_lossy(&content.stderr)
    );
    let o = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            fresh.to_str().unwrap(),
            "restore",
            f.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("empty data directory")
    );
    let junk = d.path().join("junk.db");
    std::fs::write(&junk, "not a database at all, clearly").unwrap();
    let other = d.path().join("other");
    let o = Command::new(env!("CARGO_BIN_EXE_aigov"))
        .args([
            "--data-dir",
            other.to_str().unwrap(),
            "restore",
            junk.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        !o.status.success()
            && String::from_utf8_lossy(&o.stderr).contains("not an aigov SQLite backup")
    );
}

#[test]
fn configuration_file_env_and_flags_layer() {
    let d = tmp();
    let cfg = d.path().join("aigov.toml");
    std::fs::write(
        &cfg,
        format!(
            "data_dir = {:?}\n",
            d.path().join("from-file").display().to_string()
        ),
    )
    .unwrap();
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_aigov"));
        c.args(args)
            .env_remove("AIGOV_DATA_DIR")
            .current_dir(d.path());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // The file decides …
    assert!(
        run(
            &[
                "--config",
                cfg.to_str().unwrap(),
                "user",
                "create",
                "ua",
                "--role",
                "viewer"
            ],
            &[]
        )
        .status
        .success()
    );
    assert!(d.path().join("from-file/aigov.db").is_file());
    // … the environment beats the file …
    let env_dir = d.path().join("from-env");
    assert!(
        run(
            &[
                "--config",
                cfg.to_str().unwrap(),
                "user",
                "create",
                "ub",
                "--role",
                "viewer"
            ],
            &[("AIGOV_DATA_DIR", env_dir.to_str().unwrap())]
        )
        .status
        .success()
    );
    assert!(env_dir.join("aigov.db").is_file());
    // … and flags beat both.
    let flag_dir = d.path().join("from-flag");
    assert!(
        run(
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--data-dir",
                flag_dir.to_str().unwrap(),
                "user",
                "create",
                "uc",
                "--role",
                "viewer"
            ],
            &[("AIGOV_DATA_DIR", env_dir.to_str().unwrap())]
        )
        .status
        .success()
    );
    assert!(flag_dir.join("aigov.db").is_file());
    // A bad file is named.
    std::fs::write(&cfg, "data_dir = 3\n").unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "user", "list"], &[]);
    assert!(
        !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("aigov.toml"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
