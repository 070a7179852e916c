use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit]
    name: String,
}

fn main() {}
