use auditlog_diesel::Auditable;
use diesel::prelude::*;

diesel::table! {
    invoices (tenant, number) {
        tenant -> Integer,
        number -> Text,
    }
}

#[derive(Queryable, Auditable)]
#[diesel(table_name = invoices, primary_key(tenant, invoice_number))]
struct Invoice {
    tenant: i32,
    number: String,
}

fn main() {}
