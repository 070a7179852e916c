use auditlog_diesel::Auditable;

#[derive(Auditable)]
struct Customer {
    #[audit(mask)]
    id: i64,
    name: String,
}

#[derive(Auditable)]
#[audit(primary_key(tenant, email))]
struct TenantUser {
    tenant: i32,
    #[audit(mask_with = "hide")]
    email: String,
}

fn hide(_: &str) -> String {
    String::new()
}

fn main() {}
