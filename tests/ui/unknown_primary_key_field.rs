use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(primary_key(tenant, numbr))]
struct Invoice {
    tenant: i32,
    number: String,
}

fn main() {}
