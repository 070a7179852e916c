use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    id: i64,
    name: String,
    #[audit(rename = "name")]
    display_name: String,
}

fn main() {}
