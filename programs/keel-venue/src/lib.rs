//! Keel venue program: the reference derivatives venue (perps, European options, LP pool, margin).
//!
//! Venues hold one collateral (SPL Token or Token-2022) in a PDA vault. Underlyings read Pyth PriceUpdateV2 under
//! a per-action validity policy; a vol authority posts arbitrage-checked SVI slices; a permissionless crank caches
//! each market's greeks and SPAN risk array. Traders margin from summed risk arrays and trade against the LP pool
//! at oracle-derived marks; perps pay funding from the pool's skew; options settle at the oracle after expiry;
//! liquidation is permissionless and gradual. See docs/venue.md.
use anchor_lang::prelude::*;
// Links the compiler intrinsics on the offline SBF toolchain; an empty crate everywhere else.
use solana_compiler_builtins as _;

pub mod error;
pub mod events;
pub mod health;
pub mod instructions;
pub mod oracle;
pub mod pricing;
pub mod return_data;
pub mod state;
pub mod token;

use instructions::*;

declare_id!("24Lsvc3Mc2zqMZgyNybMV2iWpTGGC3dadRzcqAZ8M5Uk");

/// Semantic version of the on-chain interface, reported by `ping` so clients can detect a mismatched deployment.
pub const INTERFACE_VERSION: [u8; 3] = [0, 1, 0];

#[program]
pub mod keel_venue {
    use super::*;

    /// Liveness probe: succeeds and returns [`INTERFACE_VERSION`] as return data.
    pub fn ping(_ctx: Context<Ping>) -> Result<[u8; 3]> {
        Ok(return_data::natively(INTERFACE_VERSION))
    }

    pub fn create_venue(
        ctx: Context<CreateVenue>,
        id: u16,
        guardian: Pubkey,
        vol_authority: Pubkey,
        margin: state::MarginConfig,
    ) -> Result<()> {
        instructions::create_venue(ctx, id, guardian, vol_authority, margin)
    }

    pub fn add_underlying(ctx: Context<AddUnderlying>, params: state::UnderlyingConfig) -> Result<()> {
        instructions::add_underlying(ctx, params)
    }

    pub fn post_surface(ctx: Context<PostSurface>, expiry: i64, params: [i128; 5]) -> Result<()> {
        instructions::post_surface(ctx, expiry, params)
    }

    pub fn add_market(ctx: Context<AddMarket>, config: state::MarketConfig) -> Result<()> {
        instructions::add_market(ctx, config)
    }

    pub fn refresh_market(ctx: Context<RefreshMarket>) -> Result<()> {
        instructions::refresh_market(ctx)
    }

    /// Remaining accounts: every market of the venue in index order (the pool's NAV includes its claim on each).
    pub fn deposit_lp<'info>(ctx: Context<'info, LpFlowAccounts<'info>>, amount: u64) -> Result<()> {
        instructions::deposit_lp(ctx, amount)
    }

    /// Remaining accounts: every market of the venue in index order.
    pub fn withdraw_lp<'info>(ctx: Context<'info, LpFlowAccounts<'info>>, shares: u64) -> Result<()> {
        instructions::withdraw_lp(ctx, shares)
    }

    pub fn open_margin_account(ctx: Context<OpenMarginAccount>) -> Result<()> {
        instructions::open_margin_account(ctx)
    }

    pub fn deposit_margin(ctx: Context<MarginFlowAccounts>, amount: u64) -> Result<()> {
        instructions::deposit_margin(ctx, amount)
    }

    /// Remaining accounts: the markets of the account's open positions, in slot order. With `report`, the return
    /// data is the account's book after the withdrawal (a `health::BookReport`'s bytes).
    pub fn withdraw_margin<'info>(
        ctx: Context<'info, MarginFlowAccounts<'info>>,
        amount: u64,
        report: bool,
    ) -> Result<()> {
        instructions::withdraw_margin(ctx, amount, report)
    }

    /// Remaining accounts: the markets of the account's other open positions, in slot order. With `report`, the
    /// return data is the account's book after the trade (a `health::BookReport`'s bytes).
    pub fn trade<'info>(ctx: Context<'info, Trade<'info>>, size: i64, limit_price: i128, report: bool) -> Result<()> {
        instructions::trade(ctx, size, limit_price, report)
    }

    pub fn settle_market(ctx: Context<SettleMarket>) -> Result<()> {
        instructions::settle_market(ctx)
    }

    pub fn settle_position(ctx: Context<SettlePosition>) -> Result<()> {
        instructions::settle_position(ctx)
    }

    /// Remaining accounts: the markets of the account's other open positions, in slot order.
    pub fn liquidate<'info>(ctx: Context<'info, Liquidate<'info>>, max_lots: u64) -> Result<()> {
        instructions::liquidate(ctx, max_lots)
    }

    pub fn set_paused(ctx: Context<SetPaused>, paused: u32) -> Result<()> {
        instructions::set_paused(ctx, paused)
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
