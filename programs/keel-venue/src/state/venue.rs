use super::PodI128;
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
/// Zero-copy: every venue instruction and every venue-touching vault instruction reads it, in place instead of
/// Borsh-decoding (and, when writable, re-encoding) ~310 bytes. `repr(C)`, fields widest first, no padding.
#[account(zero_copy)]
#[derive(Debug, PartialEq, Eq)]
pub struct Venue {
    /// The pool's cash by internal accounting: LP deposits, plus fees and traders' realised losses, minus their
    /// realised gains and LP withdrawals. Tokens sent to the vault outside the program never enter it, so a
    /// donation cannot move the LP share price. Invariant: vault balance = pool_assets + sum of margin collateral
    /// (+ donations).
    pub pool_assets: u64,
    /// LP shares outstanding (equals the LP mint's supply).
    pub lp_shares: u64,
    pub admin: Pubkey,
    pub guardian: Pubkey,
    pub vol_authority: Pubkey,
    pub collateral_mint: Pubkey,
    /// Token program owning the collateral mint (SPL Token or Token-2022).
    pub token_program: Pubkey,
    /// PDA token account holding all collateral: ["collateral", venue].
    pub collateral_vault: Pubkey,
    /// LP share mint (PDA ["lp_mint", venue], authority = the venue PDA, same token program as the collateral).
    pub lp_mint: Pubkey,
    /// Bit set of paused operations (see [`op`]).
    pub paused: u32,
    pub num_markets: u32,
    pub margin: MarginConfig,
    pub num_underlyings: u16,
    pub id: u16,
    pub bump: u8,
    pub vault_bump: u8,
    pub collateral_decimals: u8,
    /// Pads the struct to 8 bytes; zero.
    pub reserved: [u8; 1],
}

/// Venue-wide margin and liquidation parameters (fixed-point values as I80F48 bits). Both the `create_venue`
/// argument and stored in place in the zero-copy `Venue`: `repr(C)` with no padding, so the stored bytes are its
/// Borsh encoding.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct MarginConfig {
    /// Multiplier on the worst scenario loss, >= 1.
    pub im_multiplier: PodI128,
    /// Maintenance margin as a fraction of initial, in (0, 1].
    pub mm_fraction: PodI128,
    /// Minimum initial margin per short option unit as a fraction of spot, in [0, 1).
    pub short_option_min: PodI128,
    /// Liquidation penalty on the closed notional, paid to the liquidator (at most 1000 bps).
    pub liquidation_fee_bps: u32,
    /// Largest fraction of a position one liquidation call may close (1..=10000 bps): liquidation is gradual.
    pub liquidation_max_close_bps: u32,
}

impl MarginConfig {
    pub fn params(&self) -> keel_math::margin::MarginParams {
        keel_math::margin::MarginParams {
            im_multiplier: self.im_multiplier.fx(),
            mm_fraction: self.mm_fraction.fx(),
            short_option_min: self.short_option_min.fx(),
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
    /// Account size: discriminator + the struct.
    pub const SPACE: usize = 8 + std::mem::size_of::<Venue>();

    pub fn is_paused(&self, operation: u32) -> bool {
        self.paused & operation != 0
    }

    /// What signing as the venue PDA needs, copied out so that no borrow of the account is open across a CPI
    /// (the venue is the authority of its collateral vault and LP mint, so it is passed to those CPIs).
    pub fn signer(&self) -> VenueSigner {
        VenueSigner { collateral_mint: self.collateral_mint, id: self.id.to_le_bytes(), bump: [self.bump] }
    }
}

/// The venue PDA's seeds, independent of any borrow of the account.
#[derive(Clone, Copy, Debug)]
pub struct VenueSigner {
    collateral_mint: Pubkey,
    id: [u8; 2],
    bump: [u8; 1],
}

impl VenueSigner {
    /// Runs `f` with the venue PDA's signer seeds (no heap allocation).
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let seeds: [&[u8]; 4] = [Venue::SEED, self.collateral_mint.as_ref(), &self.id, &self.bump];
        f(&[&seeds])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MarginConfig` is the `create_venue` argument (Borsh) and is stored in place in the zero-copy `Venue`: the
    /// two are the same bytes, field for field.
    #[test]
    fn stored_margin_config_is_its_borsh_encoding() {
        let c: MarginConfig = super::super::patterned();
        let borsh = borsh::to_vec(&c).unwrap();
        assert_eq!(borsh, bytemuck::bytes_of(&c));
        assert_eq!(MarginConfig::try_from_slice(&borsh).unwrap(), c);
    }

    /// The signer seeds copied out of the venue derive the venue's own address.
    #[test]
    fn signer_seeds_derive_the_venue_address() {
        let mut v: Venue = bytemuck::Zeroable::zeroed();
        v.collateral_mint = Pubkey::new_unique();
        v.id = 7;
        let (key, bump) =
            Pubkey::find_program_address(&[Venue::SEED, v.collateral_mint.as_ref(), &7u16.to_le_bytes()], &crate::ID);
        v.bump = bump;
        let derived = v.signer().with_signer(|s| Pubkey::create_program_address(s[0], &crate::ID).unwrap());
        assert_eq!(derived, key);
    }
}
