//! Strategist allocation: move collateral idle -> venue margin and/or the venue's LP pool, trade allowed markets,
//! move collateral back, and end with every mandate limit satisfied (the failing limit is named in the error).
//! Blocked by a guardian pause and by the circuit breaker. Remaining accounts: every market of the open
//! positions and of the legs; when LP shares are held or moved, every venue market in index order first.
use crate::error::VaultError;
use crate::events::Allocated;
use crate::portfolio::{Book, Holdings, LpRead};
use crate::state::{Vault, VaultConfig, VaultSigner};
use crate::venue_link::*;
use anchor_lang::prelude::*;
use anchor_lang::InstructionData;
use anchor_spl::token_interface::{TokenAccount, TokenInterface};
use keel_math::mandate::{Mandate, PortfolioRisk, LIMITS};
use keel_venue::health::BookReport;
use keel_venue::state::{keys_eq, load_in_place, Market};

/// One venue trade: market, size in lots (signed), limit price (I80F48 bits).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    pub market: Pubkey,
    pub size: i64,
    pub limit_price: i128,
}

/// The error of each mandate limit, in keel_math::mandate order.
pub const LIMIT_ERRORS: [VaultError; LIMITS] = [
    VaultError::DeltaOutOfBand,
    VaultError::GammaLimit,
    VaultError::VegaLimit,
    VaultError::VarLimit,
    VaultError::HealthBelowMinimum,
    VaultError::LeverageLimit,
    VaultError::IdleBelowMinimum,
];

/// Fails with the first limit `p` breaks.
pub fn require_within(m: &Mandate, p: &PortfolioRisk) -> Result<()> {
    let e = m.excesses(p).map_err(VaultError::from)?;
    if let Some(i) = (0..LIMITS).find(|i| e[*i] > fixed::types::I80F48::ZERO) {
        return Err(error!(LIMIT_ERRORS[i]));
    }
    Ok(())
}

/// Runs every leg as a venue trade signed by the vault; each market must be one of this venue's with an allowed index.
/// With `report`, the last trade returns the venue's report of the book after it (none without legs).
pub fn execute_legs<'info>(
    config: &VaultConfig,
    signer: &VaultSigner<'info>,
    link: &VenueLink<'info>,
    legs: &[Leg],
    markets: &[AccountInfo<'info>],
    report: bool,
) -> Result<Option<Box<BookReport>>> {
    let mut reported = None;
    for (i, leg) in legs.iter().enumerate() {
        let market = crate::portfolio::find(markets, &leg.market)?;
        {
            // Owner and layout checked by the in-place read; the venue, because an index names a market per venue.
            let m = load_in_place::<Market>(market)?;
            require!(
                keys_eq(&m.venue, AsRef::<AccountInfo>::as_ref(&link.venue).key) && config.allows(m.index),
                VaultError::MarketNotAllowed
            );
        }
        reported = link.trade(signer, market, markets, leg.size, leg.limit_price, report && i + 1 == legs.len())?;
    }
    Ok(reported)
}

#[derive(Accounts)]
pub struct Allocate<'info> {
    pub strategist: Signer<'info>,
    #[account(mut, has_one = strategist @ VaultError::UnauthorizedStrategist, has_one = collateral_mint, has_one = idle)]
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    /// CHECK: the vault's collateral mint (`has_one`); the venue and the token program check it in the CPIs.
    pub collateral_mint: UncheckedAccount<'info>,
    /// Decoded: the allocation books what the CPIs moved from its balance.
    #[account(mut)]
    pub idle: Box<InterfaceAccount<'info, TokenAccount>>,
    /// CHECK: the venue's collateral vault, pinned by address; the venue checks it in its margin and LP flows.
    #[account(mut, address = link.venue.load()?.collateral_vault @ VaultError::VenueAccountMismatch)]
    pub venue_collateral: UncheckedAccount<'info>,
    /// CHECK: the venue's LP mint, pinned by address; the venue checks it in its LP flows.
    #[account(mut, address = link.venue.load()?.lp_mint @ VaultError::VenueAccountMismatch)]
    pub venue_lp_mint: UncheckedAccount<'info>,
    #[account(mut, address = vault.load()?.lp_account @ VaultError::VenueAccountMismatch)]
    pub vault_lp: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

/// Collateral moves of an allocation (tokens; LP shares for `lp_out`), applied around the legs in this order:
/// margin_in, lp_in, legs, lp_out, margin_out.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Moves {
    pub margin_in: u64,
    pub lp_in: u64,
    pub lp_out: u64,
    pub margin_out: u64,
}

impl<'info> Allocate<'info> {
    fn lp_flow(
        &self,
        signer: &VaultSigner<'info>,
        amount: u64,
        deposit: bool,
        markets: &[AccountInfo<'info>],
    ) -> Result<()> {
        let accounts = crate::venue_link::lp_flow_accounts([
            &signer.info,
            self.link.venue.as_ref(),
            self.collateral_mint.as_ref(),
            self.venue_collateral.as_ref(),
            self.venue_lp_mint.as_ref(),
            (*self.idle).as_ref(),
            (*self.vault_lp).as_ref(),
            self.token_program.as_ref(),
        ]);
        let n = self.link.venue.load()?.num_markets as usize;
        require!(markets.len() >= n, VaultError::MissingMarketAccount);
        let all: Vec<&AccountInfo<'info>> = markets[..n].iter().collect();
        let data = if deposit {
            keel_venue::instruction::DepositLp { amount }.data()
        } else {
            keel_venue::instruction::WithdrawLp { shares: amount }.data()
        };
        let program = self.link.venue_program.key();
        signer.with_signer(|seeds| crate::invoke::invoke_flagged(program, &accounts, &all, data, seeds))
    }

    fn collateral(&self) -> Collateral<'info> {
        Collateral {
            mint: self.collateral_mint.to_account_info(),
            venue_vault: self.venue_collateral.to_account_info(),
            idle: self.idle.to_account_info(),
            token_program: self.token_program.to_account_info(),
        }
    }
}

pub fn allocate<'info>(ctx: Context<'info, Allocate<'info>>, moves: Moves, legs: Vec<Leg>) -> Result<()> {
    // 1. Open, and the market orderly.
    let Moves { margin_in, lp_in, lp_out, margin_out } = moves;
    let now = Clock::get()?.unix_timestamp;
    let a = &ctx.accounts;
    let (price, config, signer) = {
        let vault = a.vault.load()?;
        a.link.check(&vault)?;
        require!(!vault.is_paused(now), VaultError::VaultPaused);
        let (price, tripped) = a.link.price(&vault.config.breaker)?;
        require!(!tripped, VaultError::CircuitBreakerTripped);
        require!(margin_in.saturating_add(lp_in) <= vault.idle_assets, VaultError::InsufficientIdle);
        require!(lp_out <= vault.lp_shares_held, VaultError::InsufficientShares);
        (price, vault.config, vault.signer(a.vault.to_account_info()))
    };
    let markets = ctx.remaining_accounts;
    // 2. Collateral to the venue (margin, LP pool), the trades, collateral back (no borrow of the vault is held
    //    across the CPIs).
    let (idle_before, lp_before) = (a.idle.amount, a.vault_lp.amount);
    if margin_in > 0 {
        a.link.margin_flow(&signer, &a.collateral(), margin_in, true, false, markets)?;
    }
    if lp_in > 0 {
        a.lp_flow(&signer, lp_in, true, markets)?;
    }
    // The last trade reports the book: later flows move only collateral and the pool, not positions.
    let report = execute_legs(&config, &signer, &a.link, &legs, markets, true)?;
    if lp_out > 0 {
        a.lp_flow(&signer, lp_out, false, markets)?;
    }
    if margin_out > 0 {
        a.link.margin_flow(&signer, &a.collateral(), margin_out, false, false, markets)?;
    }
    // 3. Internal accounting follows what the venue moved (donations to either account were never counted).
    let a = &mut *ctx.accounts;
    a.idle.reload()?;
    a.vault_lp.reload()?;
    let idle_change = i128::from(a.idle.amount) - i128::from(idle_before);
    let lp_change = i128::from(a.vault_lp.amount) - i128::from(lp_before);
    let apply = |x: u64, d: i128| u64::try_from(i128::from(x) + d).map_err(|_| error!(VaultError::MathOverflow));
    let mut v = a.vault.load_mut()?;
    v.idle_assets = apply(v.idle_assets, idle_change)?;
    v.lp_shares_held = apply(v.lp_shares_held, lp_change)?;
    // 4. The result must sit inside every limit.
    // The venue as the CPIs left it (pool cash and LP supply moved with any LP flow).
    let venue = a.link.venue.load()?;
    let margin = &a.link.margin_account;
    let book = match &report {
        Some(r) => Book::reported(r, &v, &venue, margin, markets, now)?,
        None => Holdings::load(&v, &venue, margin, markets, now, LpRead::Exposure)?.into_book(&venue)?,
    };
    let p = book.portfolio(&v, &venue, price.price)?;
    drop(venue);
    let mandate = v.config.mandate.mandate();
    require_within(&mandate, &p)?;
    let breach = mandate.breach(&mandate.excesses(&p).map_err(VaultError::from)?).map_err(VaultError::from)?;
    v.sequence = v.sequence.checked_add(1).ok_or(VaultError::MathOverflow)?;
    emit!(Allocated {
        vault: a.vault.key(),
        strategist: a.strategist.key(),
        sequence: v.sequence,
        moves,
        legs: u8::try_from(legs.len()).map_err(|_| VaultError::MathOverflow)?,
        idle_assets: v.idle_assets,
        lp_shares_held: v.lp_shares_held,
        risk: crate::events::snapshot(&p, breach),
    });
    Ok(())
}
