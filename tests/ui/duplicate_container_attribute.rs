use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(table = "customers", table = "clients")]
struct Customer {
    id: i64,
}

fn main() {}
