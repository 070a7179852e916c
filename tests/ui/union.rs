use auditlog_diesel::Auditable;

#[derive(Auditable)]
union Bits {
    id: i64,
    raw: u64,
}

fn main() {}
