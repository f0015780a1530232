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
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::CreateVault {
            curator: *curator,
            venue: k.venue,
            underlying: k.underlying,
            collateral_mint: k.mint,
            vault: vault_pda(&k.venue, id),
            system_program: anchor_lang::system_program::ID,
        },
        keel_vault::instruction::CreateVault { id, strategist, guardian, config },
    )
}

/// Step 2 of creating vault `id` (after [`create_vault_ix`], in its own transaction: together they exceed the
/// 1,232-byte limit): the vault's token accounts and its venue margin account.
pub fn open_vault_accounts_ix(curator: &Pubkey, k: &VenueKeys, id: u16) -> Instruction {
    let vault = vault_pda(&k.venue, id);
    anchor_ix(
        keel_vault::ID,
        keel_vault::accounts::OpenVaultAccounts {
            curator: *curator,
            vault,
            venue: k.venue,
            collateral_mint: k.mint,
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
        keel_vault::instruction::OpenVaultAccounts {},
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

/// The keys every instruction of one vault needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultKeys {
    pub vault: Pubkey,
    pub venue: Pubkey,
    pub underlying: Pubkey,
    /// The underlying's Pyth PriceUpdateV2 account.
    pub oracle: Pubkey,
    pub mint: Pubkey,
    pub token_program: Pubkey,
}

impl VaultKeys {
    /// The `VenueLink` account group.
    pub fn link(&self) -> keel_vault::accounts::VenueLink {
        keel_vault::accounts::VenueLink {
            venue_program: keel_venue::ID,
            venue: self.venue,
            margin_account: margin_pda(&self.venue, &self.vault),
            underlying: self.underlying,
            price_update: self.oracle,
        }
    }

    /// `rebalance` (or `deleverage`) with `markets` (positions' and legs' markets, writable) as remaining accounts.
    #[allow(clippy::too_many_arguments)]
    pub fn rebalance_ix(
        &self,
        keeper: &Pubkey,
        keeper_collateral: &Pubkey,
        pricing: keel_vault::instructions::Pricing,
        legs: Vec<keel_vault::instructions::Leg>,
        margin_out: u64,
        deleverage: bool,
        markets: &[Pubkey],
    ) -> Instruction {
        let accounts = keel_vault::accounts::Rebalance {
            keeper: *keeper,
            vault: self.vault,
            link: self.link(),
            collateral_mint: self.mint,
            idle: idle_pda(&self.vault),
            keeper_collateral: *keeper_collateral,
            venue_collateral: crate::venue::collateral_vault_pda(&self.venue),
            token_program: self.token_program,
        };
        let ix = if deleverage {
            anchor_ix(keel_vault::ID, accounts, keel_vault::instruction::Deleverage { pricing, legs, margin_out })
        } else {
            anchor_ix(keel_vault::ID, accounts, keel_vault::instruction::Rebalance { pricing, legs, margin_out })
        };
        crate::with_writable(ix, markets)
    }
}

impl VaultKeys {
    /// `deposit`; `markets`: what NAV readers pass (see the vault docs).
    pub fn deposit_ix(
        &self,
        owner: &Pubkey,
        owner_collateral: &Pubkey,
        owner_shares: &Pubkey,
        amount: u64,
        markets: &[Pubkey],
    ) -> Instruction {
        let ix = anchor_ix(
            keel_vault::ID,
            keel_vault::accounts::Deposit {
                owner: *owner,
                vault: self.vault,
                link: self.link(),
                collateral_mint: self.mint,
                idle: idle_pda(&self.vault),
                share_mint: shares_pda(&self.vault),
                owner_collateral: *owner_collateral,
                owner_shares: *owner_shares,
                token_program: self.token_program,
            },
            keel_vault::instruction::Deposit { amount },
        );
        crate::with_writable(ix, markets)
    }

    pub fn request_ix(&self, owner: &Pubkey, owner_shares: &Pubkey, shares: u64, markets: &[Pubkey]) -> Instruction {
        let ix = anchor_ix(
            keel_vault::ID,
            keel_vault::accounts::RequestWithdrawal {
                owner: *owner,
                vault: self.vault,
                link: self.link(),
                share_mint: shares_pda(&self.vault),
                escrow: escrow_pda(&self.vault),
                owner_shares: *owner_shares,
                request: withdrawal_pda(&self.vault, owner),
                token_program: self.token_program,
                system_program: anchor_lang::system_program::ID,
            },
            keel_vault::instruction::RequestWithdrawal { shares },
        );
        crate::with_writable(ix, markets)
    }

    pub fn claim_ix(&self, owner: &Pubkey, owner_collateral: &Pubkey, markets: &[Pubkey]) -> Instruction {
        let ix = anchor_ix(
            keel_vault::ID,
            keel_vault::accounts::ClaimWithdrawal {
                owner: *owner,
                vault: self.vault,
                link: self.link(),
                request: withdrawal_pda(&self.vault, owner),
                share_mint: shares_pda(&self.vault),
                escrow: escrow_pda(&self.vault),
                collateral_mint: self.mint,
                idle: idle_pda(&self.vault),
                owner_collateral: *owner_collateral,
                token_program: self.token_program,
            },
            keel_vault::instruction::ClaimWithdrawal {},
        );
        crate::with_writable(ix, markets)
    }

    /// `allocate` by `strategist`; `markets`: positions' and legs' markets (every venue market first when LP
    /// shares are held or moved).
    pub fn allocate_ix(
        &self,
        strategist: &Pubkey,
        moves: keel_vault::instructions::Moves,
        legs: Vec<keel_vault::instructions::Leg>,
        markets: &[Pubkey],
    ) -> Instruction {
        let ix = anchor_ix(
            keel_vault::ID,
            keel_vault::accounts::Allocate {
                strategist: *strategist,
                vault: self.vault,
                link: self.link(),
                collateral_mint: self.mint,
                idle: idle_pda(&self.vault),
                venue_collateral: crate::venue::collateral_vault_pda(&self.venue),
                venue_lp_mint: lp_mint_pda(&self.venue),
                vault_lp: lp_pda(&self.vault),
                token_program: self.token_program,
            },
            keel_vault::instruction::Allocate { moves, legs },
        );
        crate::with_writable(ix, markets)
    }
}
