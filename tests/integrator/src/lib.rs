//! Test-only integrator: a program that deposits into a keel-vault, requests and claims withdrawals by CPI, with
//! its own PDA ("holder", per user) as the vault depositor. It proves the vault's CPI surface works for another
//! program's PDA signer. Every account is passed through; keel-vault performs all the checks.
use anchor_lang::prelude::*;

declare_id!("ChdKz3gnmsqiuYQrMUQTVxfFnVkGMyyicPiSYJ6pRPwM");

#[program]
pub mod keel_integrator {
    use super::*;

    /// Deposits `amount` of the holder's collateral into the vault for shares held by the holder.
    pub fn deposit<'info>(ctx: Context<'info, Passthrough<'info>>, amount: u64) -> Result<()> {
        let a = &ctx.accounts;
        let accounts = keel_vault::cpi::accounts::Deposit {
            owner: a.holder.to_account_info(),
            vault: a.vault.to_account_info(),
            link: a.link(),
            collateral_mint: a.collateral_mint.to_account_info(),
            idle: a.idle.to_account_info(),
            share_mint: a.share_mint.to_account_info(),
            owner_collateral: a.holder_collateral.to_account_info(),
            owner_shares: a.holder_shares.to_account_info(),
            token_program: a.token_program.to_account_info(),
        };
        let remaining = ctx.remaining_accounts.to_vec();
        a.with_holder(ctx.bumps.holder, |s| {
            keel_vault::cpi::deposit(a.ctx(accounts, s).with_remaining_accounts(remaining), amount)
        })
    }

    /// Requests a withdrawal of `shares` held by the holder (the holder pays the request's rent).
    pub fn request<'info>(ctx: Context<'info, Passthrough<'info>>, shares: u64) -> Result<()> {
        let a = &ctx.accounts;
        let accounts = keel_vault::cpi::accounts::RequestWithdrawal {
            owner: a.holder.to_account_info(),
            vault: a.vault.to_account_info(),
            link: a.link(),
            share_mint: a.share_mint.to_account_info(),
            escrow: a.escrow.to_account_info(),
            owner_shares: a.holder_shares.to_account_info(),
            request: a.request.to_account_info(),
            token_program: a.token_program.to_account_info(),
            system_program: a.system_program.to_account_info(),
        };
        let remaining = ctx.remaining_accounts.to_vec();
        a.with_holder(ctx.bumps.holder, |s| {
            keel_vault::cpi::request_withdrawal(a.ctx(accounts, s).with_remaining_accounts(remaining), shares)
        })
    }

    /// Claims the holder's matured withdrawal into the holder's collateral account.
    pub fn claim<'info>(ctx: Context<'info, Passthrough<'info>>) -> Result<()> {
        let a = &ctx.accounts;
        let accounts = keel_vault::cpi::accounts::ClaimWithdrawal {
            owner: a.holder.to_account_info(),
            vault: a.vault.to_account_info(),
            link: a.link(),
            request: a.request.to_account_info(),
            share_mint: a.share_mint.to_account_info(),
            escrow: a.escrow.to_account_info(),
            collateral_mint: a.collateral_mint.to_account_info(),
            idle: a.idle.to_account_info(),
            owner_collateral: a.holder_collateral.to_account_info(),
            token_program: a.token_program.to_account_info(),
        };
        let remaining = ctx.remaining_accounts.to_vec();
        a.with_holder(ctx.bumps.holder, |s| {
            keel_vault::cpi::claim_withdrawal(a.ctx(accounts, s).with_remaining_accounts(remaining))
        })
    }
}

/// Every account the three vault calls use; unchecked here because keel-vault checks them.
#[derive(Accounts)]
pub struct Passthrough<'info> {
    pub user: Signer<'info>,
    /// CHECK: the integrator's system-owned PDA ["holder", user] that owns the vault position.
    #[account(mut, seeds = [b"holder", user.key().as_ref()], bump)]
    pub holder: UncheckedAccount<'info>,
    /// CHECK: passed through to keel-vault.
    pub vault_program: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub venue_program: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub venue: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub underlying: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub price_update: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub collateral_mint: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub idle: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub share_mint: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub escrow: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub holder_collateral: UncheckedAccount<'info>,
    /// CHECK: passed through.
    #[account(mut)]
    pub holder_shares: UncheckedAccount<'info>,
    /// CHECK: passed through (the holder's withdrawal request PDA of keel-vault).
    #[account(mut)]
    pub request: UncheckedAccount<'info>,
    /// CHECK: passed through.
    pub token_program: UncheckedAccount<'info>,
    pub system_program: Program<'info, System>,
}

impl<'info> Passthrough<'info> {
    fn link(&self) -> keel_vault::cpi::accounts::VenueLink<'info> {
        keel_vault::cpi::accounts::VenueLink {
            venue_program: self.venue_program.to_account_info(),
            venue: self.venue.to_account_info(),
            margin_account: self.margin_account.to_account_info(),
            underlying: self.underlying.to_account_info(),
            price_update: self.price_update.to_account_info(),
        }
    }

    fn ctx<'a, 'b, T: ToAccountMetas + ToAccountInfos<'info>>(
        &self,
        accounts: T,
        signer: &'a [&'b [&'b [u8]]],
    ) -> CpiContext<'a, 'b, 'b, 'info, T> {
        CpiContext::new_with_signer(self.vault_program.key(), accounts, signer)
    }

    fn with_holder<R>(&self, bump: u8, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let user = self.user.key();
        let bump = [bump];
        let seeds: [&[u8]; 3] = [b"holder", user.as_ref(), &bump];
        f(&[&seeds])
    }
}

/// Host-side entry point for solana-program-test's native mode (see keel-vault's `process_native`).
#[cfg(not(target_os = "solana"))]
pub fn process_native<'a, 'b, 'c, 'd>(
    program_id: &'a Pubkey,
    accounts: &'b [AccountInfo<'c>],
    data: &'d [u8],
) -> anchor_lang::solana_program::entrypoint::ProgramResult {
    // SAFETY: the transmutes only unify lifetimes of references that are valid for the whole call.
    let (program_id, accounts, data) = unsafe {
        (
            core::mem::transmute::<&'a Pubkey, &'c Pubkey>(program_id),
            core::mem::transmute::<&'b [AccountInfo<'c>], &'c [AccountInfo<'c>]>(accounts),
            core::mem::transmute::<&'d [u8], &'c [u8]>(data),
        )
    };
    entry(program_id, accounts, data)
}
