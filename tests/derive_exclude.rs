//! `#[audit(exclude)]`: an excluded field never reaches the log.

use auditlog_diesel::{Auditable, Masker};

#[derive(Debug, Clone, Auditable)]
struct Account {
    id: i64,
    email: String,
    #[audit(exclude)]
    password_hash: String,
    #[audit(exclude)]
    login_count: i64,
}

fn account() -> Account {
    Account {
        id: 3,
        email: "ada@example.com".into(),
        password_hash: "argon2id$v=19$hash-value".into(),
        login_count: 41,
    }
}

/// Every rendering of a snapshot or change set someone might store or print.
fn renderings(json: String, display: String, debug: String) -> [String; 3] {
    [json, display, debug]
}

#[test]
fn excluded_fields_are_absent_from_audited_fields() {
    assert_eq!(Account::AUDITED_FIELDS, ["id", "email"]);
}

#[test]
fn excluded_fields_never_appear_in_a_snapshot() {
    let snapshot = account().snapshot(&Masker::default());

    assert!(snapshot.get("password_hash").is_none());
    assert!(snapshot.get("login_count").is_none());
    for text in renderings(
        snapshot.to_canonical_json(),
        snapshot.to_string(),
        format!("{snapshot:?}"),
    ) {
        assert!(!text.contains("password_hash"), "{text}");
        assert!(!text.contains("argon2id"), "{text}");
        assert!(!text.contains("login_count"), "{text}");
    }
}

#[test]
fn excluded_fields_never_appear_in_a_diff_alongside_audited_changes() {
    let before = account();
    let after = Account {
        email: "ada@example.org".into(),
        password_hash: "argon2id$v=19$another-hash".into(),
        login_count: 42,
        ..account()
    };

    let changes = before.diff(&after, &Masker::default());

    assert_eq!(changes.fields().collect::<Vec<_>>(), ["email"]);
    for text in renderings(
        changes.to_canonical_json(),
        changes.to_string(),
        format!("{changes:?}"),
    ) {
        assert!(!text.contains("password_hash"), "{text}");
        assert!(!text.contains("argon2id"), "{text}");
        assert!(!text.contains("login_count"), "{text}");
    }
}

#[test]
fn change_only_to_excluded_fields_gives_an_empty_diff() {
    let before = account();
    let after = Account {
        password_hash: "argon2id$v=19$rotated".into(),
        login_count: 42,
        ..account()
    };

    assert_ne!(before.password_hash, after.password_hash);
    assert_ne!(before.login_count, after.login_count);

    let changes = before.diff(&after, &Masker::default());

    assert!(changes.is_empty(), "{changes:?}");
}
