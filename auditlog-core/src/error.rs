//! Errors of the core model.

/// What went wrong in the core model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A key given to the library is unusable.
    #[error("invalid {what}: {reason}")]
    InvalidKey {
        /// Which key.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// Stored JSON could not be read back.
    #[error("malformed {what} JSON in the log: {reason}")]
    MalformedJson {
        /// Which column.
        what: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A stored action code is not known to this version.
    #[error("unknown action code {0} in the log")]
    UnknownAction(i16),
}
