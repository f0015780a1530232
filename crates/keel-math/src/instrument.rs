//! Risk of one unit of a venue instrument at a given spot: what the venue caches per market in `refresh_market`
//! and what the keeper recomputes to predict it. Options are priced with Black-76 (r = 0: USDC-margined, the
//! oracle price is the forward) at the SVI implied vol of their log-moneyness; scenario revaluation keeps the
//! strike's vol (sticky strike) and shocks it relatively.
use crate::bs::{greeks_with, BsmInputs, Greeks, Invariants, OptionKind};
use crate::error::MathResult;
use crate::risk::{linear_risk_array, option_risk_array_from, span_grid};
use crate::safe::SafeMath;
use crate::svi::SviRaw;
use fixed::types::I80F48;

/// Scenarios in the venue's SPAN grid (7 spot x 2 vol).
pub const SCENARIOS: usize = 14;

/// A venue instrument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Instrument {
    /// Linear perpetual: value tracks spot one for one.
    Perp,
    /// European option with `t` years to expiry, priced off the slice `svi`.
    Option { kind: OptionKind, strike: I80F48, t: I80F48, svi: SviRaw },
}

/// Greeks, the implied vol used (0 for perps) and the 7 x 2 scenario P&L of one unit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InstrumentRisk {
    pub greeks: Greeks,
    pub vol: I80F48,
    pub risk_array: [I80F48; SCENARIOS],
}

#[track_caller]
#[cfg_attr(target_os = "solana", inline(never))]
pub fn instrument_risk(
    inst: &Instrument,
    spot: I80F48,
    spot_range: I80F48,
    vol_range: I80F48,
) -> MathResult<InstrumentRisk> {
    let (spots, vols) = span_grid(spot_range, vol_range);
    let mut risk_array = [I80F48::ZERO; SCENARIOS];
    match *inst {
        Instrument::Perp => {
            linear_risk_array(spot, &spots, &vols, &mut risk_array)?;
            let greeks = Greeks { price: spot, delta: I80F48::ONE, ..Greeks::default() };
            Ok(InstrumentRisk { greeks, vol: I80F48::ZERO, risk_array })
        }
        Instrument::Option { kind, strike, t, svi } => {
            // What the greeks and all 14 scenarios share (√T, ln K, discounting) does not depend on vol: computed
            // once, and its moneyness gives the smile's k = ln(K/F) with the same bits as ln K - ln F.
            let inv = Invariants::new(&BsmInputs::black76(kind, spot, strike, t, I80F48::ZERO, I80F48::ZERO))?;
            let k = I80F48::ZERO.safe_sub(inv.moneyness(spot)?)?;
            let vol = svi.implied_vol(k, t)?;
            let inputs = BsmInputs::black76(kind, spot, strike, t, vol, I80F48::ZERO);
            let greeks = greeks_with(&inputs, &inv)?;
            option_risk_array_from(&inputs, &inv, greeks.price, &spots, &vols, &mut risk_array)?;
            Ok(InstrumentRisk { greeks, vol, risk_array })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perp_and_option_risk() {
        let spot = I80F48::from_num(150);
        let (sr, vr) = (I80F48::lit("0.15"), I80F48::lit("0.25"));
        let p = instrument_risk(&Instrument::Perp, spot, sr, vr).unwrap();
        assert_eq!((p.greeks.price, p.greeks.delta), (spot, I80F48::ONE));
        assert!((p.risk_array[0] + I80F48::lit("22.5")).abs() < I80F48::lit("0.000000001"));
        let svi = SviRaw {
            a: I80F48::lit("0.01"),
            b: I80F48::lit("0.1"),
            rho: I80F48::lit("-0.3"),
            m: I80F48::ZERO,
            sigma: I80F48::lit("0.2"),
        };
        let t = I80F48::lit("0.1");
        let c = instrument_risk(&Instrument::Option { kind: OptionKind::Call, strike: spot, t, svi }, spot, sr, vr)
            .unwrap();
        // ATM: k = 0, w = a + b sigma = 0.03, vol = sqrt(0.3).
        assert!((c.vol - I80F48::lit("0.5477225575051661")).abs() < I80F48::lit("0.000000000001"));
        assert!(c.greeks.delta > I80F48::lit("0.5") && c.greeks.gamma > I80F48::ZERO);
        // Long call: loses when spot falls with vol down, gains when spot rises with vol up.
        assert!(c.risk_array[1] < I80F48::ZERO && c.risk_array[12] > I80F48::ZERO);
    }
}
