//! Keel vault program: a risk-bounded allocator on keel-venue. Depositors get SPL shares priced on NAV bounds;
//! a strategist allocates inside an on-chain risk mandate (delta band, gamma, vega, scenario VaR, health,
//! leverage, idle floor); permissionless keepers rebalance, validated on-chain and paid for the risk removed;
//! a guardian pauses (bounded) and vetoes timelocked changes; a circuit breaker watches the oracle.
//! See docs/vault.md.
use anchor_lang::prelude::*;
// Links the compiler intrinsics on the offline SBF toolchain; an empty crate everywhere else.
use solana_compiler_builtins as _;

pub mod error;
pub mod events;
pub mod fees;
pub mod instructions;
mod invoke;
pub mod portfolio;
pub mod state;
pub mod token_account;
pub mod tokens;
pub mod venue_link;

use instructions::*;

declare_id!("EmfsmMXgdFCT9jNgQJrhviJAnVv5n5DkXKGpa7Lnr845");

/// Semantic version of the on-chain interface, reported by `ping` so clients can detect a mismatched deployment.
pub const INTERFACE_VERSION: [u8; 3] = [0, 1, 0];

#[program]
pub mod keel_vault {
    use super::*;

    /// Liveness probe: succeeds and returns [`INTERFACE_VERSION`] as return data.
    pub fn ping(_ctx: Context<Ping>) -> Result<[u8; 3]> {
        Ok(keel_venue::return_data::natively(INTERFACE_VERSION))
    }

    /// Step 1 of creating a vault: the vault account with its roles and configuration.
    pub fn create_vault(
        ctx: Context<CreateVault>,
        id: u16,
        strategist: Pubkey,
        guardian: Pubkey,
        config: state::VaultConfig,
    ) -> Result<()> {
        instructions::create_vault(ctx, id, strategist, guardian, config)
    }

    /// Step 2 of creating a vault: its token accounts and venue margin account (see `create_vault`).
    pub fn open_vault_accounts(ctx: Context<OpenVaultAccounts>) -> Result<()> {
        instructions::open_vault_accounts(ctx)
    }

    /// Remaining accounts (here and below unless stated): the markets of the vault's open venue positions.
    pub fn deposit<'info>(ctx: Context<'info, Deposit<'info>>, amount: u64) -> Result<()> {
        instructions::deposit(ctx, amount)
    }

    pub fn request_withdrawal<'info>(ctx: Context<'info, RequestWithdrawal<'info>>, shares: u64) -> Result<()> {
        instructions::request_withdrawal(ctx, shares)
    }

    pub fn claim_withdrawal<'info>(ctx: Context<'info, ClaimWithdrawal<'info>>) -> Result<()> {
        instructions::claim_withdrawal(ctx)
    }

    /// Remaining accounts: the markets of the open positions and of every leg (every venue market in index order
    /// first when LP shares are held or moved).
    pub fn allocate<'info>(ctx: Context<'info, Allocate<'info>>, moves: Moves, legs: Vec<Leg>) -> Result<()> {
        instructions::allocate(ctx, moves, legs)
    }

    /// Remaining accounts: the markets of the open positions and of every leg.
    pub fn rebalance<'info>(
        ctx: Context<'info, Rebalance<'info>>,
        pricing: Pricing,
        legs: Vec<Leg>,
        margin_out: u64,
    ) -> Result<()> {
        instructions::rebalance(ctx, pricing, legs, margin_out)
    }

    /// Remaining accounts: the markets of the open positions and of every leg.
    pub fn deleverage<'info>(
        ctx: Context<'info, Rebalance<'info>>,
        pricing: Pricing,
        legs: Vec<Leg>,
        margin_out: u64,
    ) -> Result<()> {
        instructions::deleverage(ctx, pricing, legs, margin_out)
    }

    pub fn pause(ctx: Context<Pause>, duration_secs: u32) -> Result<()> {
        instructions::pause(ctx, duration_secs)
    }

    pub fn unpause(ctx: Context<Unpause>) -> Result<()> {
        instructions::unpause(ctx)
    }

    pub fn queue_config(ctx: Context<QueueConfig>, config: state::VaultConfig) -> Result<()> {
        instructions::queue_config(ctx, config)
    }

    pub fn apply_config(ctx: Context<ApplyConfig>) -> Result<()> {
        instructions::apply_config(ctx)
    }

    pub fn cancel_config(ctx: Context<ApplyConfig>) -> Result<()> {
        instructions::cancel_config(ctx)
    }

    pub fn collect_fees<'info>(ctx: Context<'info, CollectFees<'info>>) -> Result<()> {
        instructions::collect_fees(ctx)
    }

    /// View: NAV bounds and supply as return data.
    pub fn nav<'info>(ctx: Context<'info, Nav<'info>>) -> Result<NavView> {
        instructions::nav(ctx).map(keel_venue::return_data::natively)
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
