//! Every error a program defines must be triggered by a test: each variant of each program's error enum has to
//! appear as `Enum::Variant` in a test file under tests/tests (the runtime tests) or in the program's own unit
//! tests. Adding a variant without a test fails here, naming it.
use std::fs;
use std::path::{Path, PathBuf};

fn variants(error_rs: &Path) -> Vec<String> {
    let src = fs::read_to_string(error_rs).expect("read error.rs");
    let body = src.split("pub enum").nth(1).expect("an error enum");
    let body = &body[body.find('{').expect("enum body") + 1..body.find("\n}").expect("enum end")];
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("#[") && !l.starts_with("//"))
        .map(|l| l.trim_end_matches(',').to_string())
        .collect()
}

fn test_sources(root: &Path) -> String {
    let mut all = String::new();
    for entry in fs::read_dir(root.join("tests/tests")).expect("tests dir") {
        let p = entry.expect("entry").path();
        if p.extension().is_some_and(|e| e == "rs") && !p.ends_with("error_coverage.rs") {
            all.push_str(&fs::read_to_string(&p).expect("read test"));
        }
    }
    all
}

/// The `#[cfg(test)]` parts of every source file under `dir`.
fn unit_tests(dir: &Path) -> String {
    let mut all = String::new();
    for entry in fs::read_dir(dir).expect("src dir") {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            all.push_str(&unit_tests(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            let src = fs::read_to_string(&p).expect("read source");
            if let Some(i) = src.find("#[cfg(test)]") {
                all.push_str(&src[i..]);
            }
        }
    }
    all
}

#[test]
fn every_program_error_variant_is_triggered_by_a_test() {
    // Run time first: a shared target cache may hold this binary built from another checkout.
    let root =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()))
            .join("..");
    let tests = test_sources(&root);
    let mut missing = Vec::new();
    for (program, enum_name) in [("keel-venue", "VenueError"), ("keel-vault", "VaultError")] {
        let error_rs = root.join("programs").join(program).join("src/error.rs");
        if !error_rs.exists() {
            continue;
        }
        // Unit tests inside the program count too (e.g. the oracle policy, fee overflow).
        let unit = unit_tests(&root.join("programs").join(program).join("src"));
        let vs = variants(&error_rs);
        assert!(vs.len() > 5, "parsed the {enum_name} variants: {vs:?}");
        for v in vs {
            let needle = format!("{enum_name}::{v}");
            let in_tests = tests.contains(&format!("{needle})")) || tests.contains(&format!("{needle},"));
            if !in_tests && !unit.contains(&needle) {
                missing.push(needle);
            }
        }
    }
    assert!(missing.is_empty(), "error variants no test triggers: {missing:?}");
}
