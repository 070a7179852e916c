use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(crate = "my app::audit")]
struct Customer {
    id: i64,
}

fn main() {}
