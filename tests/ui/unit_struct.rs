use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Marker;

fn main() {}
