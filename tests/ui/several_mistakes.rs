use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(tabel = "customers")]
struct Customer {
    id: i64,
    #[audit(mask = "last3")]
    card_number: String,
    #[audit(rename = "")]
    name: String,
    #[audit(exclude, exclude)]
    password_hash: String,
}

fn main() {}
