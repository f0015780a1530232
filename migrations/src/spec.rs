//! The TOML spec: what to deploy. Every field is documented with its unit; [`Spec::validate`] rejects
//! inconsistent specs with a message that names the field.
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub collateral: Collateral,
    pub venue: VenueSpec,
    #[serde(default)]
    pub underlyings: Vec<UnderlyingSpec>,
    #[serde(default)]
    pub markets: Vec<MarketSpec>,
    pub lp: Option<LpSpec>,
    #[serde(default)]
    pub vaults: Vec<VaultSpec>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Collateral {
    /// An existing SPL mint (base58). Absent: the caller creates one (embedded bank or a local validator).
    pub mint: Option<String>,
    pub decimals: u8,
}

impl Collateral {
    /// Token base units of `amount` whole tokens (floored).
    pub fn units(&self, amount: f64) -> u64 {
        let units = amount * 10f64.powi(i32::from(self.decimals));
        if units.is_finite() && units >= 0.0 && units < u64::MAX as f64 {
            units.floor() as u64
        } else {
            0
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VenueSpec {
    pub index: u16,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UnderlyingSpec {
    pub index: u16,
    pub symbol: String,
    /// Pyth feed id, 64 hex characters.
    pub feed_id: String,
    /// The price strikes are set against (strike = reference_spot x strike_ratio).
    pub reference_spot: f64,
    /// Default SVI slice (a, b, rho, m, sigma) for this underlying's option markets.
    pub svi: [f64; 5],
}

impl UnderlyingSpec {
    pub fn feed_id_bytes(&self) -> Result<[u8; 32], String> {
        let hex = self.feed_id.trim_start_matches("0x");
        if hex.len() != 64 {
            return Err(format!("underlying {}: feed_id must be 64 hex characters", self.index));
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| format!("underlying {}: feed_id is not hex", self.index))?;
        }
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Perp,
    Call,
    Put,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct MarketSpec {
    pub index: u32,
    pub underlying: u16,
    pub kind: Kind,
    /// Options: strike as a multiple of the underlying's reference spot.
    #[serde(default = "one")]
    pub strike_ratio: f64,
    /// Options: days from the first deployment to expiry (fixed then; a re-run finds the market and keeps it).
    #[serde(default)]
    pub expiry_days: i64,
    /// Options: SVI slice overriding the underlying's.
    pub svi: Option<[f64; 5]>,
    pub taker_fee_bps: u16,
    pub half_spread_bps: u16,
    pub max_open_interest_lots: u64,
    #[serde(default)]
    pub max_funding_bps_per_day: u16,
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct LpSpec {
    /// Whole collateral tokens the payer deposits into the pool (only into an empty pool).
    pub amount: f64,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VaultSpec {
    pub index: u16,
    pub underlying: u16,
    /// Market indices the mandate allows (at least one; each below 256, the vault's allowed-market mask).
    pub markets: Vec<u32>,
}

impl Spec {
    pub fn parse(toml_text: &str) -> Result<Spec, String> {
        let spec: Spec = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        spec.validate()?;
        Ok(spec)
    }

    /// Cross-references and ranges, each error naming the field to fix.
    pub fn validate(&self) -> Result<(), String> {
        let has_underlying = |i: u16| self.underlyings.iter().any(|u| u.index == i);
        for u in &self.underlyings {
            u.feed_id_bytes()?;
            if !(u.reference_spot.is_finite() && u.reference_spot > 0.0) {
                return Err(format!("underlying {}: reference_spot must be a positive price", u.index));
            }
        }
        for m in &self.markets {
            if !has_underlying(m.underlying) {
                return Err(format!("market {}: underlying {} is not in [[underlyings]]", m.index, m.underlying));
            }
            if m.kind != Kind::Perp && (m.expiry_days <= 0 || !(m.strike_ratio > 0.0 && m.strike_ratio.is_finite())) {
                return Err(format!("market {}: an option needs expiry_days > 0 and strike_ratio > 0", m.index));
            }
        }
        for v in &self.vaults {
            if !has_underlying(v.underlying) {
                return Err(format!("vault {}: underlying {} is not in [[underlyings]]", v.index, v.underlying));
            }
            if v.markets.is_empty() {
                return Err(format!("vault {}: markets must list at least one market index", v.index));
            }
            let limit = keel_vault::state::ALLOWED_MARKET_INDICES;
            if let Some(i) = v.markets.iter().find(|i| **i >= limit) {
                return Err(format!(
                    "vault {}: market {i} is beyond the vault's allowed mask (indices below {limit})",
                    v.index
                ));
            }
            if let Some(i) = v.markets.iter().find(|i| !self.markets.iter().any(|m| m.index == **i)) {
                return Err(format!("vault {}: market {i} is not in [[markets]]", v.index));
            }
        }
        if self.lp.as_ref().is_some_and(|lp| !(lp.amount > 0.0 && lp.amount.is_finite())) {
            return Err("lp.amount must be a positive number of tokens".into());
        }
        Ok(())
    }
}

/// The demo's spec (migrations/specs/demo.toml): one SOL-like underlying with a perp, a 110% call and a 90% put on a
/// 30-day slice, 1,000,000 of LP liquidity, one vault.
pub const DEMO_SPEC: &str = include_str!("../specs/demo.toml");

/// A venue listing a 7-day strangle and a 14-day expiry with two strikes a side (migrations/specs/strangles.toml):
/// what the strategist's loop rolls between.
pub const STRANGLES_SPEC: &str = include_str!("../specs/strangles.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_spec_parses_and_bad_specs_say_what_to_fix() {
        let spec = Spec::parse(DEMO_SPEC).unwrap();
        assert_eq!((spec.underlyings.len(), spec.markets.len(), spec.vaults.len()), (1, 3, 1));
        assert_eq!(spec.collateral.units(1.5), 1_500_000);
        let bad = |from: &str, to: &str| Spec::parse(&DEMO_SPEC.replace(from, to)).unwrap_err();
        assert!(bad("markets = [0, 1, 2]", "markets = [0, 1, 9]").contains("vault 0: market 9 is not in [[markets]]"));
        assert!(bad("markets = [0, 1, 2]", "markets = []").contains("vault 0: markets must list at least one"));
        assert!(
            bad("markets = [0, 1, 2]", "markets = [0, 1, 300]").contains("market 300 is beyond the vault's allowed")
        );
        assert!(bad("expiry_days = 30", "expiry_days = 0").contains("an option needs expiry_days > 0"));
        assert!(bad("amount = 1000000.0", "amount = -1.0").contains("lp.amount must be a positive number"));
        assert!(bad("decimals = 6", "decimals = 6\ncolour = 1").contains("unknown field `colour`"));
        assert!(bad("feed_id = \"2a", "feed_id = \"zz").contains("feed_id is not hex"));
    }
}
