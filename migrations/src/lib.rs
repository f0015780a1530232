//! Keel migrations: create venues, markets and vaults from a TOML spec (filled in with the demo milestone).
pub use keel_vault::ID as VAULT_PROGRAM_ID;
pub use keel_venue::ID as VENUE_PROGRAM_ID;
