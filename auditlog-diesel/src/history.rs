//! Reading the log: an object's history, an actor's actions, one request's entries.

use auditlog_core::{Action, Auditable, LogEntry, Severity};
use chrono::{DateTime, Utc};

use crate::{AuditConnection, AuditError};

/// The most entries one page may hold.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// The filters of a history query. Built through [`History`].
#[derive(Debug, Clone)]
#[doc(hidden)]
pub struct HistoryFilter {
    pub(crate) object_type: Option<String>,
    pub(crate) object_key: Option<String>,
    pub(crate) actor_id: Option<String>,
    pub(crate) correlation_id: Option<String>,
    pub(crate) actions: Vec<Action>,
    pub(crate) event_name: Option<String>,
    pub(crate) min_severity: Option<Severity>,
    pub(crate) since: Option<DateTime<Utc>>,
    pub(crate) until: Option<DateTime<Utc>>,
    pub(crate) before_id: Option<i64>,
    pub(crate) limit: usize,
}

/// A history query: filters combine with AND; results come newest first (by id), one page at
/// a time, with keyset pagination (pass the last id of a page to [`History::before`] to get
/// the next one, which stays correct while new entries are being written).
///
/// Created by [`AuditedConnection::history`](crate::AuditedConnection::history) or
/// [`History::new`].
///
/// The log table's indexes serve every single filter here with an index range scan that
/// stops after one page, so the first page of an object's history costs the same however
/// large the log grows.
#[derive(Debug)]
pub struct History<'a, C> {
    conn: &'a mut C,
    filter: HistoryFilter,
}

impl<'a, C: AuditConnection> History<'a, C> {
    /// A query over the whole log, 50 entries per page.
    pub fn new(conn: &'a mut C) -> Self {
        History {
            conn,
            filter: HistoryFilter {
                object_type: None,
                object_key: None,
                actor_id: None,
                correlation_id: None,
                actions: Vec::new(),
                event_name: None,
                min_severity: None,
                since: None,
                until: None,
                before_id: None,
                limit: 50,
            },
        }
    }

    /// Entries about one object of model `M`, by its key as text (see
    /// [`Auditable`] for the key format).
    pub fn of<M: Auditable>(self, key: impl Into<String>) -> Self {
        self.object(M::OBJECT_TYPE, key)
    }

    /// Entries about `model`.
    pub fn of_model<M: Auditable>(self, model: &M) -> Self {
        self.object(M::OBJECT_TYPE, model.object_key())
    }

    /// Entries about one object, by object type and key as text.
    pub fn object(mut self, object_type: impl Into<String>, key: impl Into<String>) -> Self {
        self.filter.object_type = Some(object_type.into());
        self.filter.object_key = Some(key.into());
        self
    }

    /// Entries about any object of model `M`.
    pub fn of_type<M: Auditable>(self) -> Self {
        self.object_type(M::OBJECT_TYPE)
    }

    /// Entries about any object of a type given as text.
    pub fn object_type(mut self, object_type: impl Into<String>) -> Self {
        self.filter.object_type = Some(object_type.into());
        self
    }

    /// Entries written by one actor.
    pub fn actor(mut self, actor_id: impl Into<String>) -> Self {
        self.filter.actor_id = Some(actor_id.into());
        self
    }

    /// Entries of one request or operation.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.filter.correlation_id = Some(id.into());
        self
    }

    /// Entries with this action; call again to accept several actions.
    pub fn action(mut self, action: Action) -> Self {
        if !self.filter.actions.contains(&action) {
            self.filter.actions.push(action);
        }
        self
    }

    /// Events (security events and accesses) with this name.
    pub fn event_name(mut self, name: impl Into<String>) -> Self {
        self.filter.event_name = Some(name.into());
        self
    }

    /// Events of at least this severity (data changes have none, so they are left out).
    pub fn min_severity(mut self, severity: Severity) -> Self {
        self.filter.min_severity = Some(severity);
        self
    }

    /// Entries written at or after `t`.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.filter.since = Some(t);
        self
    }

    /// Entries written before `t`.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.filter.until = Some(t);
        self
    }

    /// Entries with an id lower than `id`: the page after the one that ended with `id`.
    pub fn before(mut self, id: i64) -> Self {
        self.filter.before_id = Some(id);
        self
    }

    /// At most `n` entries per page (capped at [`MAX_PAGE_SIZE`]).
    pub fn limit(mut self, n: usize) -> Self {
        self.filter.limit = n.min(MAX_PAGE_SIZE);
        self
    }

    /// Loads one page, newest first.
    pub fn load(self) -> Result<Vec<LogEntry>, AuditError> {
        let rows = self
            .conn
            .load_log_rows(&self.filter)
            .map_err(AuditError::Read)?;
        rows.into_iter().map(|r| r.into_entry()).collect()
    }

    /// Loads every matching entry, page by page, newest first. Memory grows with the result:
    /// prefer [`History::load`] with [`History::before`] for large results.
    pub fn load_all(self) -> Result<Vec<LogEntry>, AuditError> {
        let History { conn, mut filter } = self;
        let page = filter.limit.max(1);
        filter.limit = page;
        let mut all = Vec::new();
        loop {
            let rows = conn.load_log_rows(&filter).map_err(AuditError::Read)?;
            let done = rows.len() < page;
            for row in rows {
                let entry = row.into_entry()?;
                filter.before_id = Some(entry.id);
                all.push(entry);
            }
            if done {
                return Ok(all);
            }
        }
    }
}
