//! keel-venue: PDAs and instruction builders.
use crate::{anchor_ix, bits, with_readonly};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use keel_venue::state::{MarginAccount, MarginConfig, Underlying, UnderlyingConfig, Venue, VolSurface};

/// One lot is 10^-6 of a unit.
pub const LOT: i64 = 1_000_000;

pub fn venue_pda(mint: &Pubkey, id: u16) -> Pubkey {
    Pubkey::find_program_address(&[Venue::SEED, mint.as_ref(), &id.to_le_bytes()], &keel_venue::ID).0
}
pub fn collateral_vault_pda(venue: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Venue::VAULT_SEED, venue.as_ref()], &keel_venue::ID).0
}
pub fn lp_mint_pda(venue: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Venue::LP_MINT_SEED, venue.as_ref()], &keel_venue::ID).0
}
pub fn underlying_pda(venue: &Pubkey, index: u16) -> Pubkey {
    Pubkey::find_program_address(&[Underlying::SEED, venue.as_ref(), &index.to_le_bytes()], &keel_venue::ID).0
}
pub fn surface_pda(underlying: &Pubkey, expiry: i64) -> Pubkey {
    Pubkey::find_program_address(&[VolSurface::SEED, underlying.as_ref(), &expiry.to_le_bytes()], &keel_venue::ID).0
}

pub fn create_venue_ix(
    admin: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    id: u16,
    guardian: Pubkey,
    vol_authority: Pubkey,
    margin: MarginConfig,
) -> Instruction {
    let venue = venue_pda(mint, id);
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::CreateVenue {
            admin: *admin,
            collateral_mint: *mint,
            venue,
            collateral_vault: collateral_vault_pda(&venue),
            lp_mint: lp_mint_pda(&venue),
            token_program: *token_program,
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::CreateVenue { id, guardian, vol_authority, margin },
    )
}

pub fn add_underlying_ix(
    admin: &Pubkey,
    venue: &Pubkey,
    index: u16,
    price_update: &Pubkey,
    params: UnderlyingConfig,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::AddUnderlying {
            admin: *admin,
            venue: *venue,
            underlying: underlying_pda(venue, index),
            price_update: *price_update,
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::AddUnderlying { params },
    )
}

pub fn post_surface_ix(
    vol_authority: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    expiry: i64,
    params: [i128; 5],
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::PostSurface {
            vol_authority: *vol_authority,
            venue: *venue,
            underlying: *underlying,
            surface: surface_pda(underlying, expiry),
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::PostSurface { expiry, params },
    )
}

pub fn set_paused_ix(guardian: &Pubkey, venue: &Pubkey, paused: u32) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::SetPaused { guardian: *guardian, venue: *venue },
        keel_venue::instruction::SetPaused { paused },
    )
}

pub fn market_pda(venue: &Pubkey, index: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[keel_venue::state::Market::SEED, venue.as_ref(), &index.to_le_bytes()],
        &keel_venue::ID,
    )
    .0
}

pub fn add_market_ix(
    admin: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    surface: Option<Pubkey>,
    index: u32,
    config: keel_venue::state::MarketConfig,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::AddMarket {
            admin: *admin,
            venue: *venue,
            underlying: *underlying,
            surface,
            market: market_pda(venue, index),
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::AddMarket { config },
    )
}

pub fn refresh_market_ix(
    refresher: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    market: &Pubkey,
    price_update: &Pubkey,
    surface: Option<Pubkey>,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::RefreshMarket {
            refresher: *refresher,
            venue: *venue,
            underlying: *underlying,
            market: *market,
            price_update: *price_update,
            surface,
        },
        keel_venue::instruction::RefreshMarket {},
    )
}

/// An LP's accounts for deposit_lp / withdraw_lp (which share one account list).
pub struct LpAccounts {
    pub owner: Pubkey,
    pub venue: Pubkey,
    pub mint: Pubkey,
    pub owner_collateral: Pubkey,
    pub owner_lp: Pubkey,
    pub token_program: Pubkey,
}

/// What an LP instruction does.
#[derive(Clone, Copy, Debug)]
pub enum LpAction {
    Deposit(u64),
    Withdraw(u64),
}

/// An LP instruction; `markets` are every market of the venue in index order (the pool NAV needs them).
pub fn lp_ix_with(a: &LpAccounts, action: LpAction, markets: &[Pubkey]) -> Instruction {
    with_readonly(lp_ix(a, action), markets)
}

pub fn lp_ix(a: &LpAccounts, action: LpAction) -> Instruction {
    let accounts = keel_venue::accounts::LpFlowAccounts {
        owner: a.owner,
        venue: a.venue,
        collateral_mint: a.mint,
        collateral_vault: collateral_vault_pda(&a.venue),
        lp_mint: lp_mint_pda(&a.venue),
        owner_collateral: a.owner_collateral,
        owner_lp: a.owner_lp,
        token_program: a.token_program,
    };
    match action {
        LpAction::Deposit(amount) => anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::DepositLp { amount }),
        LpAction::Withdraw(shares) => {
            anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::WithdrawLp { shares })
        }
    }
}

pub fn margin_pda(venue: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[MarginAccount::SEED, venue.as_ref(), owner.as_ref()], &keel_venue::ID).0
}

pub fn open_margin_ix(payer: &Pubkey, owner: &Pubkey, venue: &Pubkey) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::OpenMarginAccount {
            payer: *payer,
            owner: *owner,
            venue: *venue,
            margin_account: margin_pda(venue, owner),
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::OpenMarginAccount {},
    )
}

/// deposit_margin (`amount > 0`) or withdraw_margin (`amount < 0`); `markets`: the open positions' markets.
pub fn margin_flow_ix(
    owner: &Pubkey,
    venue: &Pubkey,
    mint: &Pubkey,
    owner_collateral: &Pubkey,
    token_program: &Pubkey,
    amount: i64,
    markets: &[Pubkey],
) -> Instruction {
    margin_flow_ix_with(owner, venue, mint, owner_collateral, token_program, amount, false, markets)
}

/// [`margin_flow_ix`]; a withdrawal with `report` asks the venue to return the account's book after it
/// (`Option<keel_venue::health::BookReport>` as return data; a deposit ignores it).
#[allow(clippy::too_many_arguments)]
pub fn margin_flow_ix_with(
    owner: &Pubkey,
    venue: &Pubkey,
    mint: &Pubkey,
    owner_collateral: &Pubkey,
    token_program: &Pubkey,
    amount: i64,
    report: bool,
    markets: &[Pubkey],
) -> Instruction {
    let accounts = keel_venue::accounts::MarginFlowAccounts {
        owner: *owner,
        venue: *venue,
        margin_account: margin_pda(venue, owner),
        collateral_mint: *mint,
        collateral_vault: collateral_vault_pda(venue),
        owner_collateral: *owner_collateral,
        token_program: *token_program,
    };
    let amount_abs = amount.unsigned_abs();
    let ix = if amount >= 0 {
        anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::DepositMargin { amount: amount_abs })
    } else {
        anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::WithdrawMargin { amount: amount_abs, report })
    };
    with_readonly(ix, markets)
}

/// The accounts every market-touching instruction shares.
#[derive(Clone, Copy, Debug)]
pub struct MarketRef {
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub market: Pubkey,
    pub oracle: Pubkey,
}

pub fn trade_ix(owner: &Pubkey, m: &MarketRef, size: i64, limit: f64, others: &[Pubkey]) -> Instruction {
    trade_ix_with(owner, m, size, limit, false, others)
}

/// [`trade_ix`]; with `report`, the venue returns the account's book after the trade
/// (`Option<keel_venue::health::BookReport>` as return data).
pub fn trade_ix_with(
    owner: &Pubkey,
    m: &MarketRef,
    size: i64,
    limit: f64,
    report: bool,
    others: &[Pubkey],
) -> Instruction {
    let ix = anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::Trade {
            owner: *owner,
            venue: m.venue,
            margin_account: margin_pda(&m.venue, owner),
            underlying: m.underlying,
            market: m.market,
            price_update: m.oracle,
        },
        keel_venue::instruction::Trade { size, limit_price: bits(limit), report },
    );
    with_readonly(ix, others)
}

/// The venue's report of a margin account's book, from the return data of a `trade` or `withdraw_margin` that asked
/// for one ([`trade_ix_with`], [`margin_flow_ix_with`]): the report's bytes, which are also its Borsh encoding. None
/// when the data is not a report (the instruction was not asked, or another program set it).
pub fn book_report(program: &Pubkey, return_data: &[u8]) -> Option<keel_venue::health::BookReport> {
    let is_report =
        *program == keel_venue::ID && return_data.len() == std::mem::size_of::<keel_venue::health::BookReport>();
    is_report.then(|| anchor_lang::AnchorDeserialize::try_from_slice(return_data).ok()).flatten()
}

pub fn settle_market_ix(settler: &Pubkey, m: &MarketRef) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::SettleMarket {
            settler: *settler,
            venue: m.venue,
            underlying: m.underlying,
            market: m.market,
            price_update: m.oracle,
        },
        keel_venue::instruction::SettleMarket {},
    )
}

pub fn settle_position_ix(cranker: &Pubkey, venue: &Pubkey, account: &Pubkey, market: &Pubkey) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::SettlePosition {
            cranker: *cranker,
            venue: *venue,
            margin_account: *account,
            market: *market,
        },
        keel_venue::instruction::SettlePosition {},
    )
}

#[allow(clippy::too_many_arguments)]
pub fn liquidate_ix(
    liquidator: &Pubkey,
    m: &MarketRef,
    account: &Pubkey,
    mint: &Pubkey,
    liquidator_collateral: &Pubkey,
    token_program: &Pubkey,
    max_lots: u64,
    others: &[Pubkey],
) -> Instruction {
    let ix = anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::Liquidate {
            liquidator: *liquidator,
            venue: m.venue,
            margin_account: *account,
            underlying: m.underlying,
            market: m.market,
            price_update: m.oracle,
            collateral_mint: *mint,
            collateral_vault: collateral_vault_pda(&m.venue),
            liquidator_collateral: *liquidator_collateral,
            token_program: *token_program,
        },
        keel_venue::instruction::Liquidate { max_lots },
    );
    with_readonly(ix, others)
}
