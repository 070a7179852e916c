//! Properties of derived `diff` and `snapshot` over generated values: the changed-field set is
//! symmetric and exact, and masked values never leak into any rendering.

use auditlog_diesel::{Auditable, ChangeSet, Masker, MaskingKey, Snapshot};
use proptest::prelude::*;

#[derive(Debug, Clone, Auditable)]
struct Profile {
    id: i64,
    name: String,
    age: Option<i32>,
    score: f64,
    active: bool,
    #[audit(exclude)]
    internal: String,
}

/// Profiles over small domains, so two of them often agree on some fields.
fn profile() -> impl Strategy<Value = Profile> {
    (
        0i64..3,
        "[ab]{0,2}",
        proptest::option::of(0i32..3),
        prop_oneof![Just(0.0), Just(0.5), Just(-0.0), Just(f64::NAN)],
        any::<bool>(),
        "[xy]{0,2}",
    )
        .prop_map(|(id, name, age, score, active, internal)| Profile {
            id,
            name,
            age,
            score,
            active,
            internal,
        })
}

/// The audited fields whose values differ, worked out by hand, in declaration order.
fn expected_changes(a: &Profile, b: &Profile) -> Vec<&'static str> {
    let differs = [
        ("id", a.id != b.id),
        ("name", a.name != b.name),
        ("age", a.age != b.age),
        // The log records floats by their bits: -0.0 differs from 0.0, NaN equals NaN.
        ("score", a.score.to_bits() != b.score.to_bits()),
        ("active", a.active != b.active),
    ];
    differs
        .into_iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| name)
        .collect()
}

fn fields(changes: &ChangeSet) -> Vec<String> {
    changes.fields().map(str::to_owned).collect()
}

proptest! {
    #[test]
    fn changed_field_set_is_symmetric(a in profile(), b in profile()) {
        let masker = Masker::default();
        prop_assert_eq!(fields(&a.diff(&b, &masker)), fields(&b.diff(&a, &masker)));
    }

    #[test]
    fn a_field_is_listed_exactly_when_its_values_differ(a in profile(), b in profile()) {
        let changes = a.diff(&b, &Masker::default());
        prop_assert_eq!(fields(&changes), expected_changes(&a, &b));
        // What the log stores differs for every listed field (compared as text: JSON values
        // compare 0.0 and -0.0 as equal, their text does not).
        for change in &changes.0 {
            prop_assert_ne!(change.before.to_string(), change.after.to_string());
        }
    }

    #[test]
    fn diff_of_any_value_with_itself_is_empty(a in profile()) {
        prop_assert!(a.diff(&a.clone(), &Masker::default()).is_empty());
    }

    #[test]
    fn excluded_field_alone_never_changes_the_diff(a in profile(), internal in "[xy]{0,2}") {
        let b = Profile { internal, ..a.clone() };
        let changes = a.diff(&b, &Masker::default());
        prop_assert!(changes.is_empty(), "{:?} -> {:?}: {:?}", a.internal, b.internal, changes);
    }
}

#[derive(Debug, Clone, Auditable)]
struct Card {
    id: i64,
    holder: String,
    #[audit(mask)]
    cvc_token: String,
    #[audit(mask = "last4")]
    number: String,
    #[audit(mask_with = "length_only")]
    pin_hint: String,
}

/// Keeps only how long the value is.
fn length_only(value: &str) -> String {
    format!("{} characters", value.chars().count())
}

/// Secrets from an alphabet that nothing else in the output uses.
const SECRET: &str = "[QXZJKVW]{8,24}";

fn card() -> impl Strategy<Value = Card> {
    (0i64..3, "[a-z]{1,6}", SECRET, SECRET, SECRET).prop_map(
        |(id, holder, cvc_token, number, pin_hint)| Card {
            id,
            holder,
            cvc_token,
            number,
            pin_hint,
        },
    )
}

fn maskers() -> [Masker; 2] {
    let key = MaskingKey::new(*b"property test masking key 32byte").ok();
    [Masker::default(), Masker::new(key)]
}

fn snapshot_texts(snapshot: &Snapshot) -> [String; 3] {
    [
        snapshot.to_canonical_json(),
        snapshot.to_string(),
        format!("{snapshot:?}"),
    ]
}

fn change_texts(changes: &ChangeSet) -> [String; 3] {
    [
        changes.to_canonical_json(),
        changes.to_string(),
        format!("{changes:?}"),
    ]
}

/// Whether `text` contains any five consecutive characters of `secret`.
fn reveals(text: &str, secret: &str) -> bool {
    let chars: Vec<char> = secret.chars().collect();
    chars
        .windows(5)
        .any(|window| text.contains(&window.iter().collect::<String>()))
}

/// The only part of a `last4` value the log may show.
fn last4(secret: &str) -> String {
    let count = secret.chars().count();
    secret.chars().skip(count.saturating_sub(4)).collect()
}

proptest! {
    #[test]
    fn masked_values_never_appear_in_a_snapshot(value in card()) {
        for masker in maskers() {
            for text in snapshot_texts(&value.snapshot(&masker)) {
                for secret in [&value.cvc_token, &value.number, &value.pin_hint] {
                    prop_assert!(!reveals(&text, secret), "{} in {}", secret, text);
                }
                let shown = format!("****{}", last4(&value.number));
                prop_assert!(text.contains(&shown), "{} not in {}", shown, text);
            }
        }
    }

    #[test]
    fn masked_values_never_appear_in_a_diff(a in card(), b in card()) {
        for masker in maskers() {
            for text in change_texts(&a.diff(&b, &masker)) {
                for value in [&a, &b] {
                    for secret in [&value.cvc_token, &value.number, &value.pin_hint] {
                        prop_assert!(!reveals(&text, secret), "{} in {}", secret, text);
                    }
                }
            }
        }
    }
}
