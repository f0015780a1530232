use anchor_lang::prelude::*;

/// A pending withdrawal: shares escrowed in the vault, their value at request. PDA: ["withdrawal", vault, owner].
#[account]
#[derive(InitSpace)]
pub struct WithdrawalRequest {
    pub bump: u8,
    pub vault: Pubkey,
    pub owner: Pubkey,
    pub shares: u64,
    /// Value of the shares at the lower NAV bound when requested (tokens); the claim pays min(this, value then).
    pub value_at_request: u64,
    pub requested_ts: i64,
    pub claimable_ts: i64,
}

impl WithdrawalRequest {
    pub const SEED: &'static [u8] = b"withdrawal";
}
