use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Account {
    id: i64,
    #[audit(exclude = true)]
    password_hash: String,
}

fn main() {}
