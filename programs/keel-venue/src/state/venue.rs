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
    /// LP share mint (PDA ["lp_mint", venue], authority = the venue PDA, same token program as the collateral).
    pub lp_mint: Pubkey,
    /// The pool's cash by internal accounting: LP deposits, plus fees and traders' realised losses, minus their
    /// realised gains and LP withdrawals. Tokens sent to the vault outside the program never enter it, so a
    /// donation cannot move the LP share price. Invariant: vault balance = pool_assets + sum of margin collateral
    /// (+ donations).
    pub pool_assets: u64,
    /// LP shares outstanding (equals the LP mint's supply).
    pub lp_shares: u64,
    /// Bit set of paused operations (see [`op`]).
    pub paused: u32,
    pub num_underlyings: u16,
    pub num_markets: u32,
    pub margin: MarginConfig,
}

/// Venue-wide margin and liquidation parameters (fixed-point values as raw I80F48 bits).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MarginConfig {
    /// Multiplier on the worst scenario loss, >= 1.
    pub im_multiplier: i128,
    /// Maintenance margin as a fraction of initial, in (0, 1].
    pub mm_fraction: i128,
    /// Minimum initial margin per short option unit as a fraction of spot, in [0, 1).
    pub short_option_min: i128,
    /// Liquidation penalty on the closed notional, paid to the liquidator (at most 1000 bps).
    pub liquidation_fee_bps: u16,
    /// Largest fraction of a position one liquidation call may close (1..=10000 bps): liquidation is gradual.
    pub liquidation_max_close_bps: u16,
}

impl MarginConfig {
    pub fn params(&self) -> keel_math::margin::MarginParams {
        keel_math::margin::MarginParams {
            im_multiplier: super::fx(self.im_multiplier),
            mm_fraction: super::fx(self.mm_fraction),
            short_option_min: super::fx(self.short_option_min),
        }
    }

    pub fn is_valid(&self) -> bool {
        let p = self.params();
        let one = fixed::types::I80F48::ONE;
        p.im_multiplier >= one
            && p.mm_fraction > fixed::types::I80F48::ZERO
            && p.mm_fraction <= one
            && p.short_option_min >= fixed::types::I80F48::ZERO
            && p.short_option_min < one
            && self.liquidation_fee_bps <= 1000
            && self.liquidation_max_close_bps > 0
            && self.liquidation_max_close_bps <= 10_000
    }
}

impl Venue {
    pub const SEED: &'static [u8] = b"venue";
    pub const VAULT_SEED: &'static [u8] = b"collateral";
    pub const LP_MINT_SEED: &'static [u8] = b"lp_mint";
    /// Virtual offset of LP shares: 10^3 shares per collateral unit at launch (see keel_math::shares).
    pub const LP_SHARE_MATH: keel_math::ShareMath = keel_math::ShareMath::DEFAULT;
    /// LP mint decimals above the collateral's (log10 of the virtual shares).
    pub const LP_EXTRA_DECIMALS: u8 = 3;

    pub fn is_paused(&self, operation: u32) -> bool {
        self.paused & operation != 0
    }

    /// Runs `f` with the venue PDA's signer seeds (no heap allocation).
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let id = self.id.to_le_bytes();
        let bump = [self.bump];
        let seeds: [&[u8]; 4] = [Self::SEED, self.collateral_mint.as_ref(), &id, &bump];
        f(&[&seeds])
    }
}
