use anchor_lang::prelude::*;

/// Operations the guardian can pause independently (bit flags in [`Venue::paused`]).
pub mod op {
    pub const POST_SURFACE: u32 = 1 << 0;
    pub const REFRESH: u32 = 1 << 1;
    pub const TRADE: u32 = 1 << 2;
    pub const DEPOSIT: u32 = 1 << 3;
    pub const WITHDRAW: u32 = 1 << 4;
    pub const LIQUIDATE: u32 = 1 << 5;
    pub const ALL: u32 = (1 << 6) - 1;
}

/// One venue: its collateral, roles, and counters. PDA: ["venue", collateral_mint, id (u16 LE)].
#[account]
#[derive(InitSpace)]
pub struct Venue {
    pub bump: u8,
    pub vault_bump: u8,
    pub id: u16,
    pub admin: Pubkey,
    pub guardian: Pubkey,
    pub vol_authority: Pubkey,
    pub collateral_mint: Pubkey,
    pub collateral_decimals: u8,
    /// Token program owning the collateral mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// PDA token account holding all collateral: ["collateral", venue].
    pub collateral_vault: Pubkey,
    /// Bit set of paused operations (see [`op`]).
    pub paused: u32,
    pub num_underlyings: u16,
    pub num_markets: u32,
}

impl Venue {
    pub const SEED: &'static [u8] = b"venue";
    pub const VAULT_SEED: &'static [u8] = b"collateral";

    pub fn is_paused(&self, operation: u32) -> bool {
        self.paused & operation != 0
    }
}
