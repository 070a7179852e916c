//! Compile-time behaviour of `#[derive(Auditable)]`: each misuse in `tests/ui/*.rs` fails with
//! the error in its `.stderr`, pointing at the offending attribute; `tests/ui/pass/*.rs`
//! compile.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
