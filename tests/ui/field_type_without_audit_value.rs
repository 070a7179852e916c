use auditlog_diesel::Auditable;

struct Address {
    street: String,
}

#[derive(Auditable)]
struct Customer {
    id: i64,
    address: Address,
}

fn main() {}
