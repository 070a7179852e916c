//! Generating the `Auditable` and `AuditedTable` impls from a validated model.
//!
//! Generated code names everything through `<crate>::__private` (by default
//! `::auditlog_diesel::__private`), so it works whatever the user has in scope, and its local
//! names are hygienic (see `Locals`) so paths given in attributes cannot resolve to them.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{DeriveInput, Error, ExprPath, Ident, LitStr, Path};

use crate::ast::{self, Field, Input, Policy};
use crate::attr::{self, Mask};
use crate::valid;

/// The impls for a struct, or every error found in its definition.
pub(crate) fn derive(node: &DeriveInput) -> syn::Result<TokenStream> {
    let input = Input::from_syn(node)?;
    valid::check(&input)?;

    let krate = input.crate_path();
    let auditable = impl_auditable(&input, &krate)?;
    let audited_table = impl_audited_table(&input, &krate)?;
    let keyed_table = impl_keyed_table(&input, &krate)?;
    Ok(quote! {
        const _: () = {
            #auditable
            #audited_table
            #keyed_table
        };
    })
}

/// The errors, plus an `Auditable` impl whose bodies are never run, so code that uses the
/// trait does not add errors of its own to the real ones. The stub is left out when the
/// struct's own `#[audit(...)]` are unreadable, since its `crate` path may then be wrong.
pub(crate) fn fallback(node: &DeriveInput, error: Error) -> TokenStream {
    let errors = error.to_compile_error();
    let Some(crate_path) = attr::crate_path_if_clean(&node.attrs) else {
        return errors;
    };
    let krate = crate_path.unwrap_or_else(ast::default_crate_path);
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    quote! {
        #errors
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::__private::Auditable for #ident #ty_generics #where_clause {
                const OBJECT_TYPE: &'static str = "";
                const AUDITED_FIELDS: &'static [&'static str] = &[];

                fn object_key(&self) -> ::std::string::String {
                    ::core::unreachable!()
                }

                fn snapshot(
                    &self,
                    _: &#krate::__private::Masker,
                ) -> #krate::__private::Snapshot {
                    ::core::unreachable!()
                }

                fn diff(
                    &self,
                    _: &Self,
                    _: &#krate::__private::Masker,
                ) -> #krate::__private::ChangeSet {
                    ::core::unreachable!()
                }
            }
        };
    }
}

/// `impl Auditable for Struct`.
fn impl_auditable(input: &Input, krate: &Path) -> syn::Result<TokenStream> {
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let object_type = input.object_type();
    let names = input.audited_fields().map(Field::recorded_name);
    let object_key = object_key(input, krate)?;
    let object_repr = object_repr(input);
    let locals = Locals::new();
    let snapshot = snapshot(input, krate, &locals);
    let diff = diff(input, krate, &locals);
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::Auditable for #ident #ty_generics #where_clause {
            const OBJECT_TYPE: &'static str = #object_type;
            const AUDITED_FIELDS: &'static [&'static str] = &[#(#names),*];

            #object_key
            #object_repr
            #snapshot
            #diff
        }
    })
}

/// `object_key`: one column's value as text, or the JSON array of several.
fn object_key(input: &Input, krate: &Path) -> syn::Result<TokenStream> {
    let key = input.primary_key()?;
    let body = match key.as_slice() {
        [field] => {
            let member = field.ident;
            quote!(#krate::__private::single_key(&self.#member))
        }
        fields => {
            let members = fields.iter().map(|field| field.ident);
            quote! {
                #krate::__private::composite_key(&[
                    #(#krate::__private::AuditValue::to_audit_value(&self.#members)),*
                ])
            }
        }
    };
    Ok(quote! {
        fn object_key(&self) -> ::std::string::String {
            #body
        }
    })
}

/// `object_repr`, when `repr` or `repr_display` asks for one; else the trait's default.
fn object_repr(input: &Input) -> Option<TokenStream> {
    let body = if let Some(repr) = &input.attrs.repr {
        let function = &repr.value;
        quote!(#function(self))
    } else {
        let display = input.attrs.repr_display.as_ref()?;
        quote_spanned!(display.span=> ::std::string::ToString::to_string(self))
    };
    Some(quote! {
        fn object_repr(&self) -> ::core::option::Option<::std::string::String> {
            ::core::option::Option::Some(#body)
        }
    })
}

/// The local names in generated method bodies. They have mixed-site hygiene, so a path
/// written in an attribute (`mask_with = "..."`, `repr = "..."`) never resolves to one of them.
///
/// A unit struct or constant the user names `__audit_out` would still clash, since a `let`
/// cannot shadow one whatever its hygiene; that goes away once `Span::def_site` is stable.
struct Locals {
    /// The list being built.
    out: Ident,
    /// The `masker` parameter.
    masker: Ident,
    /// The `after` parameter of `diff`.
    after: Ident,
    /// The parameter of the closure around a `mask_with` function.
    value: Ident,
}

impl Locals {
    /// The names, all starting with `__audit_`.
    fn new() -> Self {
        let local = |name: &str| Ident::new(name, Span::mixed_site());
        Locals {
            out: local("__audit_out"),
            masker: local("__audit_masker"),
            after: local("__audit_after"),
            value: local("__audit_value"),
        }
    }
}

/// `snapshot`: every audited field, in order.
fn snapshot(input: &Input, krate: &Path, locals: &Locals) -> TokenStream {
    let count = input.audited_fields().count();
    let pushes = input.audited_fields().map(|field| {
        let member = field.ident;
        // Everything but a `mask_with` path is located at the field's type, so a type that
        // cannot be recorded is reported there rather than at the derive.
        let span = field.ty.span();
        let name = LitStr::new(&field.recorded_name(), span);
        let (krate, out) = (located(krate, span), located(&locals.out, span));
        match field.policy() {
            Policy::Function(function) => {
                let function = mask_function(function, &locals.value);
                quote_spanned! {span=>
                    #krate::__private::snapshot_field_with(
                        &mut #out, #name, #function, &self.#member,
                    );
                }
            }
            Policy::Masker(mask) => {
                let policy = policy_tokens(mask, &krate);
                let masker = located(&locals.masker, span);
                quote_spanned! {span=>
                    #krate::__private::snapshot_field(
                        &mut #out, #name, #policy, #masker, &self.#member,
                    );
                }
            }
        }
    });
    let Locals { out, masker, .. } = locals;
    quote! {
        fn snapshot(&self, #masker: &#krate::__private::Masker) -> #krate::__private::Snapshot {
            let mut #out = ::std::vec::Vec::with_capacity(#count);
            #(#pushes)*
            #krate::__private::Snapshot(#out)
        }
    }
}

/// `diff`: the audited fields whose values differ, in order.
fn diff(input: &Input, krate: &Path, locals: &Locals) -> TokenStream {
    let pushes = input.audited_fields().map(|field| {
        let member = field.ident;
        // As in `snapshot`, located at the field's type.
        let span = field.ty.span();
        let name = LitStr::new(&field.recorded_name(), span);
        let (krate, out) = (located(krate, span), located(&locals.out, span));
        let after = located(&locals.after, span);
        match field.policy() {
            Policy::Function(function) => {
                let function = mask_function(function, &locals.value);
                quote_spanned! {span=>
                    #krate::__private::diff_field_with(
                        &mut #out, #name, #function, &self.#member, &#after.#member,
                    );
                }
            }
            Policy::Masker(mask) => {
                let policy = policy_tokens(mask, &krate);
                let masker = located(&locals.masker, span);
                quote_spanned! {span=>
                    #krate::__private::diff_field(
                        &mut #out, #name, #policy, #masker, &self.#member, &#after.#member,
                    );
                }
            }
        }
    });
    let Locals {
        out, masker, after, ..
    } = locals;
    // Most updates touch a few fields, so the list grows from empty instead of reserving room
    // for every field; an unchanged object allocates nothing.
    quote! {
        fn diff(
            &self,
            #after: &Self,
            #masker: &#krate::__private::Masker,
        ) -> #krate::__private::ChangeSet {
            let mut #out = ::std::vec::Vec::new();
            #(#pushes)*
            #krate::__private::ChangeSet(#out)
        }
    }
}

/// A closure calling the `mask_with` function, so the usual deref coercions apply to its
/// argument: a function taking `&str` masks a `String` field. It is located at the path, where
/// a function of the wrong type is reported.
fn mask_function(function: &ExprPath, value: &Ident) -> TokenStream {
    let span = function.span();
    let value = located(value, span);
    quote_spanned!(span=> |#value| #function(#value))
}

/// Tokens moved to `span` with their hygiene unchanged, so errors involving them point at the
/// user's code rather than at the derive.
fn located(tokens: &impl ToTokens, span: Span) -> TokenStream {
    relocate(tokens.to_token_stream(), span)
}

/// [`located`] over a token stream, groups included.
fn relocate(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Group(group) => {
                let mut moved = Group::new(group.delimiter(), relocate(group.stream(), span));
                moved.set_span(group.span().located_at(span));
                TokenTree::Group(moved)
            }
            mut other => {
                other.set_span(other.span().located_at(span));
                other
            }
        })
        .collect()
}

/// The `Policy` value the masker applies: `Plain`, or `Mask` of a kind.
fn policy_tokens(mask: Option<Mask>, krate: &TokenStream) -> TokenStream {
    let kind = match mask {
        None => return quote!(#krate::__private::Policy::Plain),
        Some(Mask::Redact) => quote!(Redact),
        Some(Mask::Last4) => quote!(Last4),
    };
    quote!(#krate::__private::Policy::Mask(#krate::__private::MaskKind::#kind))
}

/// `impl AuditedTable<Struct> for <table_name>::table`, for a struct with
/// `#[diesel(table_name = ...)]`. The model is the trait's type parameter, so the impl is
/// allowed whatever the struct's visibility, for several structs on one table, and for a table
/// declared in another crate.
fn impl_audited_table(input: &Input, krate: &Path) -> syn::Result<Option<TokenStream>> {
    let Some(table) = input.attrs.diesel_table.as_ref() else {
        return Ok(None);
    };
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let columns = input.primary_key()?.into_iter().map(|field| {
        let column = column_ident(&field.column_name(), field.ident.span());
        quote!(<#table::#column as #krate::__private::diesel::Column>::NAME)
    });
    Ok(Some(quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::AuditedTable<#ident #ty_generics>
            for #table::table #where_clause
        {
            const KEY_COLUMNS: &'static [&'static str] = &[#(#columns),*];
        }
    }))
}

/// `impl<DB> KeyedTable<Struct, DB> for <table_name>::table`: primary-key filters and order
/// written against the concrete table and columns, which the trait solver resolves where a
/// filter generic over the table would not. Non-generic structs with a Diesel table only.
fn impl_keyed_table(input: &Input, krate: &Path) -> syn::Result<Option<TokenStream>> {
    let Some(table) = input.attrs.diesel_table.as_ref() else {
        return Ok(None);
    };
    // Known gap: generic models get no key filters, so they cannot be bulk updated or deleted
    // through the audited connection (their where clauses would need the generic bounds).
    if !input.generics.params.is_empty() {
        return Ok(None);
    }
    let key = input.primary_key()?;
    let ident = input.ident;
    let diesel = quote!(#krate::__private::diesel);
    let filter = quote!(#krate::__private::KeyFilter<#table::table, __AuditDb>);
    let boxable = quote! {
        #diesel::expression::BoxableExpression<
            #table::table, __AuditDb, SqlType = #diesel::sql_types::Bool
        >
    };
    let columns: Vec<TokenStream> = key
        .iter()
        .map(|field| {
            let column = column_ident(&field.column_name(), field.ident.span());
            quote!(#table::#column)
        })
        .collect();
    let members: Vec<&Ident> = key.iter().map(|field| field.ident).collect();
    let types: Vec<&syn::Type> = key.iter().map(|field| field.ty).collect();

    let key_order = quote!(#(#diesel::ExpressionMethods::asc(#columns)),*);
    let key_order_type = quote!(#(#diesel::dsl::Asc<#columns>),*);
    let (bounds, keys_in, keys_after) = if let ([column], [member], [ty]) =
        (columns.as_slice(), members.as_slice(), types.as_slice())
    {
        let bounds = quote! {
            #diesel::dsl::EqAny<#column, ::std::vec::Vec<#ty>>: #boxable + 'static,
            #diesel::dsl::Gt<#column, #ty>: #boxable + 'static,
        };
        let keys_in = quote! {
            ::std::boxed::Box::new(#diesel::ExpressionMethods::eq_any(
                #column,
                __audit_rows
                    .iter()
                    .map(|__audit_row| ::std::clone::Clone::clone(&__audit_row.#member))
                    .collect::<::std::vec::Vec<#ty>>(),
            ))
        };
        let keys_after = quote! {
            ::std::boxed::Box::new(#diesel::ExpressionMethods::gt(
                #column,
                ::std::clone::Clone::clone(&__audit_row.#member),
            ))
        };
        (bounds, keys_in, keys_after)
    } else {
        composite_key_filters(
            krate, &diesel, &filter, &boxable, &columns, &members, &types,
        )
    };

    Ok(Some(quote! {
        #[automatically_derived]
        impl<__AuditDb> #krate::__private::KeyedTable<#ident, __AuditDb> for #table::table
        where
            __AuditDb: #diesel::backend::Backend,
            #bounds
        {
            type KeyOrder = (#key_order_type,);

            fn key_order() -> Self::KeyOrder {
                (#key_order,)
            }

            fn keys_in(__audit_rows: &[#ident]) -> #filter {
                #keys_in
            }

            fn keys_after(__audit_row: &#ident) -> #filter {
                #keys_after
            }
        }
    }))
}

/// The filters of a composite key `(a, b, ...)`: `keys_in` is an OR over the rows of an AND
/// over the columns; `keys_after` is the lexicographic comparison
/// `a > x OR (a = x AND b > y) OR ...`.
fn composite_key_filters(
    krate: &Path,
    diesel: &TokenStream,
    filter: &TokenStream,
    boxable: &TokenStream,
    columns: &[TokenStream],
    members: &[&Ident],
    types: &[&syn::Type],
) -> (TokenStream, TokenStream, TokenStream) {
    let eq = |column: &TokenStream, member: &Ident, row: TokenStream| {
        quote! {
            ::std::boxed::Box::new(#diesel::ExpressionMethods::eq(
                #column,
                ::std::clone::Clone::clone(&#row.#member),
            )) as #filter
        }
    };
    let row_eqs = columns
        .iter()
        .zip(members)
        .map(|(column, member)| eq(column, member, quote!(__audit_row)));
    let keys_in = quote! {
        #krate::__private::any_of(__audit_rows.iter().map(|__audit_row| {
            #krate::__private::all_of([#(#row_eqs),*])
        }))
    };
    let after_terms = (0..columns.len()).map(|i| {
        let equal = (0..i).map(|j| eq(&columns[j], members[j], quote!(__audit_row)));
        let (column, member) = (&columns[i], members[i]);
        quote! {
            #krate::__private::all_of([
                #(#equal,)*
                ::std::boxed::Box::new(#diesel::ExpressionMethods::gt(
                    #column,
                    ::std::clone::Clone::clone(&__audit_row.#member),
                )) as #filter
            ])
        }
    });
    let keys_after = quote!(#krate::__private::any_of([#(#after_terms),*]));
    let bounds = quote! {
        #(
            #diesel::dsl::Eq<#columns, #types>: #boxable + 'static,
            #diesel::dsl::Gt<#columns, #types>: #boxable + 'static,
        )*
        #diesel::dsl::And<#filter, #filter>: #boxable + 'static,
        #diesel::dsl::Or<#filter, #filter>: #boxable + 'static,
        #diesel::expression::SqlLiteral<#diesel::sql_types::Bool>: #boxable,
    };
    (bounds, keys_in, keys_after)
}

/// A Diesel column's identifier, raw when the name is a Rust keyword (`r#type`).
fn column_ident(name: &str, span: proc_macro2::Span) -> Ident {
    syn::parse_str::<Ident>(name)
        .map(|ident| Ident::new(&ident.to_string(), span))
        .unwrap_or_else(|_| Ident::new_raw(name, span))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn expand(node: DeriveInput) -> String {
        derive(&node).unwrap().to_string()
    }

    #[test]
    fn excluded_fields_never_reach_the_generated_code() {
        let code = expand(parse_quote! {
            struct Account {
                id: i64,
                #[audit(exclude)]
                password_hash: String,
            }
        });
        assert!(!code.contains("password_hash"), "{code}");
    }

    #[test]
    fn crate_path_replaces_the_default_everywhere() {
        let code = expand(parse_quote! {
            #[audit(crate = "my_app::audit")]
            #[diesel(table_name = schema::accounts)]
            pub struct Account {
                id: i64,
                #[audit(mask)]
                token: String,
                #[audit(mask_with = "masks::email")]
                email: String,
            }
        });
        assert!(!code.contains("auditlog_diesel"), "{code}");
        assert!(
            code.contains("my_app :: audit :: __private :: AuditedTable"),
            "{code}"
        );
    }

    #[test]
    fn errors_come_with_a_stub_impl_only_when_the_crate_path_is_known() {
        let clean: DeriveInput = parse_quote!(
            struct Account {
                #[audit(bogus)]
                id: i64,
            }
        );
        let error = derive(&clean).unwrap_err();
        let code = fallback(&clean, error).to_string();
        assert!(code.contains("compile_error"), "{code}");
        assert!(code.contains("Auditable for Account"), "{code}");

        let unclear: DeriveInput = parse_quote!(
            #[audit(crate = 5)]
            struct Account {
                id: i64,
            }
        );
        let error = derive(&unclear).unwrap_err();
        let code = fallback(&unclear, error).to_string();
        assert!(code.contains("compile_error"), "{code}");
        assert!(!code.contains("Auditable for Account"), "{code}");
    }

    #[test]
    fn audited_table_is_implemented_for_every_struct_naming_a_diesel_table() {
        let public = expand(parse_quote! {
            #[diesel(table_name = schema::accounts)]
            pub struct Account { id: i64 }
        });
        assert!(
            public.contains("AuditedTable < Account > for schema :: accounts :: table"),
            "{public}"
        );

        let private = expand(parse_quote! {
            #[diesel(table_name = schema::accounts)]
            struct Account { id: i64 }
        });
        assert!(private.contains("AuditedTable < Account >"), "{private}");

        let generic = expand(parse_quote! {
            #[diesel(table_name = schema::accounts)]
            pub struct Account<T> { id: T }
        });
        assert!(
            generic.contains("AuditedTable < Account < T > >"),
            "{generic}"
        );

        let no_table = expand(parse_quote! {
            pub struct Account { id: i64 }
        });
        assert!(!no_table.contains("AuditedTable"), "{no_table}");
    }
}
