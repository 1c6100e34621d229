use aigov_core::audit::*;
use serde_json::json;

fn chain(n: i64) -> Vec<AuditEvent> {
    let mut prev = GENESIS.to_string();
    (1..=n)
        .map(|seq| {
            let mut e = AuditEvent {
                seq,
                id: format!("id-{seq}"),
                at: format!("2026-01-01T00:00:{:02}.000Z", seq % 60),
                actor: "user:alice".into(),
                action: "system.create".into(),
                object_type: "system".into(),
                object_id: format!("obj-{seq}"),
                before_digest: None,
                after_digest: Some(digest(&json!({"n": seq}))),
                details: json!({"ref": format!("SYS-{seq}"), "b": 1, "a": [1, 2]}),
                prev_hash: prev.clone(),
                hash: String::new(),
            };
            e.hash = e.compute_hash();
            prev = e.hash.clone();
            e
        })
        .collect()
}

fn verify(events: &[AuditEvent], head: (i64, &str)) -> Result<u64, BrokenLink> {
    let mut v = Verifier::new();
    for e in events {
        v.push(e);
    }
    v.finish(head.0, head.1)
}

#[test]
fn canonical_json_sorts_keys_and_strips_space() {
    let v = json!({"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": "é\"q"}});
    assert_eq!(
        canonical_json(&v),
        r#"{"a":{"c":"é\"q","z":[1,{"x":3,"y":2}]},"b":1}"#
    );
    assert_eq!(
        digest(&json!({"a": 1, "b": 2})),
        digest(&json!({"b": 2, "a": 1}))
    );
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn intact_chain_verifies() {
    let c = chain(50);
    let head = c.last().unwrap().hash.clone();
    assert_eq!(verify(&c, (50, &head)), Ok(50));
    assert_eq!(verify(&[], (0, GENESIS)), Ok(0));
}

#[test]
fn each_kind_of_tampering_names_the_first_broken_link() {
    let c = chain(20);
    let head = c.last().unwrap().hash.clone();
    // Edited content.
    let mut edited = c.clone();
    edited[6].actor = "user:mallory".into();
    let b = verify(&edited, (20, &head)).unwrap_err();
    assert_eq!(b.seq, 7);
    assert!(b.reason.contains("edited"), "{b}");
    // Edited and re-hashed: the next link breaks.
    let mut rehashed = c.clone();
    rehashed[6].details = json!({"forged": true});
    rehashed[6].hash = rehashed[6].compute_hash();
    assert_eq!(verify(&rehashed, (20, &head)).unwrap_err().seq, 8);
    // Removed from the middle.
    let mut removed = c.clone();
    removed.remove(9);
    let b = verify(&removed, (20, &head)).unwrap_err();
    assert_eq!(b.seq, 10);
    assert!(b.reason.contains("missing"), "{b}");
    // Removed from the end: the recorded head says so.
    let b = verify(&c[..18], (20, &head)).unwrap_err();
    assert_eq!(b.seq, 19);
    // Appended without updating the head.
    let longer = chain(21);
    assert_eq!(verify(&longer, (20, &head)).unwrap_err().seq, 21);
    // Duplicated.
    let mut dup = c.clone();
    dup.insert(5, c[4].clone());
    assert_eq!(verify(&dup, (20, &head)).unwrap_err().seq, 5);
}

#[test]
fn the_fast_hash_equals_the_generic_definition() {
    for e in chain(5) {
        assert_eq!(
            chain_hash(&e.prev_hash, &e.body()),
            chain_hash_reference(&e.prev_hash, &e.body())
        );
    }
    let tricky = json!({"z": "quote \" and \\ and \n and 中文 and \u{7f}", "a": [1.5, -2, null, true], "m": {"b": {}, "a": []}});
    let e = AuditEvent {
        seq: 42,
        id: "i\"d".into(),
        at: "2026-01-01T00:00:00.000Z".into(),
        actor: "user:名字".into(),
        action: "x.y".into(),
        object_type: "t".into(),
        object_id: "o\u{1}".into(),
        before_digest: Some("b".into()),
        after_digest: None,
        details: tricky.clone(),
        prev_hash: GENESIS.into(),
        hash: String::new(),
    };
    assert_eq!(
        chain_hash(GENESIS, &e.body()),
        chain_hash_reference(GENESIS, &e.body())
    );
    // Verifying raw stored rows agrees with verifying parsed events.
    let c = chain(30);
    let mut v = Verifier::new();
    for e in &c {
        let d = canonical_json(&e.details);
        v.push_raw(&RawEvent {
            body: e.body(),
            details: &d,
            prev_hash: &e.prev_hash,
            hash: &e.hash,
        });
    }
    assert_eq!(v.finish(30, &c[29].hash), Ok(30));
}
