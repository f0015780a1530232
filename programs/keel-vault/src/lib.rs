//! Keel vault program: risk-bounded allocator vault (shares, on-chain mandate, keeper-validated rebalancing).
//!
//! The instruction set is built up in later milestones; today the program only exposes `ping`, which proves
//! the build, the Anchor dispatch and the test harness end to end.
use anchor_lang::prelude::*;

declare_id!("EmfsmMXgdFCT9jNgQJrhviJAnVv5n5DkXKGpa7Lnr845");

/// Semantic version of the on-chain interface, reported by `ping` so clients can detect a mismatched deployment.
pub const INTERFACE_VERSION: [u8; 3] = [0, 1, 0];

#[program]
pub mod keel_vault {
    use super::*;

    /// Liveness probe: succeeds and returns [`INTERFACE_VERSION`] as return data.
    pub fn ping(_ctx: Context<Ping>) -> Result<[u8; 3]> {
        Ok(INTERFACE_VERSION)
    }
}

#[derive(Accounts)]
pub struct Ping {}

/// Host-side entry point for solana-program-test's native mode and the keeper's embedded bank.
///
/// Anchor's generated `entry` ties every argument to one `'info` lifetime, while `processor!` passes independent
/// lifetimes. All three borrows outlive this call, so unifying them to the accounts' lifetime is sound.
#[cfg(not(target_os = "solana"))]
pub fn process_native<'a, 'b, 'c, 'd>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'d [u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    // SAFETY: see above; the transmutes only unify lifetimes of references that are valid for the whole call.
    let (program_id, accounts, data) = unsafe {
        (
            core::mem::transmute::<&'a Pubkey, &'c Pubkey>(program_id),
            core::mem::transmute::<&'b [AccountInfo<'c>], &'c [AccountInfo<'c>]>(accounts),
            core::mem::transmute::<&'d [u8], &'c [u8]>(data),
        )
    };
    entry(program_id, accounts, data)
}
