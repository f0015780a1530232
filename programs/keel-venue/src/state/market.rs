use super::PodI128;
use anchor_lang::prelude::*;

/// What a market trades.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum MarketKind {
    /// Linear USDC-margined perpetual on the oracle price.
    Perp,
    /// Cash-settled European call / put.
    Call,
    Put,
}

impl MarketKind {
    /// The byte the zero-copy `Market` stores.
    pub const fn code(self) -> u8 {
        match self {
            MarketKind::Perp => 0,
            MarketKind::Call => 1,
            MarketKind::Put => 2,
        }
    }

    /// Inverse of [`MarketKind::code`]; `None` for a byte no market was written with.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(MarketKind::Perp),
            1 => Some(MarketKind::Call),
            2 => Some(MarketKind::Put),
            _ => None,
        }
    }
}

/// Contract terms and trading limits set by the admin (the `add_market` argument; stored as [`MarketTerms`]).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MarketConfig {
    pub kind: MarketKind,
    /// Strike (I80F48 bits); 0 for perps.
    pub strike: i128,
    /// Expiry (unix seconds); 0 for perps.
    pub expiry: i64,
    pub taker_fee_bps: u16,
    pub half_spread_bps: u16,
    /// Open-interest cap per side, in lots (10^-6 units).
    pub max_open_interest: u64,
    /// Perps: funding rate at full skew (net size = OI cap), bps of spot per day; 0 for options.
    pub max_funding_bps_per_day: u16,
}

// The zero-copy Market's parts are `repr(C)` with no padding (the Pod derive checks it): fixed-point values are
// `PodI128` (alignment 1), fields are ordered widest first, flags are bytes, and explicit `reserved` bytes round a
// part up to its 8-byte alignment. Without padding the stored bytes are also the parts' Borsh encoding (events).

/// A market's terms as stored: [`MarketConfig`] with the kind as its code and the strike as `PodI128`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct MarketTerms {
    /// Strike (I80F48 bits); 0 for perps.
    pub strike: PodI128,
    /// Expiry (unix seconds); 0 for perps.
    pub expiry: i64,
    /// Open-interest cap per side, in lots (10^-6 units).
    pub max_open_interest: u64,
    pub taker_fee_bps: u16,
    pub half_spread_bps: u16,
    /// Perps: funding rate at full skew (net size = OI cap), bps of spot per day; 0 for options.
    pub max_funding_bps_per_day: u16,
    /// [`MarketKind::code`].
    pub kind: u8,
    /// Zero.
    pub reserved: u8,
}

impl From<MarketConfig> for MarketTerms {
    fn from(c: MarketConfig) -> Self {
        MarketTerms {
            strike: c.strike.into(),
            expiry: c.expiry,
            max_open_interest: c.max_open_interest,
            taker_fee_bps: c.taker_fee_bps,
            half_spread_bps: c.half_spread_bps,
            max_funding_bps_per_day: c.max_funding_bps_per_day,
            kind: c.kind.code(),
            reserved: 0,
        }
    }
}

impl MarketTerms {
    /// The kind. Only `add_market` writes the code, from a `MarketKind`, so every stored code decodes; an
    /// unknown byte would read as a put, never as a perp (whose checks are the loosest).
    pub fn kind(&self) -> MarketKind {
        MarketKind::from_code(self.kind).unwrap_or(MarketKind::Put)
    }
}

/// Number of scenarios in the cached SPAN grid (7 spot points x 2 vol points).
pub const RISK_SCENARIOS: usize = 14;

// Own deserialisation frame: inlined into an event's, the derive's temporaries exceeded SBF's 4 KiB.
crate::deserialize_in_own_frame! {
    /// Greeks and scenario P&L of one unit, computed by `refresh_market` (all I80F48 bits).
    #[derive(AnchorSerialize, Clone, Copy, Debug, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    pub struct RiskCache {
        pub mark: PodI128,
        pub delta: PodI128,
        pub gamma: PodI128,
        pub vega: PodI128,
        pub theta: PodI128,
        /// P&L of +1 unit per scenario, layout `spot_index * 2 + vol_index` (see keel_math::risk).
        pub risk_array: [PodI128; RISK_SCENARIOS],
        /// Inputs it was computed at: oracle spot, implied vol (0 for perps), slot and time.
        pub spot: PodI128,
        /// Oracle confidence at refresh and the per-unit mark bias used for margin, |delta| x k x conf (quote units).
        pub conf: PodI128,
        pub bias: PodI128,
        pub vol: PodI128,
        pub slot: u64,
        pub ts: i64,
        /// Last second the cache may be used without a refresh (ts + the underlying's cache max age).
        pub valid_until: i64,
        /// 1 when the oracle was `Valid` at refresh (consumers that increase risk require it), else 0.
        pub oracle_valid: u8,
        /// Zero.
        pub reserved: [u8; 7],
    }
}

impl RiskCache {
    pub fn oracle_was_valid(&self) -> bool {
        self.oracle_valid != 0
    }
}

/// Aggregates over every position in the market. The pool is the counterparty of all of them, so its unrealised
/// claim on the market is `net_cost - net_qty x mark + funding` (see `pricing::pool_claim`).
#[derive(
    AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, Default, bytemuck::Pod, bytemuck::Zeroable,
)]
#[repr(C)]
pub struct MarketBook {
    /// Sum of long sizes and of |short sizes| (lots).
    pub long_oi: u64,
    pub short_oi: u64,
    /// Sum of all position sizes (lots) and cost bases (tokens, I80F48 bits).
    pub net_size: i64,
    pub net_cost: PodI128,
    /// Perps: cumulative funding per unit (quote units, I80F48 bits; longs pay when it rises), the sum of
    /// size x funding snapshot over positions (tokens-scaled, I80F48 bits) and when funding last accrued.
    pub funding_index: PodI128,
    pub net_funding_snap: PodI128,
    pub last_funding_ts: i64,
    /// Options after expiry, once `settle_market` fixed them: the oracle price and the payoff per unit
    /// (I80F48 bits).
    pub settlement_price: PodI128,
    pub settlement_value: PodI128,
    /// 1 once `settle_market` fixed the settlement, else 0.
    pub settled: u8,
    /// Zero.
    pub reserved: [u8; 7],
}

impl MarketBook {
    pub fn is_settled(&self) -> bool {
        self.settled != 0
    }
}

/// A market. PDA: ["market", venue, index (u32 LE)].
/// Zero-copy: trades, refreshes and every margin or NAV computation read it in place instead of deserialising (and
/// writing back) ~650 bytes of Borsh.
#[account(zero_copy)]
#[derive(Debug, PartialEq, Eq)]
pub struct Market {
    pub venue: Pubkey,
    pub underlying: Pubkey,
    /// The surface the option is priced from (default for perps).
    pub surface: Pubkey,
    pub config: MarketTerms,
    pub cache: RiskCache,
    pub book: MarketBook,
    pub index: u32,
    pub bump: u8,
    /// Pads the struct to 8 bytes; zero.
    pub reserved: [u8; 3],
}

impl Market {
    pub const SEED: &'static [u8] = b"market";
    /// Account size: discriminator + the struct.
    pub const SPACE: usize = 8 + std::mem::size_of::<Market>();

    pub fn kind(&self) -> MarketKind {
        self.config.kind()
    }
}

#[cfg(test)]
mod tests {
    use super::super::patterned;
    use super::*;

    /// Events carry the cache and the book in Borsh; the zero-copy Market holds them as bytes. They are the same
    /// bytes, and `RiskCache`'s hand-written decoder (`deserialize_in_own_frame!`) reads them back field for field.
    #[test]
    fn stored_parts_are_their_borsh_encoding() {
        let cache: RiskCache = patterned();
        let borsh = borsh::to_vec(&cache).unwrap();
        assert_eq!(borsh, bytemuck::bytes_of(&cache));
        assert_eq!(RiskCache::try_from_slice(&borsh).unwrap(), cache);
        let book: MarketBook = patterned();
        assert_eq!(borsh::to_vec(&book).unwrap(), bytemuck::bytes_of(&book));
        let terms: MarketTerms = patterned();
        assert_eq!(borsh::to_vec(&terms).unwrap(), bytemuck::bytes_of(&terms));
    }

    /// `load_in_place` reads a market where it lies, and refuses another program's account, a short or empty one
    /// and another account type with Anchor's own errors (the checks a copy through `AccountDeserialize` made).
    #[test]
    fn markets_are_read_in_place_and_checked() {
        use crate::state::{load_in_place, MarginAccount};
        let mut market: Market = patterned();
        market.index = 42;
        // Account data is 8-byte aligned on SBF; a u64 buffer gives the same here.
        let mut words = vec![0u64; Market::SPACE.div_ceil(8)];
        let bytes: &mut [u8] = &mut bytemuck::cast_slice_mut(&mut words)[..Market::SPACE];
        bytes[..8].copy_from_slice(Market::DISCRIMINATOR);
        bytes[8..].copy_from_slice(bytemuck::bytes_of(&market));
        let (key, mut lamports) = (Pubkey::new_unique(), 1u64);
        let read = |owner: &Pubkey, data: &mut [u8], lamports: &mut u64| -> std::result::Result<u32, u32> {
            let info = AccountInfo::new(&key, false, false, lamports, data, owner, false);
            let code = |e: Error| match e {
                Error::AnchorError(a) => a.error_code_number,
                Error::ProgramError(_) => u32::MAX,
            };
            // Also the margin-account reading of the same bytes (another account type).
            let other = load_in_place::<MarginAccount>(&info).map(|_| ()).map_err(code);
            assert!(other.is_err());
            load_in_place::<Market>(&info).map(|m| m.index).map_err(code)
        };
        assert_eq!(read(&crate::ID, bytes, &mut lamports), Ok(42));
        let wrong_owner = read(&Pubkey::new_unique(), bytes, &mut lamports);
        assert_eq!(wrong_owner, Err(ErrorCode::AccountOwnedByWrongProgram.into()));
        let short = read(&crate::ID, &mut bytes[..Market::SPACE - 1], &mut lamports);
        assert_eq!(short, Err(ErrorCode::AccountDidNotDeserialize.into()));
        assert_eq!(read(&crate::ID, &mut [], &mut lamports), Err(ErrorCode::AccountDiscriminatorNotFound.into()));
        bytes[0] ^= 1;
        assert_eq!(read(&crate::ID, bytes, &mut lamports), Err(ErrorCode::AccountDiscriminatorMismatch.into()));
    }

    /// The stored terms give back the listed config, kind included; an unknown kind byte reads as the
    /// strictest kind (a put: expiry and surface checks apply), never as a perp.
    #[test]
    fn terms_round_trip_and_kind_codes() {
        for kind in [MarketKind::Perp, MarketKind::Call, MarketKind::Put] {
            assert_eq!(MarketKind::from_code(kind.code()), Some(kind));
            let config = MarketConfig {
                kind,
                strike: -5,
                expiry: 7,
                taker_fee_bps: 11,
                half_spread_bps: 13,
                max_open_interest: 17,
                max_funding_bps_per_day: 19,
            };
            let t = MarketTerms::from(config);
            assert_eq!(t.kind(), kind);
            assert_eq!((t.strike.get(), t.expiry, t.max_open_interest), (-5, 7, 17));
            assert_eq!((t.taker_fee_bps, t.half_spread_bps, t.max_funding_bps_per_day), (11, 13, 19));
        }
        assert_eq!(MarketKind::from_code(3), None);
        let unknown = MarketTerms { kind: 200, ..MarketTerms::from(perp_like()) };
        assert_eq!(unknown.kind(), MarketKind::Put);
    }

    fn perp_like() -> MarketConfig {
        MarketConfig {
            kind: MarketKind::Perp,
            strike: 0,
            expiry: 0,
            taker_fee_bps: 0,
            half_spread_bps: 0,
            max_open_interest: 1,
            max_funding_bps_per_day: 0,
        }
    }

    /// Share pricing's `value_parts` gives `position_value`'s bits of the full `position_risk` at both bounds: long
    /// and short, with funding owed, before and after settlement.
    #[test]
    fn value_parts_give_the_position_values_of_the_full_risk() {
        use keel_math::margin::{position_value, Bound};
        let bits = |x: f64| PodI128::from(fixed::types::I80F48::from_num(x));
        let mut market: Market = bytemuck::Zeroable::zeroed();
        (market.cache.mark, market.cache.bias) = (bits(12.345678), bits(0.0421));
        (market.book.funding_index, market.book.settlement_value) = (bits(0.731), bits(7.5));
        for settled in [0u8, 1] {
            market.book.settled = settled;
            for size in [3_250_000i64, -41_000_000, 1] {
                let p = crate::state::Position {
                    market: Pubkey::new_unique(),
                    size,
                    cost: bits(size as f64 * 1e-6 * 11.9),
                    funding_snap: bits(0.5),
                };
                let (parts, risk) = (market.value_parts(&p, 6).unwrap(), market.position_risk(&p, 6).unwrap());
                for bound in [Bound::Lower, Bound::Upper] {
                    assert_eq!(
                        parts.at(bound).unwrap(),
                        position_value(&risk, bound).unwrap(),
                        "{settled} {size} {bound:?}"
                    );
                }
            }
        }
    }
}
