//! What kind of event a log entry records.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of event a [`LogEntry`](crate::LogEntry) records.
///
/// Each action has a stable small-integer [code](Action::code) used for storage and a stable
/// lowercase [name](Action::as_str) used in JSON and on screen. Neither ever changes meaning once
/// released; new actions get new codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// An object was created.
    Create,
    /// One or more audited fields of an object changed.
    Update,
    /// An object was deleted.
    Delete,
    /// Someone read a sensitive object.
    Access,
    /// Objects were linked to the object through a many-to-many relation.
    M2mAdd,
    /// Objects were unlinked from the object through a many-to-many relation.
    M2mRemove,
    /// Every link of a many-to-many relation of the object was removed.
    M2mClear,
    /// An application-defined event, such as a failed login or a permission grant.
    Event,
    /// A retention checkpoint: older entries were pruned; records where the chain resumes.
    Checkpoint,
}

impl Action {
    /// Every action, in code order.
    pub const ALL: [Action; 9] = [
        Action::Create,
        Action::Update,
        Action::Delete,
        Action::Access,
        Action::M2mAdd,
        Action::M2mRemove,
        Action::M2mClear,
        Action::Event,
        Action::Checkpoint,
    ];

    /// The stable storage code of this action.
    pub const fn code(self) -> i16 {
        match self {
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
            Action::Access => 3,
            Action::M2mAdd => 4,
            Action::M2mRemove => 5,
            Action::M2mClear => 6,
            Action::Event => 7,
            Action::Checkpoint => 8,
        }
    }

    /// The action stored under `code`, or `None` for a code this version does not know.
    pub fn from_code(code: i16) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.code() == code)
    }

    /// The stable lowercase name of this action, as used in JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
            Action::Access => "access",
            Action::M2mAdd => "m2m_add",
            Action::M2mRemove => "m2m_remove",
            Action::M2mClear => "m2m_clear",
            Action::Event => "event",
            Action::Checkpoint => "checkpoint",
        }
    }

    /// The action named `name` (as returned by [`Action::as_str`]), or `None`.
    pub fn from_name(name: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for action in Action::ALL {
            assert_eq!(Action::from_code(action.code()), Some(action));
            assert_eq!(Action::from_name(action.as_str()), Some(action));
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
        assert_eq!(Action::from_code(99), None);
    }

    #[test]
    fn codes_are_stable() {
        let codes: Vec<i16> = Action::ALL.iter().map(|a| a.code()).collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7, 8]);
    }
}
