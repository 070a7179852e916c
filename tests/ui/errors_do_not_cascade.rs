use auditlog_diesel::{Auditable, Masker};

#[derive(Auditable)]
struct Customer {
    id: i64,
    #[audit(mask = "all")]
    tax_id: String,
}

fn record<T: Auditable>(value: &T) -> String {
    value.snapshot(&Masker::default()).to_canonical_json()
}

fn main() {
    let customer = Customer {
        id: 1,
        tax_id: String::new(),
    };
    println!("{} {}", Customer::OBJECT_TYPE, record(&customer));
}
