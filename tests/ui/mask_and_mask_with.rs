use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(mask, mask_with = "hide")]
    email: String,
}

fn hide(_: &str) -> String {
    String::new()
}

fn main() {}
