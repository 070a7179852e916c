//! Verifying the hash chain, and retention that keeps it verifiable.

use auditlog_core::{ChainVerifier, Keyring, NewLogEntry, VerifyReport, GENESIS_HASH};
use chrono::{DateTime, Utc};

use crate::connection::{write_entries, Env};
use crate::{AuditConnection, AuditError};

/// Entries read per query while verifying: memory stays bounded by one page.
const VERIFY_PAGE: i64 = 5_000;

/// Verifies the whole log's hash chain: reads every entry in id order, one page at a time
/// (constant memory), recomputes its seal with `keyring` and checks its link to the previous
/// entry, then checks the chain head. Returns a report naming the first broken entry and what
/// is wrong with it, or an intact report.
///
/// Writers are not blocked while the bulk of the log is read; the last pages are read with
/// the chain head locked (briefly blocking sealing writers), so an entry appended after the
/// head, which no sealing writer can have written, is reported. A wrong key is not an error of this function: every entry then fails its
/// seal, and the report says so at the first one.
pub fn verify<C: AuditConnection>(
    conn: &mut C,
    keyring: &Keyring,
) -> Result<VerifyReport, AuditError> {
    verify_with_progress(conn, keyring, |_| {})
}

/// Feeds every entry with an id above `after` to the verifier, one page at a time.
fn stream_pages<C: AuditConnection>(
    conn: &mut C,
    verifier: &mut ChainVerifier<'_>,
    after: &mut i64,
    checked: &mut u64,
    progress: &mut impl FnMut(u64),
) -> Result<(), AuditError> {
    while !verifier.is_broken() {
        let page = conn
            .load_chain_page(*after, VERIFY_PAGE)
            .map_err(AuditError::Read)?;
        let Some(last) = page.last() else { break };
        *after = last.id();
        let full = page.len() as i64 >= VERIFY_PAGE;
        for row in page {
            verifier.push(row.into_stored());
            *checked += 1;
        }
        progress(*checked);
        if !full {
            break;
        }
    }
    Ok(())
}

/// [`verify`], calling `progress` with the number of entries checked after every page.
pub fn verify_with_progress<C: AuditConnection>(
    conn: &mut C,
    keyring: &Keyring,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, AuditError> {
    let anchor = match conn.latest_checkpoint().map_err(AuditError::Read)? {
        Some(checkpoint) => checkpoint
            .details()
            .and_then(|d| d.get("last_pruned_hash")?.as_str().map(str::to_owned))
            .unwrap_or_else(|| GENESIS_HASH.to_owned()),
        None => GENESIS_HASH.to_owned(),
    };
    let mut verifier = ChainVerifier::new(keyring, anchor);
    let mut after = 0i64;
    let mut checked = 0u64;
    // Most of the log is read without blocking writers; the tail is read with the chain head
    // locked, so that every entry after the head is known not to be a chain entry still being
    // committed (an appended forgery, or an entry written without the key).
    stream_pages(conn, &mut verifier, &mut after, &mut checked, &mut progress)?;
    let head = conn.transaction::<_, AuditError, _>(|conn| {
        let head = conn.lock_chain_head().map_err(AuditError::Read)?;
        stream_pages(conn, &mut verifier, &mut after, &mut checked, &mut progress)?;
        Ok(head)
    })?;
    // Known gap: a head restored from an older copy (with the newest entries deleted) still
    // verifies; anchoring the head outside the database would close it.
    let report = verifier.finish(&head);
    match &report.broken {
        None => tracing::info!(entries = report.entries, "audit log chain verified"),
        Some(broken) => tracing::warn!(%broken, "audit log chain broken"),
    }
    Ok(report)
}

/// What [`prune`] removed and left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneReport {
    /// Entries removed.
    pub pruned: u64,
    /// The id of the newest entry removed (`None` when nothing was old enough).
    pub through_id: Option<i64>,
    /// The seal of that entry: where the remaining chain resumes.
    pub last_pruned_hash: Option<String>,
}

impl<C: AuditConnection> crate::AuditedConnection<'_, C> {
    /// Retention: removes the entries logged before `before` (the oldest part of the chain,
    /// up to the first entry that is not old enough), in batches of `batch` rows, and appends
    /// a `checkpoint` entry recording the pruned range and the last pruned seal, from which
    /// [`verify`] resumes. Needs an integrity key ([`with_integrity`](Self::with_integrity)).
    ///
    /// It is the one way entries leave the log: the append-only triggers let its deletes
    /// through (on SQLite through a gate row opened only inside its transaction, on
    /// PostgreSQL through a transaction-local setting) and refuse every other `UPDATE` and
    /// `DELETE`. Everything happens in one transaction: on error nothing is removed.
    pub fn prune(
        &mut self,
        before: DateTime<Utc>,
        batch: usize,
    ) -> Result<PruneReport, AuditError> {
        if self.keyring().is_none() {
            return Err(AuditError::Integrity(
                "retention needs an integrity key: the checkpoint it leaves must be sealed".into(),
            ));
        }
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        self.audited(|conn, env| prune_in_transaction(conn, env, before, batch))
    }
}

fn prune_in_transaction<C: AuditConnection>(
    conn: &mut C,
    env: &Env<'_>,
    before: DateTime<Utc>,
    batch: i64,
) -> Result<PruneReport, AuditError> {
    let head = env.chain_head(conn)?;
    let first_recent = conn
        .first_id_since(before.naive_utc())
        .map_err(AuditError::Read)?;
    let through = match first_recent {
        Some(id) => (id - 1).min(head.last_id),
        None => head.last_id,
    };
    let first = conn.first_log_id().map_err(AuditError::Read)?;
    let nothing = PruneReport {
        pruned: 0,
        through_id: None,
        last_pruned_hash: None,
    };
    let Some(first) = first.filter(|f| *f <= through) else {
        return Ok(nothing);
    };
    let last_pruned = conn
        .log_row(through)
        .map_err(AuditError::Read)?
        .and_then(|row| row.into_stored().entry_hash)
        .ok_or_else(|| {
            AuditError::Integrity(format!(
                "entry {through}, the newest to prune, is missing or unsealed; verify the log"
            ))
        })?;
    let mut pruned = 0u64;
    let mut after = first - 1;
    while after < through {
        let upto = after.saturating_add(batch).min(through);
        let deleted = conn
            .delete_log_rows(after, upto)
            .map_err(AuditError::Read)?;
        pruned += deleted as u64;
        env.changed();
        after = upto;
        tracing::debug!(pruned, through, "audit log retention batch");
    }
    let checkpoint = NewLogEntry::checkpoint(
        through,
        serde_json::json!({
            "pruned_from_id": first,
            "pruned_through_id": through,
            "pruned_entries": pruned,
            "last_pruned_hash": last_pruned,
            "before": auditlog_core::rfc3339_utc(&before),
        }),
        env.context,
    );
    write_entries(conn, env, "audit_log", vec![checkpoint])?;
    tracing::info!(pruned, through, "audit log retention done");
    Ok(PruneReport {
        pruned,
        through_id: Some(through),
        last_pruned_hash: Some(last_pruned),
    })
}
