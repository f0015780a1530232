//! Curator changes (mandate, fees, caps, rewards, roles' limits) go through a timelock: queued by the curator,
//! applied by anyone after `timelock_secs` (of the configuration in force), cancellable by the guardian or curator
//! until then. Depositors see a fee increase or a riskier mandate coming and can leave first.
use crate::error::VaultError;
use crate::events::{ConfigApplied, ConfigCancelled, ConfigQueued};
use crate::state::{Vault, VaultConfig};
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct QueueConfig<'info> {
    pub curator: Signer<'info>,
    #[account(mut, has_one = curator @ VaultError::UnauthorizedCurator)]
    pub vault: AccountLoader<'info, Vault>,
}

pub fn queue_config(ctx: Context<QueueConfig>, config: VaultConfig) -> Result<()> {
    // 1. Valid, then queued with its eta (replacing any queued change, which restarts the clock).
    require!(config.is_valid(), VaultError::InvalidConfig);
    let now = Clock::get()?.unix_timestamp;
    let mut v = ctx.accounts.vault.load_mut()?;
    v.pending_config = config;
    v.pending_eta = now.saturating_add(i64::from(v.config.timelock_secs));
    emit!(ConfigQueued {
        vault: ctx.accounts.vault.key(),
        curator: ctx.accounts.curator.key(),
        config,
        eta: v.pending_eta
    });
    Ok(())
}

#[derive(Accounts)]
pub struct ApplyConfig<'info> {
    pub actor: Signer<'info>,
    #[account(mut)]
    pub vault: AccountLoader<'info, Vault>,
}

pub fn apply_config(ctx: Context<ApplyConfig>) -> Result<()> {
    // 1. Something queued and its time has come.
    let now = Clock::get()?.unix_timestamp;
    let mut v = ctx.accounts.vault.load_mut()?;
    require!(v.pending_eta != 0, VaultError::NoPendingChange);
    require!(now >= v.pending_eta, VaultError::TimelockNotExpired);
    // 2. In force.
    v.config = v.pending_config;
    v.pending_eta = 0;
    emit!(ConfigApplied { vault: ctx.accounts.vault.key(), config: v.config });
    Ok(())
}

pub fn cancel_config(ctx: Context<ApplyConfig>) -> Result<()> {
    // 1. Guardian (veto) or curator (withdraws its own change).
    let mut v = ctx.accounts.vault.load_mut()?;
    let actor = ctx.accounts.actor.key();
    require!(actor == v.guardian || actor == v.curator, VaultError::UnauthorizedGuardian);
    require!(v.pending_eta != 0, VaultError::NoPendingChange);
    // 2. Dropped.
    v.pending_eta = 0;
    emit!(ConfigCancelled { vault: ctx.accounts.vault.key(), actor });
    Ok(())
}
