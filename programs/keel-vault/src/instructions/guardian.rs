//! Guardian pause: bounded in length, auto-expiring, and rate-limited by a cooldown after each pause ends, so a
//! compromised guardian cannot freeze the vault indefinitely. The guardian may lift a pause early; after expiry
//! anyone may record that it ended. Claims, requests and deleveraging are never paused.
use crate::error::VaultError;
use crate::events::PauseChanged;
use crate::state::Vault;
use anchor_lang::prelude::*;

#[derive(Accounts)]
pub struct Pause<'info> {
    pub guardian: Signer<'info>,
    #[account(mut, has_one = guardian @ VaultError::UnauthorizedGuardian)]
    pub vault: AccountLoader<'info, Vault>,
}

pub fn pause(ctx: Context<Pause>, duration_secs: u32) -> Result<()> {
    // 1. Within the maximum, and not inside the cooldown that follows the previous pause.
    let now = Clock::get()?.unix_timestamp;
    let mut v = ctx.accounts.vault.load_mut()?;
    require!(duration_secs > 0 && duration_secs <= v.config.max_pause_secs, VaultError::PauseNotAllowed);
    let cooldown_end = v.paused_until.saturating_add(i64::from(v.config.pause_cooldown_secs));
    require!(v.paused_until == 0 || now >= cooldown_end, VaultError::PauseNotAllowed);
    // 2. Pause until now + duration.
    v.paused_until = now.saturating_add(i64::from(duration_secs));
    emit!(PauseChanged {
        vault: ctx.accounts.vault.key(),
        actor: ctx.accounts.guardian.key(),
        paused_until: v.paused_until
    });
    Ok(())
}

#[derive(Accounts)]
pub struct Unpause<'info> {
    pub actor: Signer<'info>,
    #[account(mut)]
    pub vault: AccountLoader<'info, Vault>,
}

pub fn unpause(ctx: Context<Unpause>) -> Result<()> {
    // 1. The guardian at any time; anyone once the pause has expired.
    let now = Clock::get()?.unix_timestamp;
    let mut v = ctx.accounts.vault.load_mut()?;
    let is_guardian = ctx.accounts.actor.key() == v.guardian;
    require!(is_guardian || !v.is_paused(now), VaultError::UnauthorizedGuardian);
    // 2. The pause ends now at the latest (the cooldown runs from here).
    v.paused_until = v.paused_until.min(now);
    emit!(PauseChanged {
        vault: ctx.accounts.vault.key(),
        actor: ctx.accounts.actor.key(),
        paused_until: v.paused_until
    });
    Ok(())
}
