//! The typed model of the struct the derive is applied to: its fields and their settings.

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Error, ExprPath, Fields, Generics, Ident, Path, Type};

use crate::attr::{self, ContainerAttrs, Errors, FieldAttrs, Mask};

/// A struct with named fields, with its `#[audit]` and `#[diesel]` settings read.
pub(crate) struct Input<'a> {
    /// The struct's name.
    pub(crate) ident: &'a Ident,
    /// The struct's generic parameters, passed through to the impl.
    pub(crate) generics: &'a Generics,
    /// The struct-level settings.
    pub(crate) attrs: ContainerAttrs,
    /// The fields in declaration order, excluded ones included.
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field of the struct.
pub(crate) struct Field<'a> {
    /// The field's name.
    pub(crate) ident: &'a Ident,
    /// The field's type.
    pub(crate) ty: &'a Type,
    /// The field-level settings.
    pub(crate) attrs: FieldAttrs,
}

/// How one audited field's value is recorded.
pub(crate) enum Policy<'a> {
    /// By the masker: as it is (`None`) or masked.
    Masker(Option<Mask>),
    /// By the application's function (`mask_with`).
    Function(&'a ExprPath),
}

impl<'a> Input<'a> {
    /// Builds the model, or reports every attribute mistake and unsupported shape.
    pub(crate) fn from_syn(node: &'a DeriveInput) -> syn::Result<Self> {
        let named = match &node.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => named,
                Fields::Unnamed(fields) => {
                    return Err(Error::new(
                        fields.paren_token.span.join(),
                        "Auditable needs named fields, one per column; tuple structs are not supported",
                    ));
                }
                Fields::Unit => {
                    return Err(Error::new(
                        node.ident.span(),
                        "Auditable needs named fields, one per column; a unit struct has none",
                    ));
                }
            },
            Data::Enum(data) => {
                return Err(Error::new(
                    data.enum_token.span,
                    "Auditable can be derived only for structs with named fields, not for enums",
                ));
            }
            Data::Union(data) => {
                return Err(Error::new(
                    data.union_token.span,
                    "Auditable can be derived only for structs with named fields, not for unions",
                ));
            }
        };

        let mut errors = Errors::default();
        let attrs = attr::container(&node.attrs, &mut errors);
        let fields = named
            .named
            .iter()
            .filter_map(|field| {
                let attrs = attr::field(&field.attrs, &mut errors);
                let ident = field.ident.as_ref()?;
                Some(Field {
                    ident,
                    ty: &field.ty,
                    attrs,
                })
            })
            .collect();
        errors.finish()?;

        Ok(Input {
            ident: &node.ident,
            generics: &node.generics,
            attrs,
            fields,
        })
    }

    /// The fields that are recorded, in declaration order.
    pub(crate) fn audited_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|field| !field.is_excluded())
    }

    /// The path the generated code reaches `auditlog_diesel` through.
    pub(crate) fn crate_path(&self) -> Path {
        match &self.attrs.crate_path {
            Some(setting) => setting.value.clone(),
            None => default_crate_path(),
        }
    }

    /// The object type recorded in the log: `#[audit(table)]`, else the Diesel table name,
    /// else Diesel's default for the struct name.
    pub(crate) fn object_type(&self) -> String {
        if let Some(table) = &self.attrs.table {
            return table.value.value();
        }
        let last_segment = self
            .attrs
            .diesel_table
            .as_ref()
            .and_then(|path| path.segments.last());
        match last_segment {
            Some(segment) => segment.ident.unraw().to_string(),
            None => default_table_name(&self.ident.unraw().to_string()),
        }
    }

    /// The primary key's fields, in key order: `#[audit(primary_key)]` (field names), else
    /// `#[diesel(primary_key)]` (column names), else the `id` column. Errors name the missing
    /// field, or the struct when there is no key at all.
    pub(crate) fn primary_key(&self) -> syn::Result<Vec<&Field<'a>>> {
        if let Some(setting) = &self.attrs.primary_key {
            return self.resolve_key(&setting.value, KeyNames::Fields);
        }
        if let Some(names) = &self.attrs.diesel_primary_key {
            return self.resolve_key(names, KeyNames::Columns);
        }
        match self.fields.iter().find(|field| field.column_name() == "id") {
            Some(field) => Ok(vec![field]),
            None => {
                let message = format!(
                    "`{}` has no primary key: add an `id` field, or name the key fields with #[audit(primary_key(field, ...))] or #[diesel(primary_key(field, ...))]",
                    self.ident
                );
                Err(Error::new(self.ident.span(), message))
            }
        }
    }

    /// Looks up each name of a declared key, reporting unknown and repeated names at the name.
    fn resolve_key(&self, names: &[Ident], kind: KeyNames) -> syn::Result<Vec<&Field<'a>>> {
        let mut errors = Errors::default();
        let mut key = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let wanted = name.unraw().to_string();
            if names[..i].iter().any(|earlier| earlier.unraw() == wanted) {
                let message = format!("`{wanted}` is listed twice in the primary key");
                errors.push(Error::new(name.span(), message));
                continue;
            }
            let found = self.fields.iter().find(|field| match kind {
                KeyNames::Fields => field.ident.unraw() == wanted,
                KeyNames::Columns => field.column_name() == wanted,
            });
            match found {
                Some(field) => key.push(field),
                None => errors.push(Error::new(name.span(), kind.missing(&wanted, self.ident))),
            }
        }
        errors.finish()?;
        Ok(key)
    }
}

/// What the names of a declared primary key refer to.
#[derive(Clone, Copy)]
enum KeyNames {
    /// Field names, as in `#[audit(primary_key(...))]`.
    Fields,
    /// Column names, as in `#[diesel(primary_key(...))]`.
    Columns,
}

impl KeyNames {
    /// The error for a name that matches no field of the struct.
    fn missing(self, name: &str, struct_name: &Ident) -> String {
        match self {
            KeyNames::Fields => format!(
                "no field `{name}` in `{struct_name}`; #[audit(primary_key(...))] lists field names of this struct"
            ),
            KeyNames::Columns => format!(
                "no field with column name `{name}` in `{struct_name}`; #[diesel(primary_key(...))] lists the columns of this struct"
            ),
        }
    }
}

impl Field<'_> {
    /// Whether the field is left out of the log.
    pub(crate) fn is_excluded(&self) -> bool {
        self.attrs.exclude.is_some()
    }

    /// The name the field is recorded under: its `rename`, else its own name.
    pub(crate) fn recorded_name(&self) -> String {
        match &self.attrs.rename {
            Some(setting) => setting.value.value(),
            None => self.ident.unraw().to_string(),
        }
    }

    /// Where to point an error about the recorded name: the `rename` string, else the field.
    pub(crate) fn recorded_name_span(&self) -> Span {
        match &self.attrs.rename {
            Some(setting) => setting.value.span(),
            None => self.ident.span(),
        }
    }

    /// The field's Diesel column name: its `#[diesel(column_name)]`, else its own name.
    pub(crate) fn column_name(&self) -> String {
        match &self.attrs.diesel_column {
            Some(name) => name.clone(),
            None => self.ident.unraw().to_string(),
        }
    }

    /// How the field's value is recorded.
    pub(crate) fn policy(&self) -> Policy<'_> {
        match &self.attrs.mask_with {
            Some(setting) => Policy::Function(&setting.value),
            None => Policy::Masker(self.attrs.mask.as_ref().map(|setting| setting.value)),
        }
    }
}

/// `::auditlog_diesel`, where generated code finds its support items unless told otherwise.
pub(crate) fn default_crate_path() -> Path {
    let ident = Ident::new("auditlog_diesel", Span::call_site());
    let mut path = Path::from(ident);
    path.leading_colon = Some(Default::default());
    path
}

/// Diesel's default table name for a struct: snake case, plus `s` (`ServiceTier` becomes
/// `service_tiers`).
fn default_table_name(struct_name: &str) -> String {
    let mut out = String::with_capacity(struct_name.len() + 4);
    for (i, c) in struct_name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_table_name_follows_diesel() {
        assert_eq!(default_table_name("Contract"), "contracts");
        assert_eq!(default_table_name("ServiceTier"), "service_tiers");
        assert_eq!(default_table_name("HTTPLog"), "h_t_t_p_logs");
        assert_eq!(default_table_name("user"), "users");
    }
}
