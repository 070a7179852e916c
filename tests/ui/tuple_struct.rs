use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Price(i64, i64);

fn main() {}
