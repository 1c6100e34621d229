use aigov_core::inventory::*;
use serde_json::json;

fn system() -> SystemInput {
    serde_json::from_value(
        json!({"name": "Customer-service assistant", "system_type": "generative"}),
    )
    .unwrap()
}

#[test]
fn defaults_and_validation_name_each_field() {
    let s = system();
    assert_eq!(s.status, SystemStatus::Active);
    assert!(s.validate().is_empty());
    let bad: SystemInput = serde_json::from_value(json!({
        "name": "", "system_type": "agent", "modalities": ["text", "text"], "sector": "Fin Ance",
        "registered_users": -1, "owner_id": "bob"
    }))
    .unwrap();
    let fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "name",
            "modalities[1]",
            "sector",
            "registered_users",
            "owner_id"
        ]
    );
    let err = serde_json::from_value::<SystemInput>(json!({"name": "x", "system_type": "oracle"}))
        .unwrap_err();
    assert!(err.to_string().contains("oracle"), "{err}");
    let err = serde_json::from_value::<SystemInput>(
        json!({"name": "x", "system_type": "agent", "colour": 1}),
    )
    .unwrap_err();
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn endpoint_credentials_are_checked_and_never_serialised() {
    let e: EndpointInput = serde_json::from_value(json!({
        "name": "prod", "url": "https://api.example.com/v1", "api_style": "openai-chat",
        "credential": {"kind": "stored", "secret": "sk-live-123"}
    }))
    .unwrap();
    assert!(e.validate(false).is_empty());
    let v = to_value(&e);
    assert!(!v.to_string().contains("sk-live-123"), "{v}");
    assert!(!format!("{e:?}").contains("sk-live-123"));
    let bad: EndpointInput = serde_json::from_value(json!({"name": "x", "url": "ftp://x", "api_style": "http-json", "credential": {"kind": "env", "env_var": "lower"}})).unwrap();
    let fields: Vec<String> = bad.validate(false).into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["url", "credential.env_var"]);
    let keep: EndpointInput = serde_json::from_value(json!({"name": "x", "url": "http://h", "api_style": "other", "credential": {"kind": "stored"}})).unwrap();
    assert!(
        keep.validate(true).is_empty(),
        "an edit may keep the stored secret"
    );
    assert_eq!(keep.validate(false)[0].field, "credential.secret");
}

#[test]
fn links_join_only_meaningful_kinds() {
    use LinkRel::*;
    use ObjectKind::*;
    assert!(link_allowed(System, Uses, Model));
    assert!(link_allowed(Model, TrainedOn, Dataset));
    assert!(link_allowed(Dataset, SuppliedBy, Vendor));
    assert!(!link_allowed(Model, Uses, System));
    assert!(!link_allowed(Vendor, SuppliedBy, Vendor));
}

#[test]
fn merge_patch_follows_rfc_7396() {
    let mut t = json!({"a": "b", "c": {"d": "e", "f": "g"}, "x": 1});
    merge_patch(
        &mut t,
        &json!({"a": "z", "c": {"f": null}, "x": null, "n": {"m": 1}}),
    );
    assert_eq!(t, json!({"a": "z", "c": {"d": "e"}, "n": {"m": 1}}));
    let mut t = json!({"a": 1});
    merge_patch(&mut t, &json!({"a": {"b": null, "c": 2}}));
    assert_eq!(t, json!({"a": {"c": 2}}));
}

#[test]
fn dataset_and_model_rules() {
    let d: DatasetInput = serde_json::from_value(json!({"name": "d", "sensitive_personal_information": true, "languages": ["zh", "en", "zh", "x y"]})).unwrap();
    let f: Vec<String> = d.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(f, ["personal_information", "languages[3]", "languages[2]"]);
    let m: ModelInput = serde_json::from_value(
        json!({"name": "m", "artifact_hashes": [{"algorithm": "md5", "value": "ABC"}]}),
    )
    .unwrap();
    let f: Vec<String> = m.validate().into_iter().map(|e| e.field).collect();
    assert_eq!(
        f,
        ["artifact_hashes[0].algorithm", "artifact_hashes[0].value"]
    );
}

#[test]
fn human_refs_round_trip() {
    use aigov_core::ids::*;
    assert_eq!(RefKind::System.format(12), "SYS-12");
    assert_eq!(RefKind::System.parse("sys-12"), Some(12));
    assert_eq!(RefKind::System.parse("SYS-0"), None);
    assert_eq!(RefKind::Model.parse("SYS-3"), None);
    let id = uuid_v7(
        aigov_core::Timestamp::from_unix_millis(1_700_000_000_000),
        [0xab; 10],
    );
    assert!(is_uuid(&id), "{id}");
    assert_eq!(&id[14..15], "7");
    let later = uuid_v7(
        aigov_core::Timestamp::from_unix_millis(1_700_000_000_001),
        [0; 10],
    );
    assert!(later > id, "v7 ids sort by time");
}

#[test]
fn timestamps_are_fixed_width_utc() {
    use aigov_core::Timestamp;
    let t = Timestamp::from_unix_millis(1_763_700_000_123);
    assert_eq!(t.to_rfc3339(), "2025-11-21T04:40:00.123Z");
    assert_eq!(
        Timestamp::parse("2025-11-21T12:40:00.123+08:00").unwrap(),
        t
    );
    assert!(Timestamp::parse("yesterday").is_err());
    assert_eq!(t.plus_seconds(60).seconds_since(t), 60);
}
