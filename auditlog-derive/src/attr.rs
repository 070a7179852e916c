//! Reading `#[audit(...)]`, and the few parts of `#[diesel(...)]` the derive needs.
//!
//! Every setting keeps the span of the keyword that set it, so later stages can point their
//! errors at it. Mistakes in one item are collected and parsing goes on with the next item, so
//! one compile reports them all.

use proc_macro2::{Span, TokenTree};
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{token, Attribute, Error, ExprPath, Ident, LitStr, Path, Token};

/// The attributes accepted on fields, as listed in error messages.
const FIELD_ATTRIBUTES: &str = "exclude, mask, mask_with, rename";

/// The attributes accepted on the struct, as listed in error messages.
const CONTAINER_ATTRIBUTES: &str = "table, primary_key, repr, repr_display, crate";

/// Errors gathered along the way, reported together.
#[derive(Default)]
pub(crate) struct Errors {
    /// All errors so far, combined into one.
    combined: Option<Error>,
}

impl Errors {
    /// Adds an error to the report.
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// `Ok` when nothing was reported, else every error as one.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// A value set by an attribute, with the span of the keyword that set it.
pub(crate) struct Setting<T> {
    /// Where the keyword (`mask`, `table`, ...) is written.
    pub(crate) span: Span,
    /// What it was set to.
    pub(crate) value: T,
}

/// How `#[audit(mask ...)]` hides a field.
#[derive(Clone, Copy)]
pub(crate) enum Mask {
    /// `#[audit(mask)]`: the placeholder, with a fingerprint when the masker has a key.
    Redact,
    /// `#[audit(mask = "last4")]`: the last four characters.
    Last4,
}

/// The struct-level settings.
#[derive(Default)]
pub(crate) struct ContainerAttrs {
    /// `#[audit(table = "...")]`.
    pub(crate) table: Option<Setting<LitStr>>,
    /// `#[audit(primary_key(a, b))]`: field names.
    pub(crate) primary_key: Option<Setting<Vec<Ident>>>,
    /// `#[audit(repr = "path")]`.
    pub(crate) repr: Option<Setting<ExprPath>>,
    /// `#[audit(repr_display)]`.
    pub(crate) repr_display: Option<Setting<()>>,
    /// `#[audit(crate = "path")]`.
    pub(crate) crate_path: Option<Setting<Path>>,
    /// `#[diesel(table_name = path)]`.
    pub(crate) diesel_table: Option<Path>,
    /// `#[diesel(primary_key(a, b))]`: column names.
    pub(crate) diesel_primary_key: Option<Vec<Ident>>,
}

/// The settings of one field.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    /// `#[audit(exclude)]`.
    pub(crate) exclude: Option<Setting<()>>,
    /// `#[audit(mask)]` or `#[audit(mask = "last4")]`.
    pub(crate) mask: Option<Setting<Mask>>,
    /// `#[audit(mask_with = "path")]`.
    pub(crate) mask_with: Option<Setting<ExprPath>>,
    /// `#[audit(rename = "name")]`.
    pub(crate) rename: Option<Setting<LitStr>>,
    /// `#[diesel(column_name = name)]`.
    pub(crate) diesel_column: Option<String>,
}

/// Reads the struct's `#[audit(...)]` and `#[diesel(...)]` attributes.
pub(crate) fn container(attrs: &[Attribute], errors: &mut Errors) -> ContainerAttrs {
    read(attrs, errors, container_item, diesel_container)
}

/// Reads `#[audit(...)]` items with `item` (collecting every mistake, and skipping the value
/// of a rejected item so the next one is still read) and `#[diesel(...)]` with `diesel`.
fn read<T: Default>(
    attrs: &[Attribute],
    errors: &mut Errors,
    item: fn(&ParseNestedMeta, &mut T, &mut Errors) -> syn::Result<()>,
    diesel: fn(&Attribute, &mut T),
) -> T {
    let mut out = T::default();
    for attr in attrs {
        if attr.path().is_ident("audit") {
            let parsed = attr.parse_nested_meta(|meta| {
                if let Err(error) = item(&meta, &mut out, errors) {
                    errors.push(error);
                    skip_value(&meta)?;
                }
                Ok(())
            });
            if let Err(error) = parsed {
                errors.push(error);
            }
        } else if attr.path().is_ident("diesel") {
            diesel(attr, &mut out);
        }
    }
    out
}

/// Reads one item of a struct's `#[audit(...)]`.
fn container_item(
    meta: &ParseNestedMeta,
    out: &mut ContainerAttrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    // #[audit(table = "contracts")]
    if meta.path.is_ident("table") {
        const USAGE: &str = "table = \"table_name\"";
        let table = non_empty(string_value(meta, USAGE)?, USAGE)?;
        set_once(&mut out.table, meta, table, errors);
    }
    // #[audit(primary_key(a, b))]
    else if meta.path.is_ident("primary_key") {
        let fields = primary_key_list(meta)?;
        set_once(&mut out.primary_key, meta, fields, errors);
    }
    // #[audit(repr = "path::to::function")]
    else if meta.path.is_ident("repr") {
        let path = function_path(meta, "repr")?;
        set_once(&mut out.repr, meta, path, errors);
    }
    // #[audit(repr_display)]
    else if meta.path.is_ident("repr_display") {
        flag(meta, "repr_display")?;
        set_once(&mut out.repr_display, meta, (), errors);
    }
    // #[audit(crate = "path::to::auditlog_diesel")]
    else if meta.path.is_ident("crate") {
        let path = crate_path(meta)?;
        set_once(&mut out.crate_path, meta, path, errors);
    } else {
        return Err(unknown(meta, Place::Container));
    }
    Ok(())
}

/// Reads one field's `#[audit(...)]` and `#[diesel(...)]` attributes.
pub(crate) fn field(attrs: &[Attribute], errors: &mut Errors) -> FieldAttrs {
    read(attrs, errors, field_item, diesel_field)
}

/// Reads one item of a field's `#[audit(...)]`.
fn field_item(
    meta: &ParseNestedMeta,
    out: &mut FieldAttrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    // #[audit(exclude)]
    if meta.path.is_ident("exclude") {
        flag(meta, "exclude")?;
        set_once(&mut out.exclude, meta, (), errors);
    }
    // #[audit(mask)] and #[audit(mask = "last4")]
    else if meta.path.is_ident("mask") {
        let mask = mask_kind(meta)?;
        set_once(&mut out.mask, meta, mask, errors);
    }
    // #[audit(mask_with = "path::to::function")]
    else if meta.path.is_ident("mask_with") {
        let path = function_path(meta, "mask_with")?;
        set_once(&mut out.mask_with, meta, path, errors);
    }
    // #[audit(rename = "name")]
    else if meta.path.is_ident("rename") {
        const USAGE: &str = "rename = \"recorded_name\"";
        let name = non_empty(string_value(meta, USAGE)?, USAGE)?;
        set_once(&mut out.rename, meta, name, errors);
    } else {
        return Err(unknown(meta, Place::Field));
    }
    Ok(())
}

/// Stores the value of the item `meta` reads, or reports a second occurrence at its keyword.
fn set_once<T>(
    slot: &mut Option<Setting<T>>,
    meta: &ParseNestedMeta,
    value: T,
    errors: &mut Errors,
) {
    let span = meta.path.span();
    if slot.is_some() {
        let name = path_text(&meta.path);
        let message = format!("duplicate audit attribute `{name}`; it may be given only once");
        errors.push(Error::new(span, message));
    } else {
        *slot = Some(Setting { span, value });
    }
}

/// Where an attribute was written, for the unknown-attribute message.
#[derive(Clone, Copy)]
enum Place {
    /// On the struct.
    Container,
    /// On a field.
    Field,
}

/// The error for an attribute the derive does not know, or knows only in the other place.
fn unknown(meta: &ParseNestedMeta, place: Place) -> Error {
    let name = path_text(&meta.path);
    let field_attribute = ["exclude", "mask", "mask_with", "rename"].contains(&name.as_str());
    let container_attribute =
        ["table", "primary_key", "repr", "repr_display", "crate"].contains(&name.as_str());
    let message = match place {
        Place::Container if field_attribute => format!(
            "`{name}` is a field attribute, put it on a field; on the struct, expected one of: {CONTAINER_ATTRIBUTES}"
        ),
        Place::Field if container_attribute => format!(
            "`{name}` is a struct attribute, put it on the struct; on a field, expected one of: {FIELD_ATTRIBUTES}"
        ),
        Place::Container => format!(
            "unknown audit attribute `{name}` on the struct; expected one of: {CONTAINER_ATTRIBUTES}"
        ),
        Place::Field => {
            format!("unknown audit attribute `{name}`; expected one of: {FIELD_ATTRIBUTES}")
        }
    };
    Error::new_spanned(&meta.path, message)
}

/// A path as written, without the spaces `ToTokens` puts around `::`.
fn path_text(path: &Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

/// Checks that a bare attribute such as `exclude` has no value.
fn flag(meta: &ParseNestedMeta, name: &str) -> syn::Result<()> {
    if meta.input.peek(Token![=]) || meta.input.peek(token::Paren) {
        return Err(meta.error(format!("`{name}` takes no value; write #[audit({name})]")));
    }
    Ok(())
}

/// The string after `=`; `usage` shows the expected form in the error.
fn string_value(meta: &ParseNestedMeta, usage: &str) -> syn::Result<LitStr> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("expected a value: {usage}")));
    }
    let input = meta.value()?;
    input
        .parse::<LitStr>()
        .map_err(|error| Error::new(error.span(), format!("expected a string: {usage}")))
}

/// Rejects an empty string; `usage` shows the expected form in the error.
fn non_empty(lit: LitStr, usage: &str) -> syn::Result<LitStr> {
    if lit.value().is_empty() {
        let message = format!("expected a name, not an empty string: {usage}");
        return Err(Error::new(lit.span(), message));
    }
    Ok(lit)
}

/// The value of `mask`: nothing for full redaction, or `"last4"`.
fn mask_kind(meta: &ParseNestedMeta) -> syn::Result<Mask> {
    const USAGE: &str = "`mask` to hide the whole value, or `mask = \"last4\"`";
    if meta.input.peek(token::Paren) {
        return Err(meta.error(format!("expected {USAGE}")));
    }
    if !meta.input.peek(Token![=]) {
        return Ok(Mask::Redact);
    }
    let lit = string_value(meta, "mask = \"last4\"")?;
    match lit.value().as_str() {
        "last4" => Ok(Mask::Last4),
        other => Err(Error::new(
            lit.span(),
            format!("unknown mask \"{other}\"; expected {USAGE}"),
        )),
    }
}

/// The function path in `repr = "..."` or `mask_with = "..."`.
fn function_path(meta: &ParseNestedMeta, name: &str) -> syn::Result<ExprPath> {
    let usage = format!("{name} = \"path::to::function\"");
    let lit = string_value(meta, &usage)?;
    lit.parse::<ExprPath>().map_err(|_| {
        let message = format!(
            "expected the path of a function, like \"crate::audit::{name}_fn\", found \"{}\"",
            lit.value()
        );
        Error::new(lit.span(), message)
    })
}

/// The module path in `crate = "..."`.
fn crate_path(meta: &ParseNestedMeta) -> syn::Result<Path> {
    let lit = string_value(meta, "crate = \"path::to::auditlog_diesel\"")?;
    lit.parse_with(Path::parse_mod_style).map_err(|_| {
        let message = format!(
            "expected the path of the crate or module that re-exports auditlog_diesel, like \"my_app::audit\", found \"{}\"",
            lit.value()
        );
        Error::new(lit.span(), message)
    })
}

/// The parenthesized field names of `primary_key(a, b)`.
fn primary_key_list(meta: &ParseNestedMeta) -> syn::Result<Vec<Ident>> {
    const USAGE: &str =
        "expected the key's fields in parentheses: primary_key(id) or primary_key(a, b)";
    if !meta.input.peek(token::Paren) {
        return Err(meta.error(USAGE));
    }
    let content;
    let parens = syn::parenthesized!(content in meta.input);
    let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)
        .map_err(|error| Error::new(error.span(), USAGE))?;
    if names.is_empty() {
        return Err(Error::new(parens.span.join(), USAGE));
    }
    Ok(names.into_iter().collect())
}

/// Consumes the rest of an item (`= value` or `(...)`) up to the next top-level comma, so
/// parsing can go on after a bad item.
fn skip_value(meta: &ParseNestedMeta) -> syn::Result<()> {
    meta.input.step(|cursor| {
        let mut rest = *cursor;
        // Depth of `<...>` so a comma inside generic arguments does not end the item.
        let mut angle_depth = 0usize;
        // Whether the previous token was a `-` or `=` joined to the next, as in `->` and `=>`.
        let mut arrow_start = false;
        while let Some((tree, next)) = rest.token_tree() {
            let mut joined = false;
            if let TokenTree::Punct(punct) = &tree {
                match punct.as_char() {
                    ',' if angle_depth == 0 => return Ok(((), rest)),
                    '<' => angle_depth += 1,
                    '>' if !arrow_start => angle_depth = angle_depth.saturating_sub(1),
                    '-' | '=' => joined = punct.spacing() == proc_macro2::Spacing::Joint,
                    _ => {}
                }
            }
            arrow_start = joined;
            rest = next;
        }
        Ok(((), rest))
    })
}

/// Reads `table_name` and `primary_key` from a struct's `#[diesel(...)]`.
fn diesel_container(attr: &Attribute, out: &mut ContainerAttrs) {
    // Diesel's own derives report mistakes in `#[diesel(...)]`; keep whatever was read.
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("table_name") {
            out.diesel_table = Some(meta.value()?.call(Path::parse_mod_style)?);
        } else if meta.path.is_ident("primary_key") {
            let content;
            syn::parenthesized!(content in meta.input);
            let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
            out.diesel_primary_key = Some(names.into_iter().collect());
        } else {
            skip_value(&meta)?;
        }
        Ok(())
    });
}

/// Reads `column_name` from a field's `#[diesel(...)]`.
fn diesel_field(attr: &Attribute, out: &mut FieldAttrs) {
    // Diesel's own derives report mistakes in `#[diesel(...)]`; keep whatever was read.
    let _ = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("column_name") {
            let input = meta.value()?;
            let name = if input.peek(LitStr) {
                input.parse::<LitStr>()?.value()
            } else {
                input.call(Ident::parse_any)?.unraw().to_string()
            };
            out.diesel_column = Some(name);
        } else {
            skip_value(&meta)?;
        }
        Ok(())
    });
}

/// The `crate = "..."` path of a struct whose attributes are otherwise unreadable: `Some`
/// with the default or the given path when the struct's `#[audit(...)]` parse cleanly,
/// `None` when they do not (the path may then be wrong).
pub(crate) fn crate_path_if_clean(attrs: &[Attribute]) -> Option<Option<Path>> {
    let mut errors = Errors::default();
    let parsed = container(attrs, &mut errors);
    errors.finish().ok()?;
    Some(parsed.crate_path.map(|setting| setting.value))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn field_attrs(attrs: &[Attribute]) -> (FieldAttrs, syn::Result<()>) {
        let mut errors = Errors::default();
        let out = field(attrs, &mut errors);
        (out, errors.finish())
    }

    #[test]
    fn parsing_goes_on_after_an_unknown_item() {
        let attrs: Vec<Attribute> = vec![parse_quote!(#[audit(bogus = Vec<u8, u16>, mask)])];
        let (out, result) = field_attrs(&attrs);
        assert!(matches!(
            out.mask,
            Some(Setting {
                value: Mask::Redact,
                ..
            })
        ));
        let error = result.unwrap_err().to_string();
        assert!(error.contains("unknown audit attribute `bogus`"), "{error}");
    }

    #[test]
    fn diesel_attributes_are_read_leniently() {
        let attrs: Vec<Attribute> = vec![
            parse_quote!(#[diesel(belongs_to(Customer, foreign_key = customer_id))]),
            parse_quote!(#[diesel(check_for_backend(diesel::sqlite::Sqlite), treat_none_as_null = true)]),
            parse_quote!(#[diesel(serialize_as = Wrapper<A, B>, table_name = schema::contracts)]),
            parse_quote!(#[diesel(primary_key(tenant, number), base_query = f::<A, B>())]),
        ];
        let mut errors = Errors::default();
        let out = container(&attrs, &mut errors);
        assert!(errors.finish().is_ok());
        assert_eq!(path_text(&out.diesel_table.unwrap()), "schema::contracts");
        let key: Vec<String> = out
            .diesel_primary_key
            .unwrap()
            .iter()
            .map(Ident::to_string)
            .collect();
        assert_eq!(key, ["tenant", "number"]);
    }

    #[test]
    fn column_name_accepts_identifiers_and_strings() {
        let (out, _) = field_attrs(&[parse_quote!(#[diesel(column_name = r#type)])]);
        assert_eq!(out.diesel_column.as_deref(), Some("type"));
        let (out, _) = field_attrs(&[parse_quote!(#[diesel(column_name = "Kind")])]);
        assert_eq!(out.diesel_column.as_deref(), Some("Kind"));
    }
}
