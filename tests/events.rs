//! Security and access events are recorded with their context and queryable like changes.
#![allow(clippy::unwrap_used)]

mod common;

use auditlog_diesel::{Action, AuditContext, AuditedConnection, SecurityEvent, Severity};
use common::{contracts, Contract, NewContract};
use serde_json::json;

fn mallory() -> AuditContext {
    AuditContext::new()
        .remote_addr("198.51.100.66:40123".parse().unwrap())
        .user_agent("curl/8.5.0")
        .correlation_id("req-login-77")
}

on_each_backend! {
    fn security_events_are_recorded_with_context_severity_and_details(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        audited.set_context(mallory());
        audited
            .record_event(
                SecurityEvent::new("login_failed")
                    .severity(Severity::Warning)
                    .target_key::<Contract>("alice")
                    .details(json!({"username": "alice", "reason": "bad password"})),
            )
            .unwrap();
        audited.set_context(AuditContext::new().actor("u-1").actor_display("admin@example.com"));
        audited
            .record_event(
                SecurityEvent::new("role_granted")
                    .details(json!({"user": "u-2", "role": "billing"})),
            )
            .unwrap();

        let events = audited.history().action(Action::Event).load().unwrap();
        assert_eq!(events.len(), 2);
        let failed = &events[1];
        let event = failed.event.as_ref().unwrap();
        assert_eq!((event.name.as_str(), event.severity), ("login_failed", Severity::Warning));
        assert_eq!(event.details, Some(json!({"reason": "bad password", "username": "alice"})));
        assert_eq!(failed.context, mallory());
        assert_eq!(failed.object.object_type, "contracts");
        assert_eq!(failed.object.object_key, "alice");
        let granted = &events[0];
        assert_eq!(granted.event.as_ref().unwrap().severity, Severity::Notice, "the default");
        assert_eq!(granted.object.object_type, "", "no target");
        assert!(granted.to_string().contains("[role_granted notice]"), "{granted}");
    }
}

on_each_backend! {
    fn events_are_filterable_by_name_and_minimum_severity(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        for (name, severity) in [
            ("login", Severity::Info),
            ("export", Severity::Notice),
            ("login_failed", Severity::Warning),
            ("login_failed", Severity::Warning),
            ("audit_key_missing", Severity::Critical),
        ] {
            audited.record_event(SecurityEvent::new(name).severity(severity)).unwrap();
        }
        // A data change has no severity and never matches a severity filter.
        audited.insert_into(contracts::table).values(&NewContract::new("A", 1)).execute().unwrap();

        let serious = audited.history().min_severity(Severity::Warning).load().unwrap();
        let names: Vec<_> = serious.iter().map(|e| e.event.as_ref().unwrap().name.clone()).collect();
        assert_eq!(names, ["audit_key_missing", "login_failed", "login_failed"]);
        let failed = audited.history().event_name("login_failed").load().unwrap();
        assert_eq!(failed.len(), 2);
        assert_eq!(audited.history().load().unwrap().len(), 6);
    }
}

on_each_backend! {
    fn accesses_answer_who_looked_at_a_record(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited.insert_into(contracts::table).values(&NewContract::new("Hosting", 1)).get_result().unwrap();
        for (actor, view) in [("u-7", "contract_page"), ("u-9", "pdf_export")] {
            audited.with_context(AuditContext::new().actor(actor), |a| {
                a.record_access(&c, Some(json!({"view": view}))).unwrap();
            });
        }
        let looked = audited.history().of_model(&c).action(Action::Access).load().unwrap();
        let who: Vec<_> = looked.iter().map(|e| e.context.actor_id.clone().unwrap()).collect();
        assert_eq!(who, ["u-9", "u-7"]);
        let e = &looked[1].event.as_ref().unwrap();
        assert_eq!((e.name.as_str(), e.severity), ("access", Severity::Info));
        assert_eq!(e.details, Some(json!({"view": "contract_page"})));
    }
}

on_each_backend! {
    fn an_event_inside_a_rolled_back_transaction_is_gone(conn) {
        let mut audited = AuditedConnection::wrap(conn);
        let result: Result<(), auditlog_diesel::AuditError> = audited.transaction(|tx| {
            tx.record_event(SecurityEvent::new("api_key_created"))?;
            Err(auditlog_diesel::AuditError::Migration("abort".into()))
        });
        assert!(result.is_err());
        assert!(audited.history().load().unwrap().is_empty());
    }
}
