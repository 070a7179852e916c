//! Audit logging for Diesel (work in progress).

pub use auditlog_core::*;
pub use auditlog_derive::Auditable;

/// Maps a Diesel table to the model whose changes are audited through it. Implemented by
/// `#[derive(Auditable)]` for the table named in `#[diesel(table_name = ...)]`.
pub trait AuditedTable {
    /// The audited model loaded from this table.
    type Model: Auditable;
}

/// Support for generated code. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::AuditedTable;
    pub use auditlog_core::__private::*;
}
