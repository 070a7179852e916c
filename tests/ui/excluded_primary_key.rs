use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    #[audit(exclude)]
    id: i64,
    name: String,
}

fn main() {}
