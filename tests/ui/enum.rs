use auditlog_diesel::Auditable;

#[derive(Auditable)]
enum Status {
    Draft,
    Active { since: i64 },
}

fn main() {}
