//! Diesel's own attributes, of every shape, sit next to `#[audit]` without confusing the derive.

use auditlog_diesel::{Auditable, AuditedTable};
use diesel::prelude::*;

diesel::table! {
    customers (id) {
        id -> BigInt,
        name -> Text,
    }
}

diesel::table! {
    contracts (id) {
        id -> BigInt,
        customer_id -> BigInt,
        #[sql_name = "type"]
        kind -> Text,
        price_cents -> BigInt,
        notes -> Nullable<Text>,
    }
}

diesel::joinable!(contracts -> customers (customer_id));
diesel::allow_tables_to_appear_in_same_query!(contracts, customers);

#[derive(Queryable, Identifiable, Selectable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: i64,
    pub name: String,
}

#[derive(Queryable, Identifiable, Selectable, Associations, AsChangeset, Insertable, Auditable)]
#[diesel(belongs_to(Customer, foreign_key = customer_id))]
#[diesel(table_name = contracts, check_for_backend(diesel::sqlite::Sqlite))]
#[diesel(treat_none_as_null = true)]
#[audit(repr_display)]
pub struct Contract {
    pub id: i64,
    pub customer_id: i64,
    #[diesel(column_name = kind)]
    #[audit(rename = "type")]
    pub contract_kind: String,
    #[diesel(serialize_as = i64, deserialize_as = i64)]
    pub price_cents: i64,
    #[audit(mask)]
    pub notes: Option<String>,
}

impl std::fmt::Display for Contract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "contract #{}", self.id)
    }
}

fn audited_model<T: AuditedTable<Contract>>() {}

fn main() {
    audited_model::<contracts::table>();
    assert_eq!(Contract::OBJECT_TYPE, "contracts");
    assert_eq!(
        Contract::AUDITED_FIELDS,
        ["id", "customer_id", "type", "price_cents", "notes"]
    );
}
