//! Margin accounts: open one (any owner, including another program's PDA), deposit collateral, withdraw it
//! subject to initial margin. Remaining accounts of `withdraw_margin`: the markets of the open positions; with
//! `report`, its return data is the account's book after the withdrawal (see [`BookReport`]).
use crate::error::VenueError;
use crate::events::MarginFlow;
use crate::health::{book, BookReport};
use crate::state::{op, MarginAccount, Venue};
use crate::token::{pay_out, pull_in};
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

#[derive(Accounts)]
pub struct OpenMarginAccount<'info> {
    /// Pays rent; separate from the owner so a program PDA can own an account.
    #[account(mut)]
    pub payer: Signer<'info>,
    pub owner: Signer<'info>,
    pub venue: AccountLoader<'info, Venue>,
    #[account(
        init,
        payer = payer,
        space = MarginAccount::SPACE,
        seeds = [MarginAccount::SEED, venue.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    pub system_program: Program<'info, System>,
}

pub fn open_margin_account(ctx: Context<OpenMarginAccount>) -> Result<()> {
    // 1. Empty account bound to its venue and owner.
    let mut a = ctx.accounts.margin_account.load_init()?;
    a.bump = ctx.bumps.margin_account;
    a.venue = ctx.accounts.venue.key();
    a.owner = ctx.accounts.owner.key();
    a.collateral = 0;
    a.positions = Default::default();
    emit!(MarginFlow { account: ctx.accounts.margin_account.key(), owner: a.owner, amount: 0, collateral: 0 });
    Ok(())
}

#[derive(Accounts)]
pub struct MarginFlowAccounts<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = collateral_vault)]
    pub venue: AccountLoader<'info, Venue>,
    #[account(mut, has_one = venue, has_one = owner @ VenueError::UnauthorizedOwner)]
    pub margin_account: AccountLoader<'info, MarginAccount>,
    #[account(mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub collateral_vault: Box<InterfaceAccount<'info, TokenAccount>>,
    /// The owner's token account (source on deposit, destination on withdrawal; any owner on withdrawal).
    #[account(mut, token::mint = collateral_mint, token::token_program = token_program)]
    pub owner_collateral: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(address = venue.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn deposit_margin(ctx: Context<MarginFlowAccounts>, amount: u64) -> Result<()> {
    // 1. Open and positive.
    require!(!ctx.accounts.venue.load()?.is_paused(op::DEPOSIT), VenueError::OperationPaused);
    require!(amount > 0, VenueError::InvalidAmount);
    let signed = i64::try_from(amount).map_err(|_| VenueError::MathOverflow)?;
    // 2. Tokens in (the owner signs for its token account; the token program rejects anyone else's).
    let a = &ctx.accounts;
    let (from, vault, owner) =
        (a.owner_collateral.to_account_info(), a.collateral_vault.to_account_info(), a.owner.to_account_info());
    pull_in(&a.token_program, &a.collateral_mint, from, vault, owner, amount)?;
    // 3. Credit and announce.
    let mut acct = ctx.accounts.margin_account.load_mut()?;
    acct.collateral = acct.collateral.checked_add(signed).ok_or(VenueError::MathOverflow)?;
    emit!(MarginFlow {
        account: ctx.accounts.margin_account.key(),
        owner: acct.owner,
        amount: signed,
        collateral: acct.collateral,
    });
    Ok(())
}

pub fn withdraw_margin<'info>(ctx: Context<'info, MarginFlowAccounts<'info>>, amount: u64, report: bool) -> Result<()> {
    // 1. Open, positive, covered by realised collateral (unrealised gains are not withdrawable).
    let venue = ctx.accounts.venue.load()?;
    require!(!venue.is_paused(op::WITHDRAW), VenueError::OperationPaused);
    require!(amount > 0, VenueError::InvalidAmount);
    let signed = i64::try_from(amount).map_err(|_| VenueError::MathOverflow)?;
    // 2. Debit, then require initial margin on what is left (the borrows end before the token CPI, which the
    //    venue signs).
    let now = Clock::get()?.unix_timestamp;
    let account = ctx.accounts.margin_account.key();
    let (owner, collateral, valued) = {
        let mut acct = ctx.accounts.margin_account.load_mut()?;
        require!(acct.collateral >= signed, VenueError::InsufficientCollateral);
        acct.collateral -= signed;
        let valued = book(&acct, &venue, &[], ctx.remaining_accounts, now, report)?;
        require!(valued.health.meets_initial(), VenueError::InsufficientMargin);
        (acct.owner, acct.collateral, valued)
    };
    let signer = venue.signer();
    drop(venue);
    // 3. Tokens out, signed by the venue PDA.
    let a = &ctx.accounts;
    let (vault, to) = (a.collateral_vault.to_account_info(), a.owner_collateral.to_account_info());
    pay_out(a.venue.to_account_info(), &signer, &a.token_program, &a.collateral_mint, vault, to, amount)?;
    emit!(MarginFlow { account, owner, amount: -signed, collateral });
    // 4. The book, after the token CPI (every invocation resets the return data).
    if report {
        BookReport::publish(account, collateral, &valued);
    }
    Ok(())
}
