use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(mask)]
    #[audit(mask = "last4")]
    card_number: String,
}

fn main() {}
