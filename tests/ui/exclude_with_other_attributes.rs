use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(exclude, mask)]
    tax_id: String,
    #[audit(exclude)]
    #[audit(mask_with = "hide")]
    email: String,
    #[audit(exclude, rename = "hash")]
    password_hash: String,
}

fn hide(_: &str) -> String {
    String::new()
}

fn main() {}
