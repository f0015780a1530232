//! Two-step withdrawal. `request_withdrawal` escrows shares and records their value at the lower NAV bound;
//! after the delay `claim_withdrawal` pays min(value at request, value now) from idle collateral and burns the
//! shares. Nobody can profit from a NAV move between the two steps, and the lower bound protects those who stay.
//! Neither step is stopped by a guardian pause or the circuit breaker. Remaining accounts: the markets of the
//! vault's open venue positions.
use crate::error::VaultError;
use crate::events::{WithdrawalClaimed, WithdrawalRequested};
use crate::fees;
use crate::state::{Vault, WithdrawalRequest};
use crate::token_account::{read_balance, Expect};
use crate::tokens::{burn_escrowed, transfer_signed_by_user, transfer_signed_by_vault};
use crate::venue_link::*;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::TokenInterface;
use keel_math::margin::Bound;

#[derive(Accounts)]
pub struct RequestWithdrawal<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = share_mint, has_one = escrow)]
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    /// CHECK: the vault's share mint (`has_one`); the token program checks it against both token accounts.
    pub share_mint: UncheckedAccount<'info>,
    /// CHECK: the vault's share escrow (`has_one`); the token program checks its mint.
    #[account(mut)]
    pub escrow: UncheckedAccount<'info>,
    /// CHECK: the owner's share account: the vault's share mint, the owner's, the vault's token program
    /// (`token_account::read_balance` in step 1, with the errors of Anchor's `token::` constraints).
    #[account(mut)]
    pub owner_shares: UncheckedAccount<'info>,
    // init_if_needed so that a second request while one is pending gets a clear error from the handler instead
    // of the system program's refusal to create an existing account (found by the action-sequence fuzzer). A live
    // request always holds shares, so `shares == 0` means freshly created.
    #[account(
        init_if_needed,
        payer = owner,
        space = 8 + WithdrawalRequest::INIT_SPACE,
        seeds = [WithdrawalRequest::SEED, vault.key().as_ref(), owner.key().as_ref()],
        bump,
    )]
    pub request: Box<Account<'info, WithdrawalRequest>>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

pub fn request_withdrawal<'info>(ctx: Context<'info, RequestWithdrawal<'info>>, shares: u64) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let (nav, value, claimable_ts, decimals) = {
        let mut vault = ctx.accounts.vault.load_mut()?;
        // 1. The owner's share account; no request pending; positive and held.
        let a = &ctx.accounts;
        let expect =
            Expect { mint: &vault.share_mint, authority: Some(a.owner.key), token_program: &vault.token_program };
        let held = read_balance(&a.owner_shares, "owner_shares", &expect)?;
        ctx.accounts.link.check(&vault)?;
        require!(ctx.accounts.request.shares == 0, VaultError::WithdrawalAlreadyPending);
        require!(shares > 0, VaultError::InvalidAmount);
        require!(held >= shares, VaultError::InsufficientShares);
        // 2. Fees to date, then the value at the lower NAV bound (rounded down).
        let [lower] = ctx.accounts.link.values(&vault, ctx.remaining_accounts, now, [Bound::Lower])?;
        let nav = fees::accrue_at_lower_nav(&mut vault, lower, now)?;
        let value =
            Vault::SHARE_MATH.shares_to_amount_floor(shares, nav, vault.total_shares).map_err(VaultError::from)?;
        require!(value > 0, VaultError::RoundsToZero);
        vault.pending_withdrawal_shares =
            vault.pending_withdrawal_shares.checked_add(shares).ok_or(VaultError::MathOverflow)?;
        (nav, value, now.saturating_add(i64::from(vault.config.withdrawal_delay_secs)), vault.share_decimals())
    };
    // 3. Shares into escrow (the owner signs).
    let a = &ctx.accounts;
    let (from, to, owner) = (a.owner_shares.to_account_info(), a.escrow.to_account_info(), a.owner.to_account_info());
    let mint = (a.share_mint.to_account_info(), decimals);
    transfer_signed_by_user(&a.token_program, mint, from, to, owner, shares)?;
    // 4. Record.
    let r = &mut ctx.accounts.request;
    r.bump = ctx.bumps.request;
    r.vault = ctx.accounts.vault.key();
    r.owner = ctx.accounts.owner.key();
    r.shares = shares;
    r.value_at_request = value;
    r.requested_ts = now;
    r.claimable_ts = claimable_ts;
    emit!(WithdrawalRequested { vault: r.vault, owner: r.owner, shares, value_at_request: value, claimable_ts, nav });
    Ok(())
}

#[derive(Accounts)]
pub struct ClaimWithdrawal<'info> {
    #[account(mut)]
    pub owner: Signer<'info>,
    #[account(mut, has_one = collateral_mint, has_one = idle, has_one = share_mint, has_one = escrow)]
    pub vault: AccountLoader<'info, Vault>,
    pub link: VenueLink<'info>,
    #[account(mut, close = owner, has_one = owner, has_one = vault)]
    pub request: Box<Account<'info, WithdrawalRequest>>,
    /// CHECK: the vault's share mint (`has_one`); the token program checks the vault PDA is its authority.
    #[account(mut)]
    pub share_mint: UncheckedAccount<'info>,
    /// CHECK: the vault's share escrow (`has_one`), owned by the vault PDA; the token program checks its mint.
    #[account(mut)]
    pub escrow: UncheckedAccount<'info>,
    /// CHECK: the vault's collateral mint (`has_one`); the token program checks it in `transfer_checked`.
    pub collateral_mint: UncheckedAccount<'info>,
    /// CHECK: the vault's idle token account (`has_one`); the token program checks its mint.
    #[account(mut)]
    pub idle: UncheckedAccount<'info>,
    /// CHECK: where the claim is paid: any account of the vault's collateral mint under the vault's token program
    /// (`token_account::read_balance` in step 1, with the errors of Anchor's `token::` constraints). The idle account
    /// is passed undecoded, which Anchor's duplicate check does not cover: paying "to" idle would burn the shares and
    /// debit idle_assets without moving a token.
    #[account(
        mut,
        constraint = owner_collateral.key() != idle.key() @ ErrorCode::ConstraintDuplicateMutableAccount,
    )]
    pub owner_collateral: UncheckedAccount<'info>,
    #[account(address = vault.load()?.token_program)]
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn claim_withdrawal<'info>(ctx: Context<'info, ClaimWithdrawal<'info>>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let r = &ctx.accounts.request;
    let (shares, at_request) = (r.shares, r.value_at_request);
    let (paid, value_now, decimals, signer) = {
        let mut vault = ctx.accounts.vault.load_mut()?;
        // 1. The payee is a collateral account; the delay has passed.
        let payee = Expect { mint: &vault.collateral_mint, authority: None, token_program: &vault.token_program };
        read_balance(&ctx.accounts.owner_collateral, "owner_collateral", &payee)?;
        ctx.accounts.link.check(&vault)?;
        require!(now >= r.claimable_ts, VaultError::WithdrawalNotReady);
        // 2. Fees to date, then the value now at the lower bound; pay the smaller, from idle collateral.
        let [lower] = ctx.accounts.link.values(&vault, ctx.remaining_accounts, now, [Bound::Lower])?;
        let nav = fees::accrue_at_lower_nav(&mut vault, lower, now)?;
        let value_now =
            Vault::SHARE_MATH.shares_to_amount_floor(shares, nav, vault.total_shares).map_err(VaultError::from)?;
        let paid = at_request.min(value_now);
        require!(paid <= vault.idle_assets, VaultError::InsufficientIdle);
        (paid, value_now, vault.collateral_decimals, vault.signer(ctx.accounts.vault.to_account_info()))
    };
    // 3. Burn the escrowed shares and pay.
    let a = &ctx.accounts;
    burn_escrowed(&signer, &a.token_program, a.share_mint.to_account_info(), a.escrow.to_account_info(), shares)?;
    if paid > 0 {
        let (from, to) = (a.idle.to_account_info(), a.owner_collateral.to_account_info());
        let mint = (a.collateral_mint.to_account_info(), decimals);
        transfer_signed_by_vault(&signer, &a.token_program, mint, from, to, paid)?;
    }
    // 4. Internal accounting and the event (the request account closes to the owner).
    let mut v = ctx.accounts.vault.load_mut()?;
    v.idle_assets -= paid;
    v.total_shares = v.total_shares.checked_sub(shares).ok_or(VaultError::MathOverflow)?;
    v.pending_withdrawal_shares = v.pending_withdrawal_shares.checked_sub(shares).ok_or(VaultError::MathOverflow)?;
    emit!(WithdrawalClaimed {
        vault: ctx.accounts.vault.key(),
        owner: ctx.accounts.owner.key(),
        shares,
        paid,
        value_now,
        total_shares: v.total_shares,
        idle_assets: v.idle_assets,
    });
    Ok(())
}
