use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Setting {
    name: String,
    value: String,
}

fn main() {}
