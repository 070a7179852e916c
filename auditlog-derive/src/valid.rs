//! Checks that the settings make sense together, before anything is generated.
//!
//! Each check reports at the attribute that causes the conflict, and all checks run, so one
//! compile shows every mistake.

use std::collections::HashSet;

use syn::Error;

use crate::ast::{Field, Input};
use crate::attr::Errors;

/// Reports conflicting settings, a missing or unusable primary key, and fields recorded under
/// the same name.
pub(crate) fn check(input: &Input) -> syn::Result<()> {
    let mut errors = Errors::default();
    check_container(input, &mut errors);
    for field in &input.fields {
        check_field(field, &mut errors);
    }
    check_primary_key(input, &mut errors);
    check_recorded_names(input, &mut errors);
    errors.finish()
}

/// `repr` and `repr_display` are two answers to one question.
fn check_container(input: &Input, errors: &mut Errors) {
    if let (Some(_), Some(display)) = (&input.attrs.repr, &input.attrs.repr_display) {
        errors.push(Error::new(
            display.span,
            "`repr` and `repr_display` cannot be combined; use `repr = \"path\"` to call a function, or `repr_display` to use the Display impl",
        ));
    }
}

/// An excluded field takes no other setting, and a field takes one mask.
fn check_field(field: &Field, errors: &mut Errors) {
    let attrs = &field.attrs;
    if attrs.exclude.is_some() {
        let others = [
            ("mask", attrs.mask.as_ref().map(|s| s.span)),
            ("mask_with", attrs.mask_with.as_ref().map(|s| s.span)),
            ("rename", attrs.rename.as_ref().map(|s| s.span)),
        ];
        for (name, span) in others {
            if let Some(span) = span {
                let message = format!(
                    "`exclude` and `{name}` cannot be combined: an excluded field is never recorded; remove one of them"
                );
                errors.push(Error::new(span, message));
            }
        }
    }
    if let (Some(_), Some(mask_with)) = (&attrs.mask, &attrs.mask_with) {
        errors.push(Error::new(
            mask_with.span,
            "`mask` and `mask_with` cannot be combined; choose one of `mask`, `mask = \"last4\"` or `mask_with = \"path\"`",
        ));
    }
}

/// The primary key must exist and be recorded as it is, since it identifies the object.
fn check_primary_key(input: &Input, errors: &mut Errors) {
    let key = match input.primary_key() {
        Ok(key) => key,
        Err(error) => return errors.push(error),
    };
    for field in key {
        let attrs = &field.attrs;
        let settings = [
            ("excluded", attrs.exclude.as_ref().map(|s| s.span)),
            ("masked", attrs.mask.as_ref().map(|s| s.span)),
            ("masked", attrs.mask_with.as_ref().map(|s| s.span)),
        ];
        for (what, span) in settings {
            if let Some(span) = span {
                let message = format!(
                    "primary key field `{}` cannot be {what}: the log identifies objects by their key",
                    field.ident
                );
                errors.push(Error::new(span, message));
            }
        }
    }
}

/// Two audited fields recorded under one name would be indistinguishable in the log.
fn check_recorded_names(input: &Input, errors: &mut Errors) {
    let mut seen = HashSet::new();
    for field in input.audited_fields() {
        let name = field.recorded_name();
        if !seen.insert(name.clone()) {
            let message = format!(
                "two audited fields are recorded as `{name}`; give one of them another #[audit(rename = \"...\")]"
            );
            errors.push(Error::new(field.recorded_name_span(), message));
        }
    }
}
