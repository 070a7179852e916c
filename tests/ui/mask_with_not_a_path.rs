use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(mask_with = "|email| email.len()")]
    email: String,
}

fn main() {}
