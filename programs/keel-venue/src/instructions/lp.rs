//! LP pool: deposit collateral for LP shares, redeem shares for collateral. The pool is the counterparty of every
//! trade, so its NAV is its cash (`pool_assets`, internal accounting: donations do not count) plus its claim on
//! every market (traders' unrealised P&L against it, funding owed to it). Deposits are priced at the upper end of
//! the oracle confidence band and rounded up, withdrawals at the lower end and rounded down (keel-math ShareMath):
//! both protect the LPs who stay. Withdrawals are paid from cash only. Remaining accounts: every market in order.
use crate::error::VenueError;
use crate::events::LpFlow;
use crate::health::pool_nav;
use crate::state::{op, Venue};
use crate::token::{pay_out, pull_in};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Burn, Mint, MintTo, TokenAccount, TokenInterface};
use keel_math::margin::Bound;

#[derive(Accounts)]
pub struct LpFlowAccounts<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = collateral_vault, has_one = lp_mint)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub collateral_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(mut)]
    pub lp_mint: Box<InterfaceAccount<'info, Mint>>,
    /// The owner's collateral account (source on deposit, destination on withdrawal).
    #[account(mut, token::mint = collateral_mint, token::authority = owner, token::token_program = token_program)]
    pub owner_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The owner's LP share account.
    #[account(mut, token::mint = lp_mint, token::authority = owner, token::token_program = token_program)]
    pub owner_lp: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = venue.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn deposit_lp<'info>(ctx: Context<'info, LpFlowAccounts<'info>>, amount: u64) -> Result<()> {
    // 1. Open, positive, and worth at least one share at the upper NAV (floor: the pool keeps the dust).
    let (shares, signer) = {
        let venue = ctx.accounts.venue.load()?;
        require!(!venue.is_paused(op::DEPOSIT), VenueError::OperationPaused);
        require!(amount > 0, VenueError::InvalidAmount);
        let now = Clock::get()?.unix_timestamp;
        let nav = pool_nav(&venue, &ctx.accounts.venue.key(), ctx.remaining_accounts, now, Bound::Upper)?;
        require!(nav >= 0, VenueError::PoolInsolvent);
        let nav: u64 = nav.ceil().checked_to_num().ok_or(VenueError::MathOverflow)?;
        let sm = Venue::LP_SHARE_MATH;
        let shares = sm.amount_to_shares_floor(amount, nav, venue.lp_shares).map_err(VenueError::from)?;
        require!(shares > 0, VenueError::RoundsToZero);
        (shares, venue.signer())
    };
    // 2. Collateral in (transfer_checked: the mint's decimals are verified by the token program). No borrow of the
    //    venue is open across the CPIs: it signs the mint below.
    let a = &ctx.accounts;
    let (from, vault, owner) =
        (a.owner_collateral.to_account_info(), a.collateral_vault.to_account_info(), a.owner.to_account_info());
    pull_in(&a.token_program, &a.collateral_mint, from, vault, owner, amount)?;
    // 3. Shares out, signed by the venue PDA.
    let cpi = MintTo {
        mint: a.lp_mint.to_account_info(),
        to: a.owner_lp.to_account_info(),
        authority: a.venue.to_account_info(),
    };
    signer.with_signer(|signer| {
        token_interface::mint_to(CpiContext::new_with_signer(a.token_program.key(), cpi, signer), shares)
    })?;
    // 4. Internal accounting, then the event with post-state.
    let mut venue = ctx.accounts.venue.load_mut()?;
    venue.pool_assets = venue.pool_assets.checked_add(amount).ok_or(VenueError::MathOverflow)?;
    venue.lp_shares = venue.lp_shares.checked_add(shares).ok_or(VenueError::MathOverflow)?;
    emit!(LpFlow {
        venue: ctx.accounts.venue.key(),
        owner: ctx.accounts.owner.key(),
        amount: i128::from(amount),
        shares,
        pool_assets: venue.pool_assets,
        lp_shares: venue.lp_shares,
    });
    Ok(())
}

pub fn withdraw_lp<'info>(ctx: Context<'info, LpFlowAccounts<'info>>, shares: u64) -> Result<()> {
    // 1. Open, positive, held, and worth at least one collateral unit at the lower NAV (floor), paid from cash.
    let (amount, signer) = {
        let venue = ctx.accounts.venue.load()?;
        require!(!venue.is_paused(op::WITHDRAW), VenueError::OperationPaused);
        require!(shares > 0, VenueError::InvalidAmount);
        require!(ctx.accounts.owner_lp.amount >= shares, VenueError::InsufficientShares);
        let now = Clock::get()?.unix_timestamp;
        let key = ctx.accounts.venue.key();
        let nav = pool_nav(&venue, &key, ctx.remaining_accounts, now, Bound::Lower)?.max(fixed::types::I80F48::ZERO);
        let nav: u64 = nav.floor().checked_to_num().ok_or(VenueError::MathOverflow)?;
        let sm = Venue::LP_SHARE_MATH;
        let amount = sm.shares_to_amount_floor(shares, nav, venue.lp_shares).map_err(VenueError::from)?;
        require!(amount > 0, VenueError::RoundsToZero);
        require!(amount <= venue.pool_assets, VenueError::InsufficientPoolLiquidity);
        (amount, venue.signer())
    };
    // 2. Burn the shares (the owner signs), then pay from the vault (the venue PDA signs).
    let a = &ctx.accounts;
    let cpi = Burn {
        mint: a.lp_mint.to_account_info(),
        from: a.owner_lp.to_account_info(),
        authority: a.owner.to_account_info(),
    };
    token_interface::burn(CpiContext::new(a.token_program.key(), cpi), shares)?;
    let (vault, to) = (a.collateral_vault.to_account_info(), a.owner_collateral.to_account_info());
    pay_out(a.venue.to_account_info(), &signer, &a.token_program, &a.collateral_mint, vault, to, amount)?;
    // 3. Internal accounting and the event.
    let mut venue = ctx.accounts.venue.load_mut()?;
    venue.pool_assets = venue.pool_assets.checked_sub(amount).ok_or(VenueError::MathOverflow)?;
    venue.lp_shares = venue.lp_shares.checked_sub(shares).ok_or(VenueError::MathOverflow)?;
    emit!(LpFlow {
        venue: ctx.accounts.venue.key(),
        owner: ctx.accounts.owner.key(),
        amount: -i128::from(amount),
        shares,
        pool_assets: venue.pool_assets,
        lp_shares: venue.lp_shares,
    });
    Ok(())
}
