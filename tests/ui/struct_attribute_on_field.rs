use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(repr_display)]
    name: String,
}

fn main() {}
