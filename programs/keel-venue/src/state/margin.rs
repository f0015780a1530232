use super::PodI128;
use anchor_lang::prelude::*;

/// Open positions one margin account can hold (one slot per market).
pub const MAX_POSITIONS: usize = 16;

/// A position in one market. An empty slot has `market == Pubkey::default()`. Stored in place in the zero-copy
/// `MarginAccount` (`repr(C)`, no padding; fixed-point values as `PodI128`).
#[zero_copy]
#[derive(Debug, PartialEq, Eq, Default)]
pub struct Position {
    pub market: Pubkey,
    /// Signed size in lots (10^-6 units; long > 0).
    pub size: i64,
    /// Cost basis in collateral tokens (I80F48 bits): sum of qty x execution price of the open part, plus funding
    /// folded in at each touch.
    pub cost: PodI128,
    /// The market's funding index when funding was last folded into `cost` (I80F48 bits).
    pub funding_snap: PodI128,
}

impl Position {
    pub fn is_open(&self) -> bool {
        !super::key_is_zero(&self.market)
    }
}

/// A trader's margin account on one venue. PDA: ["margin", venue, owner]. The owner may be any key, including
/// another program's PDA that signs by CPI (this is how keel-vault trades).
/// Zero-copy: trades, liquidations and the vault's NAV read it in place instead of deserialising ~1.2 KB.
#[account(zero_copy)]
#[derive(Debug, PartialEq, Eq)]
pub struct MarginAccount {
    pub venue: Pubkey,
    pub owner: Pubkey,
    /// Realised collateral in tokens. Negative only transiently, between a loss larger than the collateral and
    /// the bad-debt write-off that follows the liquidation of the last position.
    pub collateral: i64,
    pub positions: [Position; MAX_POSITIONS],
    pub bump: u8,
    /// Pads the struct to 8 bytes; zero.
    pub reserved: [u8; 7],
}

impl MarginAccount {
    pub const SEED: &'static [u8] = b"margin";
    /// Account size: discriminator + the struct.
    pub const SPACE: usize = 8 + std::mem::size_of::<MarginAccount>();

    pub fn slot_of(&self, market: &Pubkey) -> Option<usize> {
        self.positions.iter().position(|p| super::keys_eq(&p.market, market))
    }

    pub fn free_slot(&self) -> Option<usize> {
        self.positions.iter().position(|p| !p.is_open())
    }

    pub fn open_positions(&self) -> impl Iterator<Item = (usize, &Position)> {
        self.positions.iter().enumerate().filter(|(_, p)| p.is_open())
    }

    pub fn has_positions(&self) -> bool {
        self.positions.iter().any(Position::is_open)
    }
}
