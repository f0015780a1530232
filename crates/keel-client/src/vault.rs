//! keel-vault: PDAs and instruction builders.
use crate::anchor_ix;
use crate::venue::{lp_mint_pda, margin_pda};
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use keel_vault::state::{Vault, VaultConfig, WithdrawalRequest};

pub fn vault_pda(venue: &Pubkey, id: u16) -> Pubkey {
    Pubkey::find_program_address(&[Vault::SEED, venue.as_ref(), &id.to_le_bytes()], &keel_vault::ID).0
}
fn vault_child(seed: &[u8], vault: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[seed, vault.as_ref()], &keel_vault::ID).0
}
pub fn shares_pda(vault: &Pubkey) -> Pubkey {
    vault_child(Vault::SHARES_SEED, vault)
}
pub fn idle_pda(vault: &Pubkey) -> Pubkey {
    vault_child(Vault::IDLE_SEED, vault)
}
pub fn escrow_pda(vault: &Pubkey) -> Pubkey {
    vault_child(Vault::ESCROW_SEED, vault)
}
pub fn lp_pda(vault: &Pubkey) -> Pubkey {
    vault_child(Vault::LP_SEED, vault)
}
pub fn withdrawal_pda(vault: &Pubkey, owner: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[WithdrawalRequest::SEED, vault.as_ref(), owner.as_ref()], &keel_vault::ID).0
}

/// The venue-side keys a vault is created against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VenueKeys {
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub mint: Pubkey,
    pub token_program: Pubkey,
}

pub fn create_vault_ix(
    curator: &Pubkey,
    k: &VenueKeys,
    id: u16,
    strategist: Pubkey,
    guardian: Pubkey,
    config: VaultConfig,
) -> Instruction {
    let vault = vault_pda(&k.venue, id);
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::CreateVault {
            curator: *curator,
            venue: k.venue,
            underlying: k.underlying,
            collateral_mint: k.mint,
            vault,
            share_mint: shares_pda(&vault),
            idle: idle_pda(&vault),
            escrow: escrow_pda(&vault),
            venue_lp_mint: lp_mint_pda(&k.venue),
            vault_lp: lp_pda(&vault),
            margin_account: margin_pda(&k.venue, &vault),
            venue_program: keel_venue::ID,
            token_program: k.token_program,
            system_program: anchor_lang::system_program::ID,
        },
        keel_vault::instruction::CreateVault { id, strategist, guardian, config },
    )
}

pub fn pause_ix(guardian: &Pubkey, vault: &Pubkey, secs: u32) -> Instruction {
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::Pause { guardian: *guardian, vault: *vault },
        keel_vault::instruction::Pause { duration_secs: secs },
    )
}

pub fn unpause_ix(actor: &Pubkey, vault: &Pubkey) -> Instruction {
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::Unpause { actor: *actor, vault: *vault },
        keel_vault::instruction::Unpause {},
    )
}

pub fn queue_config_ix(curator: &Pubkey, vault: &Pubkey, config: VaultConfig) -> Instruction {
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::QueueConfig { curator: *curator, vault: *vault },
        keel_vault::instruction::QueueConfig { config },
    )
}

pub fn apply_config_ix(actor: &Pubkey, vault: &Pubkey, cancel: bool) -> Instruction {
    let accounts = keel_vault::accounts::ApplyConfig { actor: *actor, vault: *vault };
    if cancel {
        anchor_ix(keel_vault::ID, accounts, keel_vault::instruction::CancelConfig {})
    } else {
        anchor_ix(keel_vault::ID, accounts, keel_vault::instruction::ApplyConfig {})
    }
}
