use auditlog_diesel::Auditable;

#[derive(Auditable)]
#[audit(repr = "label", repr_display)]
struct Plan {
    id: i64,
}

fn label(plan: &Plan) -> String {
    plan.id.to_string()
}

fn main() {}
