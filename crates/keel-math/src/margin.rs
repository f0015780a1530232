//! Margin of an account of derivative positions, from per-unit risk cached by the venue.
//!
//! Units. A position's `qty` is its size in underlying units multiplied by collateral token units per quote unit
//! (see [`qty_from_lots`]), so `qty x price` (price in quote per unit) is directly a collateral token amount.
//! Costs, funding and results are in collateral token units.
//!
//! - Equity = collateral + sum over positions of (qty x biased mark - cost - funding owed), where a long is
//!   marked at `mark - bias` and a short at `mark + bias` (bias = |delta| x k x oracle confidence): the value the
//!   account could be sure of if the oracle's true price sat k confidence intervals against it.
//! - Initial margin = multiplier x worst scenario loss of the summed risk arrays + a minimum per short option
//!   (a fraction of spot per unit), because a far-out-of-the-money short option shows almost no scenario loss yet
//!   can gap into the money.
//! - Maintenance margin = a fraction of initial. Liquidation starts when equity < maintenance.
//!
//! [`apply_fill`] is the position arithmetic of a trade: average-cost basis, realised P&L on the closed part.
use crate::error::{MathError, MathErrorKind, MathResult};
use crate::instrument::SCENARIOS;
use crate::risk::{accumulate, worst_loss};
use crate::safe::{safe_mul_qty, safe_mul_small, QtyFactor, SafeMath};
use fixed::types::I80F48;

/// Position sizes are integers in lots of 10^-SIZE_DECIMALS underlying units.
pub const SIZE_DECIMALS: u32 = 6;

/// Venue-wide margin parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MarginParams {
    /// Multiplier on the worst scenario loss (>= 1).
    pub im_multiplier: I80F48,
    /// Maintenance margin as a fraction of initial, in (0, 1].
    pub mm_fraction: I80F48,
    /// Minimum initial margin per short option unit, as a fraction of spot, in [0, 1).
    pub short_option_min: I80F48,
}

/// One position with its market's cached per-unit risk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PositionRisk {
    /// Signed token-scaled size (long > 0).
    pub qty: I80F48,
    /// Cost basis in tokens (sum of qty x execution price of the open part).
    pub cost: I80F48,
    /// Perp funding accrued and not yet folded into the cost basis (tokens; positive = owed by the account).
    pub funding_owed: I80F48,
    /// Per-unit mark, the non-negative bias half-width and the spot it was computed at (quote units).
    pub mark: I80F48,
    pub bias: I80F48,
    pub spot: I80F48,
    /// Per-unit P&L in each scenario (quote units).
    pub risk_array: [I80F48; SCENARIOS],
    pub is_option: bool,
}

impl PositionRisk {
    /// No position: every field zero (a slot to read a position into in place).
    pub const ZERO: Self = Self {
        qty: I80F48::ZERO,
        cost: I80F48::ZERO,
        funding_owed: I80F48::ZERO,
        mark: I80F48::ZERO,
        bias: I80F48::ZERO,
        spot: I80F48::ZERO,
        risk_array: [I80F48::ZERO; SCENARIOS],
        is_option: false,
    };
}

/// Which side of the confidence band a valuation takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// The holder's value if the price sits `bias` against it (for margin and withdrawals).
    Lower,
    /// The holder's value if the price sits `bias` in its favour (for pricing deposits).
    Upper,
}

/// Equity and margin requirements of one account, in tokens.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Health {
    pub equity: I80F48,
    pub initial: I80F48,
    pub maintenance: I80F48,
}

impl Health {
    /// Trades and withdrawals that add risk must leave equity >= initial margin.
    pub fn meets_initial(&self) -> bool {
        self.equity >= self.initial
    }

    /// Liquidation starts strictly below maintenance.
    pub fn is_liquidatable(&self) -> bool {
        self.equity < self.maintenance
    }

    /// How far equity is below maintenance (negative when healthy).
    pub fn maintenance_shortfall(&self) -> MathResult<I80F48> {
        self.maintenance.safe_sub(self.equity)
    }
}

/// Token-scaled quantity of `lots`: lots x 10^decimals / 10^SIZE_DECIMALS (exact when decimals >= 6).
#[track_caller]
pub fn qty_from_lots(lots: i64, collateral_decimals: u8) -> MathResult<I80F48> {
    let d = u32::from(collateral_decimals);
    if d > 18 {
        return Err(MathError::new(MathErrorKind::InvalidParameter));
    }
    let lots = I80F48::checked_from_num(lots).ok_or_else(|| MathError::new(MathErrorKind::Overflow))?;
    if d >= SIZE_DECIMALS {
        safe_mul_qty(lots, I80F48::from_num(10i64.pow(d - SIZE_DECIMALS)))
    } else {
        lots.safe_div(I80F48::from_num(10i64.pow(SIZE_DECIMALS - d)))
    }
}

/// Value of holding `qty` units at `mark`, biased by `bias` per unit in the direction `bound` asks for.
#[track_caller]
pub fn holding_value(qty: I80F48, mark: I80F48, bias: I80F48, bound: Bound) -> MathResult<I80F48> {
    let against = (qty > I80F48::ZERO) == (bound == Bound::Lower);
    let price = if against { mark.safe_sub(bias)? } else { mark.safe_add(bias)? };
    safe_mul_qty(qty, price)
}

/// A position's value net of its cost and unfolded funding, marked at `bound` (tokens).
#[track_caller]
pub fn position_value(p: &PositionRisk, bound: Bound) -> MathResult<I80F48> {
    net_value(p.qty, p.cost, p.funding_owed, p.mark, p.bias, bound)
}

/// What a position's value is made of: the [`PositionRisk`] fields [`position_value`] reads, without the risk
/// array (share pricing needs the value alone).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ValueParts {
    pub qty: I80F48,
    pub cost: I80F48,
    pub funding_owed: I80F48,
    pub mark: I80F48,
    pub bias: I80F48,
}

impl ValueParts {
    /// The value at `bound`: [`position_value`]'s bits for a position with these fields.
    #[track_caller]
    #[inline(always)]
    pub fn at(&self, bound: Bound) -> MathResult<I80F48> {
        net_value(self.qty, self.cost, self.funding_owed, self.mark, self.bias, bound)
    }
}

/// `qty` marked at `bound` of `mark` +/- `bias`, less `cost` and `funding_owed`.
#[track_caller]
#[inline(always)]
fn net_value(
    qty: I80F48,
    cost: I80F48,
    funding_owed: I80F48,
    mark: I80F48,
    bias: I80F48,
    bound: Bound,
) -> MathResult<I80F48> {
    holding_value(qty, mark, bias, bound)?.safe_sub(cost)?.safe_sub(funding_owed)
}

/// collateral + sum of position values at `bound`: the account's liquidation value bounds (tokens). `Lower` is
/// the margin equity of [`account_health`].
#[track_caller]
pub fn account_value(collateral: I80F48, positions: &[PositionRisk], bound: Bound) -> MathResult<I80F48> {
    let mut v = collateral;
    for p in positions {
        v = v.safe_add(position_value(p, bound)?)?;
    }
    Ok(v)
}

/// Equity, initial and maintenance margin of `collateral` plus `positions`.
#[track_caller]
pub fn account_health(collateral: I80F48, positions: &[PositionRisk], params: &MarginParams) -> MathResult<Health> {
    AccountSums::of(positions, params)?.health(collateral, params)
}

/// The sums over positions that an account's health is made of: position values at the lower bound, the risk
/// arrays and the short-option floors. Every one is additive, so a trade changes them by its positions' terms
/// alone: taking a position's terms out and its new ones in gives the same bits as summing the new book afresh
/// (fixed-point addition is exact; only an overflowing partial sum, far beyond any real book, can differ).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccountSums {
    /// Sum of position values at [`Bound::Lower`] (tokens; collateral not included).
    pub value_lower: I80F48,
    /// Summed risk arrays (tokens per scenario).
    pub scenarios: [I80F48; SCENARIOS],
    /// Sum of the minimum initial margin of short options (tokens).
    pub short_option_floor: I80F48,
}

impl Default for AccountSums {
    fn default() -> Self {
        AccountSums {
            value_lower: I80F48::ZERO,
            scenarios: [I80F48::ZERO; SCENARIOS],
            short_option_floor: I80F48::ZERO,
        }
    }
}

impl AccountSums {
    /// The sums over `positions`.
    #[track_caller]
    pub fn of(positions: &[PositionRisk], params: &MarginParams) -> MathResult<Self> {
        let mut s = AccountSums::default();
        for p in positions {
            s.add(p, params)?;
        }
        Ok(s)
    }

    /// Adds `p`'s terms.
    #[track_caller]
    pub fn add(&mut self, p: &PositionRisk, params: &MarginParams) -> MathResult<()> {
        self.value_lower = self.value_lower.safe_add(position_value(p, Bound::Lower)?)?;
        accumulate(&mut self.scenarios, &p.risk_array, p.qty)?;
        if let Some(floor) = short_option_floor(p, params)? {
            self.short_option_floor = self.short_option_floor.safe_add(floor)?;
        }
        Ok(())
    }

    /// Takes `p`'s terms out: the exact inverse of [`AccountSums::add`] (each term is computed the same way).
    #[track_caller]
    pub fn remove(&mut self, p: &PositionRisk, params: &MarginParams) -> MathResult<()> {
        self.value_lower = self.value_lower.safe_sub(position_value(p, Bound::Lower)?)?;
        let qty = QtyFactor::new(p.qty);
        for (a, x) in self.scenarios.iter_mut().zip(&p.risk_array) {
            *a = a.safe_sub(qty.mul(*x)?)?;
        }
        if let Some(floor) = short_option_floor(p, params)? {
            self.short_option_floor = self.short_option_floor.safe_sub(floor)?;
        }
        Ok(())
    }

    /// Equity and margin of an account holding `collateral` and the positions summed here.
    #[track_caller]
    pub fn health(&self, collateral: I80F48, params: &MarginParams) -> MathResult<Health> {
        let equity = collateral.safe_add(self.value_lower)?;
        let initial = worst_loss(&self.scenarios).safe_mul(params.im_multiplier)?.safe_add(self.short_option_floor)?;
        let maintenance = initial.safe_mul(params.mm_fraction)?;
        Ok(Health { equity, initial, maintenance })
    }
}

/// A short option's minimum initial margin, |qty| x spot x `short_option_min` (none for other positions).
#[track_caller]
fn short_option_floor(p: &PositionRisk, params: &MarginParams) -> MathResult<Option<I80F48>> {
    if !(p.is_option && p.qty < I80F48::ZERO) {
        return Ok(None);
    }
    Ok(Some(safe_mul_small(safe_mul_qty(p.qty.saturating_abs(), p.spot)?, params.short_option_min)?))
}

/// Result of filling `delta` lots against a position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    pub size: i64,
    pub cost: I80F48,
    /// Realised P&L of the closed part (tokens; positive = gain to the position holder).
    pub realized: I80F48,
}

/// Fills `delta` lots whose value at the execution price is `delta_value` (= qty(delta) x price, signed like
/// `delta`) against a position of `size` lots with cost basis `cost`. Adding keeps an average cost; reducing
/// removes the closed fraction of the cost and realises the difference; crossing zero closes then reopens.
#[track_caller]
pub fn apply_fill(size: i64, cost: I80F48, delta: i64, delta_value: I80F48) -> MathResult<Fill> {
    let new_size = size.safe_add(delta)?;
    if delta == 0 {
        return Err(MathError::new(MathErrorKind::InvalidParameter));
    }
    // Opening or adding.
    if size == 0 || (size > 0) == (delta > 0) {
        return Ok(Fill { size: new_size, cost: cost.safe_add(delta_value)?, realized: I80F48::ZERO });
    }
    let (held, traded) = (I80F48::from_num(size.unsigned_abs()), I80F48::from_num(delta.unsigned_abs()));
    if delta.unsigned_abs() <= size.unsigned_abs() {
        // Reducing (or closing exactly: the whole cost goes, with no rounding residue).
        let removed = if new_size == 0 { cost } else { cost.safe_mul(traded)?.safe_div(held)? };
        let realized = delta_value.saturating_neg().safe_sub(removed)?;
        return Ok(Fill { size: new_size, cost: cost.safe_sub(removed)?, realized });
    }
    // Crossing zero: the first |size| lots close the position, the rest open the other side.
    let close_value = delta_value.safe_mul(held)?.safe_div(traded)?;
    let realized = close_value.saturating_neg().safe_sub(cost)?;
    Ok(Fill { size: new_size, cost: delta_value.safe_sub(close_value)?, realized })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(x: f64) -> I80F48 {
        I80F48::from_num(x)
    }

    #[test]
    fn fills_keep_average_cost_and_realise_the_closed_part() {
        // Long 10 at 100, sell 4 at 110: realise 4 x 10 = 40, keep 6 at 100.
        let f = apply_fill(10, n(1000.0), -4, n(-440.0)).unwrap();
        assert_eq!((f.size, f.cost, f.realized), (6, n(600.0), n(40.0)));
        // Short 10 at 100, buy 4 at 90: realise 40.
        let f = apply_fill(-10, n(-1000.0), 4, n(360.0)).unwrap();
        assert_eq!((f.size, f.cost, f.realized), (-6, n(-600.0), n(40.0)));
        // Flip: long 10 at 100, sell 15 at 90: realise -100, now short 5 at 90.
        let f = apply_fill(10, n(1000.0), -15, n(-1350.0)).unwrap();
        assert_eq!((f.size, f.cost, f.realized), (-5, n(-450.0), n(-100.0)));
        // Exact close leaves no cost residue even when the average cost is not representable.
        let f = apply_fill(3, n(100.0), -3, n(-90.0)).unwrap();
        assert_eq!((f.size, f.cost, f.realized), (0, I80F48::ZERO, n(-10.0)));
        assert!(apply_fill(1, n(1.0), 0, n(0.0)).is_err());
        assert!(apply_fill(i64::MAX, n(1.0), 1, n(1.0)).is_err());
    }

    #[test]
    fn health_sums_risk_arrays_and_biases_against_the_holder() {
        let params = MarginParams { im_multiplier: n(1.0), mm_fraction: n(0.5), short_option_min: n(0.125) };
        let mut arr = [I80F48::ZERO; SCENARIOS];
        for (i, a) in arr.iter_mut().enumerate() {
            *a = n(i as f64 - 7.0); // worst scenario: -7 per unit long
        }
        let long = PositionRisk {
            qty: n(2.0),
            cost: n(20.0),
            funding_owed: n(1.0),
            mark: n(10.0),
            bias: n(0.5),
            spot: n(100.0),
            risk_array: arr,
            is_option: true,
        };
        let h = account_health(n(50.0), &[long], &params).unwrap();
        // 50 + 2 x 9.5 - 20 - 1 = 48; worst loss 14; long options add no floor.
        assert_eq!(h, Health { equity: n(48.0), initial: n(14.0), maintenance: n(7.0) });
        // An offsetting short of the same risk nets the scenarios to zero, but the short option floor remains:
        // 2 x 100 x 0.125 = 25; the short is marked high (10.5).
        let short = PositionRisk { qty: n(-2.0), cost: n(-20.0), funding_owed: n(0.0), ..long };
        let h = account_health(n(50.0), &[long, short], &params).unwrap();
        assert_eq!(h.initial, n(25.0));
        assert_eq!(h.equity, n(50.0 + 19.0 - 20.0 - 1.0 - 21.0 + 20.0));
        assert!(h.meets_initial() && !h.is_liquidatable());
    }

    /// A position from raw draws: whole-number quantities (as `qty_from_lots` makes them), fractional marks.
    fn drawn(qty: i64, cost: i64, mark: i64, bias: u32, risk: &[i64; SCENARIOS], is_option: bool) -> PositionRisk {
        let f = |x: i64| I80F48::from_bits(i128::from(x) << 20);
        PositionRisk {
            qty: I80F48::from_num(qty),
            cost: f(cost),
            funding_owed: f(cost / 7),
            mark: f(mark),
            bias: f(i64::from(bias)),
            spot: f(mark.abs() + 1),
            risk_array: risk.map(f),
            is_option,
        }
    }

    proptest::proptest! {
        /// Trading one position of a book (out with its old terms, in with its new ones) gives the same bits as
        /// summing the traded book afresh: what lets the vault value a rebalance's after-state from its legs.
        #[test]
        fn sums_updated_by_a_trade_equal_sums_afresh(
            book in proptest::collection::vec(
                (-1_000_000_000i64..1_000_000_000, proptest::num::i64::ANY, -(1i64 << 40)..(1 << 40), 0u32..1 << 30,
                 proptest::array::uniform14(-(1i64 << 40)..(1i64 << 40)), proptest::bool::ANY),
                1..9),
            traded in 0usize..8,
            new_qty in -1_000_000_000i64..1_000_000_000,
            new_cost in proptest::num::i64::ANY,
        ) {
            let params = MarginParams { im_multiplier: n(1.25), mm_fraction: n(0.6), short_option_min: n(0.1) };
            let before: Vec<_> = book.iter().map(|(q, c, m, b, r, o)| drawn(*q, *c, *m, *b, r, *o)).collect();
            let i = traded % before.len();
            let mut after = before.clone();
            after[i] = PositionRisk { qty: I80F48::from_num(new_qty), cost: I80F48::from_bits(i128::from(new_cost) << 20), ..before[i] };
            let mut sums = AccountSums::of(&before, &params).unwrap();
            sums.remove(&before[i], &params).unwrap();
            sums.add(&after[i], &params).unwrap();
            proptest::prop_assert_eq!(sums, AccountSums::of(&after, &params).unwrap());
            // And the health made from the sums is account_health's, which sums from the collateral up.
            let collateral = n(12_345.678);
            let mut equity = collateral;
            for p in &after {
                equity = equity.safe_add(position_value(p, Bound::Lower).unwrap()).unwrap();
            }
            proptest::prop_assert_eq!(sums.health(collateral, &params).unwrap().equity, equity);
            proptest::prop_assert_eq!(account_value(collateral, &after, Bound::Lower).unwrap(), equity);
        }
    }

    #[test]
    fn lots_scale_to_token_units() {
        assert_eq!(qty_from_lots(1_500_000, 6).unwrap(), n(1_500_000.0));
        assert_eq!(qty_from_lots(1_500_000, 9).unwrap(), n(1_500_000_000.0));
        assert!(qty_from_lots(1, 19).is_err());
        assert!(qty_from_lots(i64::MAX, 18).is_err());
    }
}
