//! `cargo run -p keel-idl` writes `idl/keel_venue.json` and `idl/keel_vault.json`; `-- --check` regenerates them in
//! memory and fails, naming the file, if a committed IDL differs (CI runs this: an interface change must ship
//! with its IDL). The IDL is Anchor's own (the builder `anchor idl build` uses), so anchor-ts and other IDL
//! clients read it as they read any Anchor program's.
use anchor_lang_idl::{build::IdlBuilder, serde_json};
use anyhow::{bail, Context, Result};
use std::path::Path;

const PROGRAMS: [(&str, &str); 2] =
    [("programs/keel-venue", "keel_venue.json"), ("programs/keel-vault", "keel_vault.json")];

fn main() -> Result<()> {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => bail!("unknown argument {other:?}: run without arguments to write idl/, or with --check"),
    };
    // Under a rustup proxy RUSTUP_TOOLCHAIN is set, and the builder would then pass cargo a literal "+{toolchain}".
    // Edition 2021: a safe call; nothing else runs yet.
    std::env::remove_var("RUSTUP_TOOLCHAIN");
    // `cargo run` sets CARGO_MANIFEST_DIR for the process too; prefer it over the compile-time path, which is stale
    // when a shared target cache holds a binary built from another checkout.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string());
    let root = Path::new(&manifest).join("../..").canonicalize().with_context(|| {
        format!("finding the workspace root from {manifest}: run this with `cargo run -p keel-idl`")
    })?;
    let mut drifted = Vec::new();
    for (program, file) in PROGRAMS {
        eprintln!("keel-idl: building the IDL of {program}");
        let idl = IdlBuilder::new()
            .program_path(root.join(program))
            .cargo_args(vec!["--lib".into(), "--locked".into()])
            .build()
            .with_context(|| format!("building the IDL of {program}"))?;
        let json = serde_json::to_string_pretty(&idl)? + "\n";
        let path = root.join("idl").join(file);
        if check {
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            if committed != json {
                drifted.push(path.display().to_string());
            }
        } else {
            std::fs::create_dir_all(path.parent().expect("idl/"))?;
            std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
            eprintln!("keel-idl: wrote {}", path.display());
        }
    }
    if !drifted.is_empty() {
        bail!("the committed IDL is out of date: {} (run `cargo run -p keel-idl` and commit)", drifted.join(", "));
    }
    Ok(())
}
