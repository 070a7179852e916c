use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(exclude)]
struct Customer {
    id: i64,
}

fn main() {}
