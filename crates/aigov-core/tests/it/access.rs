use aigov_core::access::{MATRIX, Perm, Role, allowed};

#[test]
fn matrix_lists_every_permission_once() {
    for p in Perm::ALL {
        assert_eq!(MATRIX.iter().filter(|(q, _)| *q == p).count(), 1, "{p:?}");
    }
}

#[test]
fn auditor_reads_everything_and_changes_nothing() {
    for p in Perm::ALL {
        assert_eq!(allowed(Role::Auditor, p), !p.is_write(), "{p:?}");
    }
    assert!(
        !allowed(Role::Viewer, Perm::AuditRead),
        "viewers do not read the audit log"
    );
}

#[test]
fn admin_covers_every_role_and_coverage_follows_the_matrix() {
    for r in Role::ALL {
        assert!(Role::Admin.covers(r), "{r}");
        assert!(r.covers(r));
    }
    assert!(Role::RiskManager.covers(Role::Contributor));
    assert!(Role::RiskManager.covers(Role::Viewer));
    assert!(!Role::Contributor.covers(Role::RiskManager));
    assert!(
        !Role::Viewer.covers(Role::Auditor),
        "viewers may not mint audit-reading tokens"
    );
    assert!(!Role::RiskManager.covers(Role::Admin));
    for r in Role::ALL {
        assert_eq!(Role::parse(r.as_str()), Some(r));
    }
    assert!("root".parse::<Role>().unwrap_err().contains("risk_manager"));
}
