use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(primary_key = "name")]
struct Setting {
    name: String,
    value: String,
}

fn main() {}
