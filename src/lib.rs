//! `auditlog`: the whole audit-log workspace in one package, for the examples and the
//! integration tests at the repository root.
//!
//! Applications depend on [`auditlog_diesel`], which re-exports everything they need.

pub use auditlog_core as core;
pub use auditlog_derive as derive;
pub use auditlog_diesel as diesel;
