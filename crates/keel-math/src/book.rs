//! A book's sums: every additive term of an account's positions, from which both the venue's margin health and a
//! vault's mandate measures are made.
//!
//! Beyond the margin sums ([`AccountSums`]), a vault needs its greeks, its gross notional and its value at unbiased
//! marks (what a trade's cost is measured against). Each is a sum of per-position terms:
//! - greeks in lots: size (an integer number of lots) x the market's per-unit greek, an exact product, converted to
//!   underlying units once per book ([`BookSums::greeks_in_units`]), so a book's greek is rounded once;
//! - gross quantity: |qty| summed; gross notional is that times spot, one product per book ([`BookSums::gross_notional`]);
//! - mid: qty x mark - cost - funding owed.
//!
//! None depends on the live oracle price, so the venue can compute them wherever it checks an account's margin (a
//! trade, a margin withdrawal) and return them to the account's owner, and the owner can take one position's terms
//! out and another's in: fixed-point addition is exact, so the result is the same bits as summing afresh in any
//! order. This is how a vault values the state before its trades from the venue's report of the state after them,
//! touching only the traded positions.
use crate::error::MathResult;
use crate::margin::{AccountSums, MarginParams, PositionRisk, SIZE_DECIMALS};
use crate::safe::{safe_mul_qty, QtyFactor, SafeMath};
use fixed::types::I80F48;

/// The sums over an account's positions (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct BookSums {
    pub margin: AccountSums,
    /// Delta, gamma and vega summed in lots (size x per-unit greek).
    pub greeks_lots: [I80F48; 3],
    /// Sum of |qty| (token-scaled units).
    pub gross_qty: I80F48,
    /// Sum of position values at unbiased marks (tokens).
    pub mid: I80F48,
}

/// One position's terms beyond its margin: greeks in lots, |qty| and value at unbiased marks.
#[track_caller]
fn exposure_terms(p: &PositionRisk, size: i64, greeks: &[I80F48; 3]) -> MathResult<[I80F48; 5]> {
    let lots = QtyFactor::new(I80F48::from_num(size));
    let mid = safe_mul_qty(p.qty, p.mark)?.safe_sub(p.cost)?.safe_sub(p.funding_owed)?;
    Ok([lots.mul(greeks[0])?, lots.mul(greeks[1])?, lots.mul(greeks[2])?, p.qty.saturating_abs(), mid])
}

impl BookSums {
    /// Adds a position: its risk inputs `p`, its size in lots and its market's per-unit greeks (zero once settled).
    #[track_caller]
    pub fn add(&mut self, p: &PositionRisk, size: i64, greeks: &[I80F48; 3], params: &MarginParams) -> MathResult<()> {
        self.margin.add(p, params)?;
        self.add_exposure(&exposure_terms(p, size, greeks)?, true)
    }

    /// Takes a position out: the exact inverse of [`BookSums::add`] with the same arguments.
    #[track_caller]
    pub fn remove(
        &mut self,
        p: &PositionRisk,
        size: i64,
        greeks: &[I80F48; 3],
        params: &MarginParams,
    ) -> MathResult<()> {
        self.margin.remove(p, params)?;
        self.add_exposure(&exposure_terms(p, size, greeks)?, false)
    }

    /// Adds the exposure of a holding with no cost and no margin of its own (an LP stake's share of a pool
    /// position): greeks in lots and |qty|, with no value term.
    #[track_caller]
    pub fn add_holding(&mut self, qty: I80F48, size: i64, greeks: &[I80F48; 3]) -> MathResult<()> {
        let lots = QtyFactor::new(I80F48::from_num(size));
        let t = [lots.mul(greeks[0])?, lots.mul(greeks[1])?, lots.mul(greeks[2])?, qty.saturating_abs(), I80F48::ZERO];
        self.add_exposure(&t, true)
    }

    /// Adds every sum of `other` (a book of other positions): the sums of the two books together.
    #[track_caller]
    pub fn add_sums(&mut self, other: &BookSums) -> MathResult<()> {
        self.combine(other, true)
    }

    /// Takes every sum of `other` out: the exact inverse of [`BookSums::add_sums`].
    #[track_caller]
    pub fn remove_sums(&mut self, other: &BookSums) -> MathResult<()> {
        self.combine(other, false)
    }

    #[track_caller]
    fn combine(&mut self, other: &BookSums, add: bool) -> MathResult<()> {
        let op = |s: &mut I80F48, x: I80F48| -> MathResult<()> {
            *s = if add { s.safe_add(x)? } else { s.safe_sub(x)? };
            Ok(())
        };
        let (m, o) = (&mut self.margin, &other.margin);
        op(&mut m.value_lower, o.value_lower)?;
        for (s, x) in m.scenarios.iter_mut().zip(o.scenarios) {
            op(s, x)?;
        }
        op(&mut m.short_option_floor, o.short_option_floor)?;
        let t = [other.greeks_lots[0], other.greeks_lots[1], other.greeks_lots[2], other.gross_qty, other.mid];
        self.add_exposure(&t, add)
    }

    #[track_caller]
    fn add_exposure(&mut self, t: &[I80F48; 5], add: bool) -> MathResult<()> {
        let op = |s: I80F48, x: I80F48| if add { s.safe_add(x) } else { s.safe_sub(x) };
        for (s, x) in self.greeks_lots.iter_mut().zip(&t[..3]) {
            *s = op(*s, *x)?;
        }
        self.gross_qty = op(self.gross_qty, t[3])?;
        self.mid = op(self.mid, t[4])?;
        Ok(())
    }

    /// Delta, gamma and vega in underlying units (each truncated toward zero).
    #[track_caller]
    pub fn greeks_in_units(&self) -> MathResult<[I80F48; 3]> {
        let lots_per_unit = I80F48::from_num(10i64.pow(SIZE_DECIMALS));
        Ok([
            self.greeks_lots[0].safe_div(lots_per_unit)?,
            self.greeks_lots[1].safe_div(lots_per_unit)?,
            self.greeks_lots[2].safe_div(lots_per_unit)?,
        ])
    }

    /// Gross notional at `spot` (tokens).
    #[track_caller]
    pub fn gross_notional(&self, spot: I80F48) -> MathResult<I80F48> {
        safe_mul_qty(self.gross_qty, spot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::instrument::SCENARIOS;

    fn params() -> MarginParams {
        MarginParams {
            im_multiplier: I80F48::from_num(1.25),
            mm_fraction: I80F48::from_num(0.6),
            short_option_min: I80F48::from_num(0.1),
        }
    }

    /// A position from raw draws: whole token quantities (as `qty_from_lots` makes them), fractional marks and
    /// greeks.
    fn drawn(lots: i64, cost: i64, mark: i64, risk: &[i64; SCENARIOS], greek: i64) -> (PositionRisk, i64, [I80F48; 3]) {
        let f = |x: i64| I80F48::from_bits(i128::from(x) << 20);
        let p = PositionRisk {
            qty: I80F48::from_num(lots),
            cost: f(cost),
            funding_owed: f(cost / 7),
            mark: f(mark),
            bias: f(mark.abs() / 50),
            spot: f(mark.abs() + 1),
            risk_array: risk.map(f),
            is_option: greek % 2 == 0,
        };
        (p, lots, [f(greek), f(greek / 3), f(greek.wrapping_mul(5))])
    }

    proptest::proptest! {
        /// The state before a trade, from the sums after it with the traded position's terms swapped back, is the
        /// book before the trade summed afresh, bit for bit: what lets a vault judge its trades from the venue's
        /// report of the state after them.
        #[test]
        fn sums_with_a_position_swapped_back_equal_sums_afresh(
            book in proptest::collection::vec(
                (-1_000_000_000i64..1_000_000_000, -(1i64 << 50)..(1 << 50), -(1i64 << 40)..(1 << 40),
                 proptest::array::uniform14(-(1i64 << 40)..(1i64 << 40)), -(1i64 << 40)..(1 << 40)),
                1..17),
            traded in 0usize..16,
            new_lots in -1_000_000_000i64..1_000_000_000,
            new_cost in -(1i64 << 50)..(1 << 50),
        ) {
            let before: Vec<_> = book.iter().map(|(l, c, m, r, g)| drawn(*l, *c, *m, r, *g)).collect();
            let i = traded % before.len();
            let mut after = before.clone();
            after[i].0.qty = I80F48::from_num(new_lots);
            after[i].0.cost = I80F48::from_bits(i128::from(new_cost) << 20);
            after[i].1 = new_lots;
            let sum = |b: &[(PositionRisk, i64, [I80F48; 3])]| {
                let mut s = BookSums::default();
                for (p, size, g) in b {
                    s.add(p, *size, g, &params()).unwrap();
                }
                s
            };
            let mut derived = sum(&after);
            derived.remove(&after[i].0, after[i].1, &after[i].2, &params()).unwrap();
            derived.add(&before[i].0, before[i].1, &before[i].2, &params()).unwrap();
            proptest::prop_assert_eq!(derived, sum(&before));
            // A book is the sum of its parts: the traded position's own sums added to the rest's, or taken out of
            // the whole.
            let (rest, alone) = (sum(&[&after[..i], &after[i + 1..]].concat()), sum(&after[i..=i]));
            let mut whole = rest;
            whole.add_sums(&alone).unwrap();
            proptest::prop_assert_eq!(whole, sum(&after));
            whole.remove_sums(&alone).unwrap();
            proptest::prop_assert_eq!(whole, rest);
            // The margin part is AccountSums' own.
            let risks: Vec<_> = before.iter().map(|b| b.0).collect();
            proptest::prop_assert_eq!(derived.margin, AccountSums::of(&risks, &params()).unwrap());
        }
    }

    #[test]
    fn terms_are_the_definitions() {
        let (p, size, greeks) = drawn(3_000_000, 1 << 30, 5 << 20, &[1; SCENARIOS], 7 << 20);
        let mut s = BookSums::default();
        s.add(&p, size, &greeks, &params()).unwrap();
        assert_eq!(s.greeks_lots[0], I80F48::from_num(size) * greeks[0]);
        assert_eq!(s.greeks_lots[2], I80F48::from_num(size) * greeks[2]);
        assert_eq!(s.gross_qty, p.qty);
        assert_eq!(s.mid, p.qty * p.mark - p.cost - p.funding_owed);
        assert_eq!(s.greeks_in_units().unwrap()[0], s.greeks_lots[0] / I80F48::from_num(1_000_000));
        let spot = I80F48::from_num(101.25);
        assert_eq!(s.gross_notional(spot).unwrap(), p.qty * spot);
        // A short adds its magnitude to the gross quantity; an LP holding adds no value.
        let short = PositionRisk { qty: -p.qty, ..p };
        s.add(&short, -size, &greeks, &params()).unwrap();
        assert_eq!(s.gross_qty, p.qty * I80F48::from_num(2));
        assert_eq!(s.greeks_lots, [I80F48::ZERO; 3]);
        let mid = s.mid;
        s.add_holding(I80F48::from_num(-2.5), -2, &greeks).unwrap();
        assert_eq!((s.mid, s.gross_qty), (mid, p.qty * I80F48::from_num(2) + I80F48::from_num(2.5)));
        assert_eq!(s.greeks_lots[1], I80F48::from_num(-2) * greeks[1]);
    }
}
