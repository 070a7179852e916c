use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(maks)]
    tax_id: String,
}

fn main() {}
