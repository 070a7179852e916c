//! Entries as Elastic Common Schema documents, for log pipelines and SIEMs.
//!
//! ECS fields where ECS has one (`@timestamp`, `event.*`, `user.*`, `source.*`,
//! `user_agent.original`, `message`); the rest of the entry under `auditlog.*`, with the
//! library's own names and JSON shapes (the same as `history --json`).

use auditlog_diesel::{rfc3339_utc, Action, LogEntry};
use serde_json::{json, Map, Value};

/// The ECS version the documents follow.
const ECS_VERSION: &str = "8.11.0";

/// One entry as an ECS document.
pub(crate) fn document(entry: &LogEntry) -> Value {
    let ctx = &entry.context;
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), json!(rfc3339_utc(&entry.timestamp)));
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    doc.insert("message".into(), json!(message(entry)));
    doc.insert("event".into(), event(entry));

    let mut user = Map::new();
    insert_opt(&mut user, "id", &ctx.actor_id);
    insert_opt(&mut user, "name", &ctx.actor_display);
    if !user.is_empty() {
        doc.insert("user".into(), Value::Object(user));
    }
    if let Some(ip) = ctx.remote_addr {
        let mut source = Map::new();
        source.insert("ip".into(), json!(ip.to_string()));
        if let Some(port) = ctx.remote_port {
            source.insert("port".into(), json!(port));
        }
        doc.insert("source".into(), Value::Object(source));
    }
    if let Some(agent) = &ctx.user_agent {
        doc.insert("user_agent".into(), json!({ "original": agent }));
    }
    doc.insert("auditlog".into(), auditlog_fields(entry));
    Value::Object(doc)
}

/// `event.*`: what happened. `event.action` is the event's own name for security events
/// (`login_failed`) and the action otherwise (`update`, `m2m_add`, `access`).
fn event(entry: &LogEntry) -> Value {
    let action = match (&entry.event, entry.action) {
        (Some(event), Action::Event) => event.name.clone(),
        _ => entry.action.as_str().to_owned(),
    };
    let mut event = Map::new();
    event.insert("kind".into(), json!("event"));
    event.insert("dataset".into(), json!("auditlog"));
    event.insert("id".into(), json!(entry.id.to_string()));
    event.insert("action".into(), json!(action));
    event.insert("category".into(), json!([category(entry)]));
    event.insert("type".into(), json!([event_type(entry.action)]));
    if let Some(e) = &entry.event {
        event.insert("severity".into(), json!(e.severity.code()));
    }
    insert_opt(&mut event, "reason", &entry.context.reason);
    Value::Object(event)
}

/// ECS `event.category`: data changes and accesses are `database`, security events `iam`
/// (the closest allowed value for logins and role changes), retention `configuration`.
fn category(entry: &LogEntry) -> &'static str {
    match entry.action {
        Action::Event => "iam",
        Action::Checkpoint => "configuration",
        _ => "database",
    }
}

/// ECS `event.type` for an action.
fn event_type(action: Action) -> &'static str {
    match action {
        Action::Create => "creation",
        Action::Update | Action::M2mAdd | Action::M2mRemove | Action::M2mClear => "change",
        Action::Delete | Action::Checkpoint => "deletion",
        Action::Access => "access",
        Action::Event => "info",
    }
}

/// A one-line description: `update contracts 1 by u-1002`. JSON escapes it; it is not for a
/// terminal as it stands.
fn message(entry: &LogEntry) -> String {
    let mut text = match &entry.event {
        Some(event) if entry.action == Action::Event => format!("event {}", event.name),
        _ => entry.action.as_str().to_owned(),
    };
    if !entry.object.object_type.is_empty() {
        text.push_str(&format!(
            " {} {}",
            entry.object.object_type, entry.object.object_key
        ));
    }
    if let Some(actor) = &entry.context.actor_id {
        text.push_str(&format!(" by {actor}"));
    }
    text
}

/// `auditlog.*`: the entry's own fields.
fn auditlog_fields(entry: &LogEntry) -> Value {
    let ctx = &entry.context;
    let mut fields = Map::new();
    fields.insert("id".into(), json!(entry.id));
    fields.insert("action".into(), json!(entry.action.as_str()));
    if !entry.object.object_type.is_empty() {
        let mut object = Map::new();
        object.insert("type".into(), json!(entry.object.object_type));
        object.insert("key".into(), json!(entry.object.object_key));
        insert_opt(&mut object, "repr", &entry.object.object_repr);
        fields.insert("object".into(), Value::Object(object));
    }
    if !entry.changes.is_empty() {
        fields.insert("changes".into(), to_value(&entry.changes));
    }
    if let Some(snapshot) = &entry.snapshot {
        fields.insert("snapshot".into(), to_value(snapshot));
    }
    if let Some(event) = &entry.event {
        fields.insert("event".into(), to_value(event));
    }
    if let Some(association) = &entry.association {
        fields.insert("association".into(), to_value(association));
    }
    insert_opt(&mut fields, "session_id", &ctx.session_id);
    insert_opt(&mut fields, "correlation_id", &ctx.correlation_id);
    if let Some(data) = &ctx.additional_data {
        fields.insert("additional_data".into(), Value::Object(data.clone()));
    }
    Value::Object(fields)
}

fn insert_opt(map: &mut Map<String, Value>, key: &str, value: &Option<String>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), json!(v));
    }
}

/// The library's serde form of a part of an entry (plain data: it cannot fail).
fn to_value<T: serde::Serialize>(part: &T) -> Value {
    serde_json::to_value(part).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use auditlog_diesel::{
        AuditContext, ChangeSet, EventDetails, FieldChange, ObjectRef, Severity,
    };

    fn entry(action: Action) -> LogEntry {
        LogEntry {
            id: 7,
            timestamp: chrono::DateTime::from_timestamp(1_796_000_000, 0).unwrap(),
            action,
            object: ObjectRef {
                object_type: "contracts".into(),
                object_key: "1".into(),
                object_repr: None,
            },
            changes: ChangeSet(vec![FieldChange {
                field: "price".into(),
                before: json!(1),
                after: json!(2),
                mask: None,
            }]),
            snapshot: None,
            event: None,
            association: None,
            context: AuditContext::new()
                .actor("u-1")
                .remote_addr("203.0.113.7:51234".parse().unwrap())
                .user_agent("curl/8")
                .correlation_id("req-1"),
        }
    }

    #[test]
    fn ecs_fields_carry_the_context() {
        let doc = document(&entry(Action::Update));
        assert_eq!(doc["event"]["action"], "update");
        assert_eq!(doc["user"]["id"], "u-1");
        assert_eq!(doc["source"]["ip"], "203.0.113.7");
        assert_eq!(doc["source"]["port"], 51234);
        assert_eq!(doc["user_agent"]["original"], "curl/8");
        assert_eq!(doc["auditlog"]["correlation_id"], "req-1");
        assert_eq!(doc["auditlog"]["changes"][0]["after"], 2);
        assert_eq!(doc["message"], "update contracts 1 by u-1");
    }

    #[test]
    fn security_events_use_their_name_as_the_action() {
        let mut e = entry(Action::Event);
        e.event = Some(EventDetails {
            name: "login_failed".into(),
            severity: Severity::Warning,
            details: None,
        });
        let doc = document(&e);
        assert_eq!(doc["event"]["action"], "login_failed");
        assert_eq!(doc["event"]["severity"], 3);
        assert_eq!(doc["auditlog"]["action"], "event");
    }
}
