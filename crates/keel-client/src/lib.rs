//! keel-client: instruction builders and PDA helpers for keel-venue and keel-vault, shared by the keeper, the
//! migrations and the integration tests (and usable by integrators). Builders take plain keys and return
//! `Instruction`s; account decoding uses the programs' own Anchor types.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
use anchor_lang::{InstructionData, ToAccountMetas};

pub mod chain;
pub mod lookup;
pub mod presets;
pub mod pyth;
pub mod token;
pub mod vault;
pub mod venue;

/// Builds an Anchor instruction from its generated `accounts` and `instruction` structs.
pub fn anchor_ix(program_id: Pubkey, accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id, accounts: accounts.to_account_metas(None), data: data.data() }
}

/// f64 -> raw I80F48 bits, the form the programs' fixed-point arguments take.
pub fn bits(x: f64) -> i128 {
    fixed::types::I80F48::from_num(x).to_bits()
}

/// f64 -> I80F48 as stored in a zero-copy account's configuration (`PodI128`).
pub fn pod(x: f64) -> keel_venue::state::PodI128 {
    bits(x).into()
}

/// Appends `keys` as read-only remaining accounts.
pub fn with_readonly(mut ix: Instruction, keys: &[Pubkey]) -> Instruction {
    ix.accounts.extend(keys.iter().map(|k| AccountMeta::new_readonly(*k, false)));
    ix
}

/// Appends `keys` as writable remaining accounts (markets a trade may touch).
pub fn with_writable(mut ix: Instruction, keys: &[Pubkey]) -> Instruction {
    ix.accounts.extend(keys.iter().map(|k| AccountMeta::new(*k, false)));
    ix
}
