//! Many-to-many changes are recorded on the parent with exactly the keys added and removed.
#![allow(clippy::unwrap_used)]
// `diesel::table!` generates undocumented public items.
#![allow(missing_docs)]

mod common;

use auditlog_diesel::{
    many_to_many, Action, AuditContext, AuditError, Auditable, AuditedConnection, LinkChanges,
    LogEntry,
};
use common::{contracts, Contract, NewContract, TestDb};
use diesel::prelude::*;

diesel::table! {
    service_tiers (id) {
        id -> Integer,
        name -> Text,
    }
}

diesel::table! {
    contract_tiers (contract_id, tier_id) {
        contract_id -> Integer,
        tier_id -> Integer,
    }
}

#[derive(Debug, Clone, Queryable, Insertable, Auditable)]
#[diesel(table_name = service_tiers)]
struct ServiceTier {
    id: i32,
    name: String,
}

many_to_many! {
    /// The service tiers a contract includes.
    struct ContractTiers {
        relation: "service_tiers",
        join: contract_tiers,
        parent: Contract { id } => contract_id: i32,
        child: ServiceTier => tier_id: i32,
    }
}

fn setup<C: Connection>(conn: &mut C)
where
    diesel::query_builder::SqlQuery: diesel::query_dsl::methods::ExecuteDsl<C>,
{
    for sql in [
        "CREATE TABLE service_tiers (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "CREATE TABLE contract_tiers (contract_id INTEGER NOT NULL, tier_id INTEGER NOT NULL, \
         PRIMARY KEY (contract_id, tier_id))",
        "INSERT INTO service_tiers (id, name) VALUES (1, 'Basic'), (2, 'Gold'), (3, 'Support'), \
         (4, 'Backup'), (5, 'Edge')",
    ] {
        diesel::sql_query(sql).execute(conn).unwrap();
    }
}

fn tiers_of<C>(conn: &mut C, contract: i32) -> Vec<i32>
where
    C: diesel::connection::LoadConnection,
    diesel::dsl::Order<
        diesel::dsl::Filter<
            diesel::dsl::Select<contract_tiers::table, contract_tiers::tier_id>,
            diesel::dsl::Eq<contract_tiers::contract_id, i32>,
        >,
        contract_tiers::tier_id,
    >: diesel::query_dsl::LoadQuery<'static, C, i32>,
{
    contract_tiers::table
        .select(contract_tiers::tier_id)
        .filter(contract_tiers::contract_id.eq(contract))
        .order(contract_tiers::tier_id)
        .load(conn)
        .unwrap()
}

fn keys(entry: &LogEntry) -> Vec<String> {
    entry.association.as_ref().unwrap().keys.clone()
}

on_each_backend! {
    fn link_records_only_the_keys_actually_added(conn) {
        setup(conn);
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited.insert_into(contracts::table).values(&NewContract::new("Hosting", 1)).get_result().unwrap();
        audited.set_context(AuditContext::new().actor("alice").correlation_id("req-1"));
        assert_eq!(audited.link(ContractTiers, &c, [1, 2]).unwrap(), vec![1, 2]);
        // Linking 2 again and 3 anew adds only 3.
        assert_eq!(audited.link(ContractTiers, &c, [2, 3]).unwrap(), vec![3]);
        // Linking nothing new writes no entry.
        assert!(audited.link(ContractTiers, &c, [1]).unwrap().is_empty());
        assert_eq!(tiers_of(audited.unaudited(), c.id), [1, 2, 3]);

        let adds = audited.history().of_model(&c).action(Action::M2mAdd).load().unwrap();
        assert_eq!(adds.len(), 2);
        assert_eq!(keys(&adds[0]), ["3"]);
        assert_eq!(keys(&adds[1]), ["1", "2"]);
        let change = adds[1].association.as_ref().unwrap();
        assert_eq!((change.relation.as_str(), change.related_type.as_str()), ("service_tiers", "service_tiers"));
        assert_eq!(adds[1].object.object_key, c.id.to_string());
        assert_eq!(adds[1].context.actor_id.as_deref(), Some("alice"));
        assert_eq!(adds[1].context.correlation_id.as_deref(), Some("req-1"));
        let rendered = adds[1].to_string();
        assert!(rendered.lines().any(|l| l == "  service_tiers: 1, 2"), "{rendered}");
    }
}

on_each_backend! {
    fn unlink_records_only_keys_that_were_linked(conn) {
        setup(conn);
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited.insert_into(contracts::table).values(&NewContract::new("Hosting", 1)).get_result().unwrap();
        audited.link(ContractTiers, &c, [1, 2, 3]).unwrap();
        assert_eq!(audited.unlink(ContractTiers, &c, [2, 5]).unwrap(), vec![2]);
        assert!(audited.unlink(ContractTiers, &c, [5]).unwrap().is_empty());
        assert_eq!(tiers_of(audited.unaudited(), c.id), [1, 3]);
        let removes = audited.history().of_model(&c).action(Action::M2mRemove).load().unwrap();
        assert_eq!(removes.len(), 1);
        assert_eq!(keys(&removes[0]), ["2"]);
    }
}

on_each_backend! {
    fn replace_records_only_the_difference(conn) {
        setup(conn);
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited.insert_into(contracts::table).values(&NewContract::new("Hosting", 1)).get_result().unwrap();
        audited.link(ContractTiers, &c, [1, 2]).unwrap();
        // The client upgrade: adds Support and Backup, drops Basic, keeps Gold.
        let changes = audited.replace_links(ContractTiers, &c, [2, 3, 4]).unwrap();
        assert_eq!(changes, LinkChanges { added: vec![3, 4], removed: vec![1] });
        assert_eq!(tiers_of(audited.unaudited(), c.id), [2, 3, 4]);
        let entries = audited.history().of_model(&c).load().unwrap();
        let (remove, add) = (&entries[0], &entries[1]);
        assert_eq!((add.action, keys(add)), (Action::M2mAdd, vec!["3".to_owned(), "4".to_owned()]));
        assert_eq!((remove.action, keys(remove)), (Action::M2mRemove, vec!["1".to_owned()]));
        assert_eq!(add.context.correlation_id, remove.context.correlation_id, "one operation");
        // Replacing with the same set changes and records nothing.
        let same = audited.replace_links(ContractTiers, &c, [4, 3, 2]).unwrap();
        assert!(same.added.is_empty() && same.removed.is_empty());
        assert_eq!(audited.history().of_model(&c).load().unwrap().len(), entries.len());
    }
}

on_each_backend! {
    fn clear_records_the_keys_linked_before(conn) {
        setup(conn);
        let mut audited = AuditedConnection::wrap(conn);
        let a: Contract = audited.insert_into(contracts::table).values(&NewContract::new("A", 1)).get_result().unwrap();
        let b: Contract = audited.insert_into(contracts::table).values(&NewContract::new("B", 1)).get_result().unwrap();
        audited.link(ContractTiers, &a, [1, 4]).unwrap();
        audited.link(ContractTiers, &b, [1, 2, 3, 5]).unwrap();
        assert_eq!(audited.clear_links(ContractTiers, &a).unwrap(), vec![1, 4]);
        assert!(audited.clear_links(ContractTiers, &a).unwrap().is_empty(), "nothing left");
        assert!(tiers_of(audited.unaudited(), a.id).is_empty());
        assert_eq!(tiers_of(audited.unaudited(), b.id), [1, 2, 3, 5], "other parents untouched");
        let clears = audited.history().action(Action::M2mClear).load().unwrap();
        assert_eq!(clears.len(), 1);
        assert_eq!(keys(&clears[0]), ["1", "4"], "the keys linked before, not the whole tier table");
    }
}

on_each_backend! {
    fn bulk_link_writes_one_entry_per_parent_in_few_statements(conn) {
        setup(conn);
        let rows: Vec<NewContract> = (0..200).map(|i| NewContract::new(&format!("c{i}"), i)).collect();
        let mut audited = AuditedConnection::wrap(conn);
        let contracts: Vec<Contract> = audited.insert_into(contracts::table).values(&rows).get_results().unwrap();
        audited.link(ContractTiers, &contracts[0], [1]).unwrap();
        let statements = std::sync::Arc::new(std::sync::Mutex::new(0usize));
        let counter = std::sync::Arc::clone(&statements);
        audited.unaudited().set_instrumentation(move |event: diesel::connection::InstrumentationEvent<'_>| {
            if let diesel::connection::InstrumentationEvent::StartQuery { .. } = event {
                *counter.lock().unwrap() += 1;
            }
        });
        let links = contracts.iter().flat_map(|c| [(c, 1), (c, 2), (c, 3)]);
        let added = audited.link_many(ContractTiers, links).unwrap();
        assert_eq!(added.len(), 200);
        assert_eq!(added[0].1, vec![2, 3], "the existing link is skipped");
        let statements = *statements.lock().unwrap();
        assert!(statements <= 8, "{statements} statements for 599 links: not one per link");
        let adds = audited.history().action(Action::M2mAdd).load_all().unwrap();
        assert_eq!(adds.len(), 201);
    }
}

on_each_backend! {
    fn failed_association_change_leaves_neither_links_nor_entries(conn) {
        setup(conn);
        conn.reject_log_rows_with_reason_fail_log();
        let mut audited = AuditedConnection::wrap(conn);
        let c: Contract = audited.insert_into(contracts::table).values(&NewContract::new("Hosting", 1)).get_result().unwrap();
        audited.link(ContractTiers, &c, [1]).unwrap();
        audited.set_context(AuditContext::new().reason("fail-log"));
        let err = audited.replace_links(ContractTiers, &c, [2, 3]).unwrap_err();
        assert!(matches!(err, AuditError::Log { .. }), "{err}");
        assert_eq!(tiers_of(audited.unaudited(), c.id), [1], "the replacement was rolled back");
        assert_eq!(audited.history().of_model(&c).load().unwrap().len(), 2, "create and first link");
    }
}
