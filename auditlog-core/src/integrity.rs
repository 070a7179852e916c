//! Tamper evidence: a keyed hash chain over the log's entries.
//!
//! Every sealed entry stores the MAC of its predecessor (`prev_hash`) and its own MAC
//! (`entry_hash`): HMAC-SHA256, under the key named by its `key_id`, over a canonical,
//! versioned byte encoding of every stored field ([`ChainFields::encode`]) followed by
//! `prev_hash`. Changing, removing, inserting or reordering entries breaks the chain at a
//! point [`ChainVerifier`] reports, and nobody without the key can repair it.
//!
//! The encoding covers the stored text of every column except the row id, which the database
//! assigns: order is proven by the chain itself, so a verifier can tell "two entries swapped"
//! from "an entry changed".

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Error;

/// `prev_hash` of the first entry of a chain that has never been pruned.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The environment variable [`Keyring::from_env`] reads for the current key, as `id:hex`.
pub const INTEGRITY_KEY_ENV: &str = "AUDITLOG_INTEGRITY_KEY";

/// The environment variable [`Keyring::from_env`] reads for retired keys still needed to
/// verify older entries, as comma-separated `id:hex` pairs.
pub const INTEGRITY_OLD_KEYS_ENV: &str = "AUDITLOG_INTEGRITY_OLD_KEYS";

const ENTRY_DOMAIN: &[u8] = b"auditlog/entry/v1\0";
const HEAD_DOMAIN: &[u8] = b"auditlog/head/v1\0";

/// A secret key for the hash chain, with the id entries record so keys can be rotated.
#[derive(Clone)]
pub struct IntegrityKey {
    id: String,
    /// The MAC keyed once; each seal clones it, saving the key schedule per entry.
    keyed: Hmac<Sha256>,
}

impl IntegrityKey {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key named `id` (1 to 32 characters of `[A-Za-z0-9._-]`) with a secret of at least
    /// [`IntegrityKey::MIN_LEN`] bytes.
    pub fn new(id: impl Into<String>, secret: impl Into<Vec<u8>>) -> Result<Self, Error> {
        let id = id.into();
        let secret = secret.into();
        let valid_id = !id.is_empty()
            && id.len() <= 32
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid_id {
            return Err(Error::InvalidKey {
                what: "integrity key",
                reason: "the key id must be 1 to 32 characters of A-Z a-z 0-9 . _ -".into(),
            });
        }
        if secret.len() < Self::MIN_LEN {
            return Err(Error::InvalidKey {
                what: "integrity key",
                reason: format!(
                    "key `{id}`: {} bytes given, at least {} needed",
                    secret.len(),
                    Self::MIN_LEN
                ),
            });
        }
        let keyed = Hmac::<Sha256>::new_from_slice(&secret).map_err(|e| Error::InvalidKey {
            what: "integrity key",
            reason: format!("key `{id}`: {e}"),
        })?;
        Ok(IntegrityKey { id, keyed })
    }

    /// A key from `id:hex` text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let Some((id, hex_secret)) = text.trim().split_once(':') else {
            return Err(Error::InvalidKey {
                what: "integrity key",
                reason: "expected `id:hex`".into(),
            });
        };
        let secret = hex::decode(hex_secret).map_err(|e| Error::InvalidKey {
            what: "integrity key",
            reason: format!("key `{id}` is not valid hex: {e}"),
        })?;
        Self::new(id, secret)
    }

    /// The key's id, recorded in every entry it seals.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn mac(&self, domain: &[u8], message: &[u8]) -> String {
        let mut mac = self.keyed.clone();
        mac.update(domain);
        mac.update(message);
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for IntegrityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IntegrityKey({}, <redacted>)", self.id)
    }
}

/// The key that seals new entries plus retired keys that still verify older ones.
#[derive(Debug, Clone)]
pub struct Keyring {
    current: IntegrityKey,
    retired: Vec<IntegrityKey>,
}

impl Keyring {
    /// A keyring sealing with `current`.
    pub fn new(current: IntegrityKey) -> Self {
        Keyring {
            current,
            retired: Vec::new(),
        }
    }

    /// Adds a retired key, used only to verify entries it sealed.
    pub fn with_retired(mut self, key: IntegrityKey) -> Self {
        self.retired.push(key);
        self
    }

    /// The keyring described by [`INTEGRITY_KEY_ENV`] and [`INTEGRITY_OLD_KEYS_ENV`];
    /// `Ok(None)` when no current key is set.
    pub fn from_env() -> Result<Option<Self>, Error> {
        let Ok(current) = std::env::var(INTEGRITY_KEY_ENV) else {
            return Ok(None);
        };
        let mut ring = Keyring::new(IntegrityKey::parse(&current)?);
        if let Ok(old) = std::env::var(INTEGRITY_OLD_KEYS_ENV) {
            for part in old.split(',').filter(|p| !p.trim().is_empty()) {
                ring = ring.with_retired(IntegrityKey::parse(part)?);
            }
        }
        Ok(Some(ring))
    }

    /// The sealing key.
    pub fn current(&self) -> &IntegrityKey {
        &self.current
    }

    /// The key with id `id`, current or retired.
    pub fn get(&self, id: &str) -> Option<&IntegrityKey> {
        std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == id)
    }
}

/// The stored values of one entry, as the chain covers them: every column but the id, in a
/// fixed order, JSON columns as their stored canonical text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the log table's columns, documented there
pub struct ChainFields {
    pub logged_at_micros: i64,
    pub action: i16,
    pub object_type: String,
    pub object_key: String,
    pub object_repr: Option<String>,
    pub changes: String,
    pub snapshot: Option<String>,
    pub actor_id: Option<String>,
    pub actor_display: Option<String>,
    pub remote_addr: Option<String>,
    pub remote_port: Option<i32>,
    pub user_agent: Option<String>,
    pub session_id: Option<String>,
    pub correlation_id: Option<String>,
    pub reason: Option<String>,
    pub additional_data: Option<String>,
    pub event_name: Option<String>,
    pub severity: Option<i16>,
    pub details: Option<String>,
}

impl ChainFields {
    /// The canonical encoding, version 1: each field in declaration order, integers as
    /// big-endian bytes, text as a 4-byte big-endian length and its UTF-8 bytes, and every
    /// optional field preceded by a 0 (absent) or 1 (present) byte. Unambiguous: no two
    /// different entries encode to the same bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.changes.len());
        out.extend_from_slice(&self.logged_at_micros.to_be_bytes());
        out.extend_from_slice(&self.action.to_be_bytes());
        text(&mut out, &self.object_type);
        text(&mut out, &self.object_key);
        opt_text(&mut out, &self.object_repr);
        text(&mut out, &self.changes);
        opt_text(&mut out, &self.snapshot);
        opt_text(&mut out, &self.actor_id);
        opt_text(&mut out, &self.actor_display);
        opt_text(&mut out, &self.remote_addr);
        match self.remote_port {
            Some(p) => {
                out.push(1);
                out.extend_from_slice(&p.to_be_bytes());
            }
            None => out.push(0),
        }
        opt_text(&mut out, &self.user_agent);
        opt_text(&mut out, &self.session_id);
        opt_text(&mut out, &self.correlation_id);
        opt_text(&mut out, &self.reason);
        opt_text(&mut out, &self.additional_data);
        opt_text(&mut out, &self.event_name);
        match self.severity {
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&s.to_be_bytes());
            }
            None => out.push(0),
        }
        opt_text(&mut out, &self.details);
        out
    }

    /// The entry's MAC under `key`, chained to `prev_hash`, as 64 hex digits.
    pub fn seal(&self, key: &IntegrityKey, prev_hash: &str) -> String {
        let mut message = self.encode();
        text(&mut message, &key.id);
        text(&mut message, prev_hash);
        key.mac(ENTRY_DOMAIN, &message)
    }
}

fn text(out: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn opt_text(out: &mut Vec<u8>, s: &Option<String>) {
    match s {
        Some(s) => {
            out.push(1);
            text(out, s);
        }
        None => out.push(0),
    }
}

/// The chain head: the last sealed entry, itself sealed so it cannot be rewound to hide the
/// removal of the newest entries (without a copy of an older head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainHead {
    /// The id of the last sealed entry (0 when none).
    pub last_id: i64,
    /// Its `entry_hash` ([`GENESIS_HASH`] when none).
    pub last_hash: String,
    /// The key that sealed the head.
    pub key_id: Option<String>,
    /// The head's MAC.
    pub head_mac: Option<String>,
}

impl ChainHead {
    /// The MAC of a head pointing at `last_id`/`last_hash`.
    pub fn seal(key: &IntegrityKey, last_id: i64, last_hash: &str) -> String {
        let mut message = last_id.to_be_bytes().to_vec();
        text(&mut message, &key.id);
        text(&mut message, last_hash);
        key.mac(HEAD_DOMAIN, &message)
    }

    /// Whether the head's MAC is valid under `keyring` (a never-written head, with no MAC,
    /// is valid only while it points at nothing).
    pub fn is_authentic(&self, keyring: &Keyring) -> bool {
        match (&self.key_id, &self.head_mac) {
            (None, None) => self.last_id == 0 && self.last_hash == GENESIS_HASH,
            (Some(id), Some(mac)) => keyring
                .get(id)
                .is_some_and(|key| &Self::seal(key, self.last_id, &self.last_hash) == mac),
            _ => false,
        }
    }
}

/// One stored entry as the verifier reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEntry {
    /// The row id.
    pub id: i64,
    /// The hashed fields.
    pub fields: ChainFields,
    /// The sealing key's id.
    pub key_id: Option<String>,
    /// The predecessor's hash as stored.
    pub prev_hash: Option<String>,
    /// The entry's own hash as stored.
    pub entry_hash: Option<String>,
}

/// What is wrong at the first broken point of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tampering {
    /// The entry's stored values no longer match its MAC.
    ContentModified,
    /// One or more entries before this one are gone.
    EntryMissing,
    /// The newest entries are gone: the chain ends before the head says it does.
    TailMissing {
        /// The id the head says the chain ends at.
        head_last_id: i64,
    },
    /// This entry was not written by the library (its MAC is invalid and the chain continues
    /// around it).
    EntryInserted,
    /// This entry and the next are in the wrong order.
    OrderChanged,
    /// The entry was sealed with a key the keyring does not hold.
    UnknownKeyId(String),
    /// The entry carries no seal (written without an integrity key configured, or its
    /// seal columns were cleared).
    Unsealed,
    /// The chain head record was modified.
    HeadModified,
}

impl fmt::Display for Tampering {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tampering::ContentModified => f.write_str("content modified: its values do not match its seal"),
            Tampering::EntryMissing => f.write_str("entry missing: the entry before it in the chain is gone"),
            Tampering::TailMissing { head_last_id } => write!(
                f,
                "entries missing at the end: the chain head says the log ends at entry {head_last_id}"
            ),
            Tampering::EntryInserted => f.write_str("entry inserted: not written by the library, the chain continues around it"),
            Tampering::OrderChanged => f.write_str("order changed: this entry and the next are swapped"),
            Tampering::UnknownKeyId(id) => write!(f, "unknown key id `{id}`: the keyring cannot verify it"),
            Tampering::Unsealed => f.write_str("unsealed: the entry carries no integrity seal"),
            Tampering::HeadModified => f.write_str("chain head modified: its seal is invalid"),
        }
    }
}

/// The first broken point of a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The id of the entry where the chain breaks (the head's `last_id` for head problems).
    pub id: i64,
    /// What is wrong there.
    pub tampering: Tampering,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "entry {}: {}", self.id, self.tampering)
    }
}

/// The result of verifying a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries whose seal and link were checked.
    pub entries: u64,
    /// The first entry checked.
    pub first_id: Option<i64>,
    /// The last entry checked.
    pub last_id: Option<i64>,
    /// The first problem found, or `None` when the chain is intact.
    pub broken: Option<Broken>,
}

impl VerifyReport {
    /// Whether the chain is intact.
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks a chain streamed in id order, with constant memory: feed entries to
/// [`push`](ChainVerifier::push), then call [`finish`](ChainVerifier::finish) with the head.
/// It looks one entry ahead, which is what tells an inserted entry from a modified one and a
/// swap from a gap.
#[derive(Debug)]
pub struct ChainVerifier<'k> {
    keyring: &'k Keyring,
    expected_prev: String,
    pending: Option<StoredEntry>,
    report: VerifyReport,
}

impl<'k> ChainVerifier<'k> {
    /// A verifier expecting the first entry to link to `anchor`: [`GENESIS_HASH`], or the last
    /// pruned hash of the newest retention checkpoint.
    pub fn new(keyring: &'k Keyring, anchor: impl Into<String>) -> Self {
        ChainVerifier {
            keyring,
            expected_prev: anchor.into(),
            pending: None,
            report: VerifyReport {
                entries: 0,
                first_id: None,
                last_id: None,
                broken: None,
            },
        }
    }

    /// Whether a problem was found (further entries are then ignored).
    pub fn is_broken(&self) -> bool {
        self.report.broken.is_some()
    }

    /// Feeds the next entry in id order.
    pub fn push(&mut self, entry: StoredEntry) {
        if self.is_broken() {
            return;
        }
        if let Some(current) = self.pending.take() {
            let next = Next {
                prev_hash: entry.prev_hash.as_deref(),
                entry_hash: entry.entry_hash.as_deref(),
            };
            self.check(current, next);
        }
        self.pending = Some(entry);
    }

    /// Checks the last entry against the chain head and returns the report.
    pub fn finish(mut self, head: &ChainHead) -> VerifyReport {
        if !self.is_broken() && !head.is_authentic(self.keyring) {
            self.report.broken = Some(Broken {
                id: head.last_id,
                tampering: Tampering::HeadModified,
            });
        }
        if let Some(last) = self.pending.take() {
            // The head plays the next entry: its hash is what the last entry's must be.
            let next = Next {
                prev_hash: Some(head.last_hash.as_str()),
                entry_hash: None,
            };
            self.check(last, next);
        }
        if !self.is_broken() && self.expected_prev != head.last_hash {
            self.report.broken = Some(Broken {
                id: head.last_id,
                tampering: Tampering::TailMissing {
                    head_last_id: head.last_id,
                },
            });
        }
        self.report
    }

    fn check(&mut self, entry: StoredEntry, next: Next<'_>) {
        if self.is_broken() {
            return;
        }
        let id = entry.id;
        let tampering = self.classify(&entry, next);
        self.report.entries += 1;
        self.report.first_id.get_or_insert(id);
        self.report.last_id = Some(id);
        match tampering {
            None => {
                self.expected_prev = entry.entry_hash.unwrap_or_default();
            }
            Some(tampering) => self.report.broken = Some(Broken { id, tampering }),
        }
    }

    /// What is wrong with `entry`, given the entry after it (or the head, at the end).
    ///
    /// An entry whose seal holds but which does not link to its predecessor is either the
    /// first of two swapped entries (it links to the next one, which links back to the
    /// predecessor), a valid entry replayed out of place (the chain goes around it), or the
    /// first entry after a gap. An entry whose seal fails was either forged (the chain goes
    /// around it) or modified in place.
    fn classify(&self, entry: &StoredEntry, next: Next<'_>) -> Option<Tampering> {
        let (Some(key_id), Some(prev), Some(hash)) =
            (&entry.key_id, &entry.prev_hash, &entry.entry_hash)
        else {
            return Some(Tampering::Unsealed);
        };
        let Some(key) = self.keyring.get(key_id) else {
            return Some(Tampering::UnknownKeyId(key_id.clone()));
        };
        let sealed = &entry.fields.seal(key, prev) == hash;
        let linked = prev == &self.expected_prev;
        let chain_goes_around = next.prev_hash == Some(self.expected_prev.as_str());
        let links_to_next = next.entry_hash == Some(prev.as_str());
        match (sealed, linked) {
            (true, true) => None,
            (true, false) if chain_goes_around && links_to_next => Some(Tampering::OrderChanged),
            (true, false) if chain_goes_around => Some(Tampering::EntryInserted),
            (true, false) => Some(Tampering::EntryMissing),
            (false, _) if chain_goes_around => Some(Tampering::EntryInserted),
            (false, _) => Some(Tampering::ContentModified),
        }
    }
}

/// The entry after the one being checked, as far as classification needs it.
#[derive(Debug, Clone, Copy)]
struct Next<'a> {
    prev_hash: Option<&'a str>,
    entry_hash: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> IntegrityKey {
        IntegrityKey::new(id, [7u8; 32]).unwrap()
    }

    fn fields(n: i64) -> ChainFields {
        ChainFields {
            logged_at_micros: 1_700_000_000_000_000 + n,
            action: 1,
            object_type: "contracts".into(),
            object_key: n.to_string(),
            changes: format!(r#"[{{"after":{n},"before":0,"field":"price"}}]"#),
            actor_id: Some("u-1".into()),
            ..ChainFields::default()
        }
    }

    /// A sealed chain of `n` entries, ids 1..=n, and its head.
    fn chain(ring: &Keyring, n: i64) -> (Vec<StoredEntry>, ChainHead) {
        let mut prev = GENESIS_HASH.to_owned();
        let mut entries = Vec::new();
        for id in 1..=n {
            let f = fields(id);
            let hash = f.seal(ring.current(), &prev);
            entries.push(StoredEntry {
                id,
                fields: f,
                key_id: Some(ring.current().id().to_owned()),
                prev_hash: Some(prev.clone()),
                entry_hash: Some(hash.clone()),
            });
            prev = hash;
        }
        let head = ChainHead {
            last_id: n,
            last_hash: prev.clone(),
            key_id: Some(ring.current().id().to_owned()),
            head_mac: Some(ChainHead::seal(ring.current(), n, &prev)),
        };
        (entries, head)
    }

    fn verify(ring: &Keyring, entries: Vec<StoredEntry>, head: &ChainHead) -> VerifyReport {
        let mut v = ChainVerifier::new(ring, GENESIS_HASH);
        for e in entries {
            v.push(e);
        }
        v.finish(head)
    }

    fn broken(report: &VerifyReport) -> (i64, Tampering) {
        let b = report.broken.clone().unwrap();
        (b.id, b.tampering)
    }

    #[test]
    fn intact_chain_verifies() {
        let ring = Keyring::new(key("k1"));
        let (entries, head) = chain(&ring, 5);
        let report = verify(&ring, entries, &head);
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(
            (report.entries, report.first_id, report.last_id),
            (5, Some(1), Some(5))
        );
    }

    #[test]
    fn each_kind_of_tampering_is_named_at_the_right_entry() {
        let ring = Keyring::new(key("k1"));
        let (entries, head) = chain(&ring, 6);

        let mut modified = entries.clone();
        modified[2].fields.actor_id = Some("u-2".into());
        assert_eq!(
            broken(&verify(&ring, modified, &head)),
            (3, Tampering::ContentModified)
        );

        let mut missing = entries.clone();
        missing.remove(3);
        assert_eq!(
            broken(&verify(&ring, missing, &head)),
            (5, Tampering::EntryMissing)
        );

        let mut tail = entries.clone();
        tail.pop();
        let (id, t) = broken(&verify(&ring, tail, &head));
        assert_eq!((id, t), (6, Tampering::TailMissing { head_last_id: 6 }));

        let mut inserted = entries.clone();
        let mut forged = inserted[2].clone();
        forged.id = 35;
        forged.prev_hash = inserted[2].entry_hash.clone();
        forged.fields.object_key = "forged".into();
        inserted.insert(3, forged);
        assert_eq!(
            broken(&verify(&ring, inserted, &head)),
            (35, Tampering::EntryInserted)
        );

        let mut swapped = entries.clone();
        swapped.swap(1, 2);
        swapped[1].id = 2;
        swapped[2].id = 3;
        assert_eq!(
            broken(&verify(&ring, swapped, &head)),
            (2, Tampering::OrderChanged)
        );

        let mut replayed = entries.clone();
        let mut copy = replayed[1].clone();
        copy.id = 7;
        replayed.push(copy);
        assert_eq!(
            broken(&verify(&ring, replayed, &head)),
            (7, Tampering::EntryInserted)
        );

        let mut unsealed = entries.clone();
        unsealed[0].entry_hash = None;
        assert_eq!(
            broken(&verify(&ring, unsealed, &head)),
            (1, Tampering::Unsealed)
        );
    }

    #[test]
    fn a_wrong_or_unknown_key_never_verifies() {
        let ring = Keyring::new(key("k1"));
        let (entries, head) = chain(&ring, 3);
        let other = Keyring::new(IntegrityKey::new("k1", [9u8; 32]).unwrap());
        assert!(!verify(&other, entries.clone(), &head).is_intact());
        let stranger = Keyring::new(key("k2"));
        let (id, t) = broken(&verify(&stranger, entries, &head));
        assert_eq!((id, t), (1, Tampering::UnknownKeyId("k1".into())));
    }

    #[test]
    fn rotated_keys_keep_old_entries_verifiable() {
        let old = Keyring::new(key("k1"));
        let (entries, head) = chain(&old, 3);
        let rotated =
            Keyring::new(IntegrityKey::new("k2", [1u8; 32]).unwrap()).with_retired(key("k1"));
        assert!(verify(&rotated, entries, &head).is_intact());
    }

    #[test]
    fn head_rewind_or_edit_is_detected() {
        let ring = Keyring::new(key("k1"));
        let (entries, mut head) = chain(&ring, 3);
        head.last_id = 2;
        let (_, t) = broken(&verify(&ring, entries, &head));
        assert_eq!(t, Tampering::HeadModified);
    }

    #[test]
    fn encoding_is_unambiguous_between_absent_and_empty() {
        let mut a = fields(1);
        let mut b = fields(1);
        a.reason = None;
        b.reason = Some(String::new());
        assert_ne!(a.encode(), b.encode());
        a.object_type = "ab".into();
        a.object_key = "c".into();
        b = a.clone();
        b.object_type = "a".into();
        b.object_key = "bc".into();
        assert_ne!(a.encode(), b.encode());
    }

    #[test]
    fn keys_are_validated_and_redacted() {
        assert!(IntegrityKey::new("k1", [0u8; 16]).is_err());
        assert!(IntegrityKey::new("bad id!", [0u8; 32]).is_err());
        let k = IntegrityKey::parse(&format!("k9:{}", "ab".repeat(32))).unwrap();
        assert_eq!(k.id(), "k9");
        assert!(!format!("{k:?}").contains("abab"));
    }
}
