//! `#[audit(mask)]`, `#[audit(mask = "last4")]` and `#[audit(mask_with = "...")]`: a masked
//! field's change is recorded, its value never is.

use auditlog_diesel::{Auditable, ChangeSet, MaskKind, Masker, MaskingKey, Snapshot};
use serde_json::json;

#[derive(Debug, Clone, Auditable)]
struct Customer {
    id: i64,
    name: String,
    #[audit(mask)]
    tax_id: String,
    #[audit(mask = "last4")]
    card_number: String,
    #[audit(mask_with = "masks::email_domain")]
    email: String,
}

mod masks {
    /// Keeps only the domain of an e-mail address.
    pub(crate) fn email_domain(email: &str) -> String {
        match email.split_once('@') {
            Some((_, domain)) => format!("***@{domain}"),
            None => "***".to_owned(),
        }
    }
}

const TAX_ID: &str = "DE-TAXID-98765";
const CARD: &str = "4111222233334444";
const EMAIL: &str = "grace.hopper@example.com";

fn customer() -> Customer {
    Customer {
        id: 1,
        name: "Grace".into(),
        tax_id: TAX_ID.into(),
        card_number: CARD.into(),
        email: EMAIL.into(),
    }
}

fn changed_customer() -> Customer {
    Customer {
        tax_id: "DE-TAXID-11111".into(),
        card_number: "5500666677778888".into(),
        email: "g.hopper@navy.example".into(),
        ..customer()
    }
}

fn keyed_masker() -> Masker {
    let masker = Masker::new(MaskingKey::new(*b"a test masking key, 32 bytes ok!").ok());
    assert!(masker.has_key(), "test key rejected");
    masker
}

/// The JSON, `Display` and `Debug` text of a snapshot.
fn snapshot_texts(snapshot: &Snapshot) -> [String; 3] {
    [
        snapshot.to_canonical_json(),
        snapshot.to_string(),
        format!("{snapshot:?}"),
    ]
}

/// The JSON, `Display` and `Debug` text of a change set.
fn change_texts(changes: &ChangeSet) -> [String; 3] {
    [
        changes.to_canonical_json(),
        changes.to_string(),
        format!("{changes:?}"),
    ]
}

/// Asserts that no text reveals a masked value, beyond the last four card digits.
fn assert_nothing_revealed(texts: &[String], secrets: &[&str]) {
    for text in texts {
        for secret in secrets {
            assert!(!text.contains(secret), "{secret} revealed in {text}");
            let without_last4 = &secret[..secret.len() - 4];
            assert!(!text.contains(without_last4), "{secret} revealed in {text}");
        }
        assert!(!text.contains("grace.hopper"), "{text}");
        assert!(!text.contains("g.hopper"), "{text}");
    }
}

#[test]
fn masked_values_never_appear_in_snapshot_json_display_or_debug() {
    for masker in [Masker::default(), keyed_masker()] {
        let snapshot = customer().snapshot(&masker);
        let texts = snapshot_texts(&snapshot);
        assert_nothing_revealed(&texts, &[TAX_ID, CARD, EMAIL]);
        assert!(texts[0].contains(r#""value":"Grace""#), "{}", texts[0]);
    }
}

#[test]
fn masked_values_never_appear_in_diff_json_display_or_debug() {
    for masker in [Masker::default(), keyed_masker()] {
        let changes = customer().diff(&changed_customer(), &masker);
        assert_eq!(
            changes.fields().collect::<Vec<_>>(),
            ["tax_id", "card_number", "email"]
        );
        assert_nothing_revealed(
            &change_texts(&changes),
            &[
                TAX_ID,
                "DE-TAXID-11111",
                CARD,
                "5500666677778888",
                EMAIL,
                "g.hopper@navy.example",
            ],
        );
    }
}

#[test]
fn without_a_key_a_masked_value_is_the_placeholder() {
    let snapshot = customer().snapshot(&Masker::default());
    let tax_id = snapshot.get("tax_id").map(|v| (&v.value, v.mask));
    assert_eq!(tax_id, Some((&json!("[masked]"), Some(MaskKind::Redact))));

    let changes = customer().diff(&changed_customer(), &Masker::default());
    let texts = change_texts(&changes);
    assert!(
        texts[0].contains(
            r#"{"after":"[masked]","before":"[masked]","field":"tax_id","mask":"redact"}"#
        ),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("tax_id: [masked] -> [masked] (masked: redact)"),
        "{}",
        texts[1]
    );
}

#[test]
fn with_a_key_a_masked_value_is_a_fingerprint_that_matches_only_the_value() {
    let masker = keyed_masker();
    let changes = customer().diff(&changed_customer(), &masker);
    let change = changes.get("tax_id");
    assert!(change.is_some(), "tax_id change missing: {changes:?}");
    let Some(change) = change else { return };

    for stored in [&change.before, &change.after] {
        let text = stored.as_str().unwrap_or_default();
        assert!(text.starts_with("[masked fp="), "{text}");
    }
    assert_ne!(
        change.before, change.after,
        "different values, different fingerprints"
    );
    assert!(masker.matches(&change.before, &json!(TAX_ID)));
    assert!(masker.matches(&change.after, &json!("DE-TAXID-11111")));
    assert!(!masker.matches(&change.before, &json!("DE-TAXID-11111")));
}

#[test]
fn last4_keeps_only_the_last_four_characters() {
    let snapshot = customer().snapshot(&Masker::default());
    let card = snapshot.get("card_number").map(|v| (&v.value, v.mask));
    assert_eq!(card, Some((&json!("****4444"), Some(MaskKind::Last4))));

    let changes = customer().diff(&changed_customer(), &Masker::default());
    assert!(
        changes
            .to_string()
            .contains("card_number: ****4444 -> ****8888 (masked: last4)"),
        "{changes}"
    );
}

#[test]
fn mask_with_records_what_the_function_returns() {
    let snapshot = customer().snapshot(&Masker::default());
    let email = snapshot.get("email").map(|v| (&v.value, v.mask));
    assert_eq!(
        email,
        Some((&json!("***@example.com"), Some(MaskKind::Custom)))
    );

    let changes = customer().diff(&changed_customer(), &Masker::default());
    assert!(
        changes.to_canonical_json().contains(
            r#"{"after":"***@navy.example","before":"***@example.com","field":"email","mask":"custom"}"#
        ),
        "{changes:?}"
    );
}

#[test]
fn change_to_a_masked_field_is_reported_even_when_the_masked_forms_are_equal() {
    let before = customer();
    let after = Customer {
        tax_id: "DE-TAXID-00000".into(),
        card_number: "4000000000004444".into(),
        email: "someone.else@example.com".into(),
        ..customer()
    };

    let changes = before.diff(&after, &Masker::default());

    assert_eq!(
        changes.fields().collect::<Vec<_>>(),
        ["tax_id", "card_number", "email"]
    );
}

#[derive(Debug, Clone, Auditable)]
struct Shadowing {
    id: i64,
    #[audit(mask_with = "masker")]
    secret: String,
    #[audit(mask_with = "after")]
    other: String,
}

/// Named like a parameter of `Auditable::snapshot`.
fn masker(_: &str) -> &'static str {
    "from the masker function"
}

/// Named like a parameter of `Auditable::diff`.
fn after(_: &str) -> &'static str {
    "from the after function"
}

#[test]
fn mask_with_functions_may_share_names_with_the_trait_parameters() {
    let value = Shadowing {
        id: 1,
        secret: "s3cret-value".into(),
        other: "other-value".into(),
    };
    let snapshot = value.snapshot(&Masker::default());
    assert_eq!(
        snapshot.get("secret").map(|v| &v.value),
        Some(&json!("from the masker function"))
    );
    let changed = Shadowing {
        other: "changed".into(),
        ..value.clone()
    };
    let changes = value.diff(&changed, &Masker::default());
    assert_eq!(
        changes.get("other").map(|c| &c.after),
        Some(&json!("from the after function"))
    );
}
