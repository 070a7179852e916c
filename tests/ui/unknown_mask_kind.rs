use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Card {
    id: i64,
    #[audit(mask = "first6")]
    number: String,
}

fn main() {}
