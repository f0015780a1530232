use clap::Parser;

/// Keel keeper: prices the book, measures risk and submits risk-reducing rebalances that the vault validates.
#[derive(Parser, Debug)]
#[command(name = "keel-keeper", version, about, long_about = None)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    println!("keel-keeper {}: no command yet; run `keel-keeper --help`", env!("CARGO_PKG_VERSION"));
    Ok(())
}
