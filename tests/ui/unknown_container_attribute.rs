use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(table_name = "customers")]
struct Customer {
    id: i64,
}

fn main() {}
