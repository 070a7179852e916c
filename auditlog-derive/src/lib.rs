//! `#[derive(Auditable)]` (work in progress).
use proc_macro::TokenStream;

/// Derives `Auditable`.
#[proc_macro_derive(Auditable, attributes(audit))]
pub fn derive_auditable(_input: TokenStream) -> TokenStream {
    TokenStream::new()
}
