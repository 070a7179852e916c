//! `#[derive(Auditable)]`: the field list, masking policies and primary key of an audited
//! Diesel model, kept in step with the struct.
//!
//! Use it through `auditlog-diesel`, which re-exports it next to the `Auditable` trait and
//! whose front page has a runnable example. The derive goes on a struct with named fields,
//! usually next to Diesel's own derives:
//!
//! ```ignore
//! use auditlog_diesel::Auditable;
//! use diesel::prelude::*;
//!
//! diesel::table! {
//!     contracts (id) {
//!         id -> BigInt,
//!         customer -> Text,
//!         price_cents -> BigInt,
//!         card_number -> Text,
//!         email -> Text,
//!         internal_notes -> Text,
//!     }
//! }
//!
//! #[derive(Queryable, Identifiable, Auditable)]
//! #[diesel(table_name = contracts)]
//! #[audit(repr = "contract_label")]
//! struct Contract {
//!     id: i64,
//!     #[audit(rename = "customer_name")]
//!     customer: String,
//!     price_cents: i64,
//!     #[audit(mask = "last4")]
//!     card_number: String,
//!     #[audit(mask_with = "crate::masks::email_domain")]
//!     email: String,
//!     #[audit(exclude)]
//!     internal_notes: String,
//! }
//!
//! fn contract_label(contract: &Contract) -> String {
//!     format!("contract #{} for {}", contract.id, contract.customer)
//! }
//! ```
//!
//! This records objects of type `contracts`, keyed by `id`, with the audited fields `id`,
//! `customer_name`, `price_cents`, `card_number` (only its last four characters) and `email`
//! (whatever `email_domain` returns); `internal_notes` never reaches the log.
//!
//! # What it implements
//!
//! - `Auditable` for the struct: `OBJECT_TYPE`, `AUDITED_FIELDS`, `object_key`, `snapshot`,
//!   `diff` and, when asked for, `object_repr`.
//! - `AuditedTable<Struct>` for the Diesel table named in `#[diesel(table_name = ...)]`, which
//!   lets `AuditedConnection` find the model from a plain Diesel target, with the SQL names of
//!   the primary-key columns (`KEY_COLUMNS`, for PostgreSQL's one-statement update). Any
//!   number of models, of any visibility, may claim the same table.
//! - `KeyedTable<Struct, DB>` for that table, for non-generic structs: primary-key filters and
//!   order written against the concrete columns, which bulk updates and deletes use to work
//!   through their rows in bounded chunks.
//!
//! The derive adds no trait bounds: every audited field's type must implement `AuditValue`,
//! and a generic struct states that on its own parameters (`struct Row<T: AuditValue>`).
//!
//! # Struct attributes
//!
//! | Attribute | Effect |
//! |---|---|
//! | `#[audit(table = "contracts")]` | The object type recorded in the log. Default: the last segment of `#[diesel(table_name = ...)]`, else Diesel's own default, the struct name in snake case plus `s` (`ServiceTier` is `service_tiers`). |
//! | `#[audit(primary_key(tenant, number))]` | The fields that identify an object, in key order. Default: `#[diesel(primary_key(...))]`, else the field `id`. A composite key is recorded as a JSON array, `[7,"A-12"]`. |
//! | `#[audit(repr = "path::to::function")]` | `object_repr` returns `Some(function(&self))`; the function takes `&Self` and returns `String`. |
//! | `#[audit(repr_display)]` | `object_repr` returns the struct's `Display` text. |
//! | `#[audit(crate = "my_app::audit")]` | Where the generated code finds `auditlog_diesel`, for crates that use it through a re-export. Default: `::auditlog_diesel`. |
//!
//! ```text
//! #[derive(Auditable)]
//! #[audit(table = "tenant_contracts", primary_key(tenant, number), repr_display)]
//! struct TenantContract { tenant: i32, number: String, price_cents: i64 }
//! ```
//!
//! # Field attributes
//!
//! | Attribute | Effect |
//! |---|---|
//! | `#[audit(exclude)]` | The field is never recorded: not in `AUDITED_FIELDS`, snapshots or diffs. A change to it alone gives an empty diff. |
//! | `#[audit(mask)]` | Recorded as `[masked]`, or `[masked fp=...]` (a keyed fingerprint) when the masker has a key. Changes are still detected. |
//! | `#[audit(mask = "last4")]` | Recorded as `****` and the value's last four characters; values shorter than eight characters are fully masked. |
//! | `#[audit(mask_with = "path::to::function")]` | Recorded as what the function returns; it takes a reference to the field (or to what the field derefs to: `&str` for a `String`) and returns anything convertible into a JSON value, such as `String`. |
//! | `#[audit(rename = "name")]` | The name the field is recorded under. |
//!
//! ```text
//! #[derive(Auditable)]
//! struct Customer {
//!     id: i64,
//!     #[audit(rename = "display_name")]
//!     name: String,
//!     #[audit(mask)]
//!     tax_id: String,
//!     #[audit(mask_with = "masks::email_domain")]
//!     email: String,
//!     #[audit(exclude)]
//!     password_hash: String,
//! }
//! ```
//!
//! Attributes may be split over several `#[audit(...)]` lines, but each may be given once. A
//! field cannot be both excluded and masked or renamed, cannot have two masks, and the primary
//! key can be neither masked nor excluded. Such mistakes are compile errors pointing at the
//! offending attribute.
//!
//! # Diesel attributes
//!
//! The derive reads `table_name` and `primary_key(...)` from `#[diesel(...)]` on the struct and
//! `column_name` on fields (Diesel's primary key names columns), and ignores everything else
//! there. Mistakes in `#[diesel(...)]` are left to Diesel's derives to report.

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod ast;
mod attr;
mod expand;
mod valid;

/// Derives `Auditable` (and `AuditedTable` for the Diesel table) for a struct with named
/// fields; see the crate documentation for the attributes.
#[proc_macro_derive(Auditable, attributes(audit))]
pub fn derive_auditable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input)
        .unwrap_or_else(|error| expand::fallback(&input, error))
        .into()
}
