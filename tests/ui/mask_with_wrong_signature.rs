use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(mask_with = "hide_number")]
    email: String,
}

fn hide_number(_: &i64) -> String {
    String::new()
}

fn main() {}
