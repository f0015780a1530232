//! How a market prices, funds and books positions: the cache freshness rule, marks at the current spot, perp
//! funding from the pool's skew, position fills with the market aggregates, and the pool's claim on a market.
//! Pure state arithmetic (no accounts), so every instruction applies the same rules.
use crate::error::VenueError;
use crate::state::{Market, MarketKind, PodI128, Position, UnderlyingConfig};
use anchor_lang::prelude::*;
use fixed::types::I80F48;
use keel_math::margin::{apply_fill, holding_value, qty_from_lots, Bound, PositionRisk, ValueParts};
use keel_math::{safe_mul_qty, SafeMath};

const BPS: i64 = 10_000;
const SECONDS_PER_DAY: i64 = 86_400;

fn bps(x: u32) -> I80F48 {
    I80F48::from_num(x) / I80F48::from_num(BPS)
}

impl Market {
    pub fn is_option(&self) -> bool {
        self.kind() != MarketKind::Perp
    }

    /// Open for trading at `now`: not settled and, for an option, before expiry.
    pub fn is_live(&self, now: i64) -> bool {
        !self.book.is_settled() && (!self.is_option() || now < self.config.expiry)
    }

    /// Intrinsic value per unit at `spot` (options) or `spot` itself (perps).
    pub fn payoff(&self, spot: I80F48) -> Result<I80F48> {
        let k = self.config.strike.fx();
        let v = match self.kind() {
            MarketKind::Perp => spot,
            MarketKind::Call => spot.safe_sub(k).map_err(VenueError::from)?.max(I80F48::ZERO),
            MarketKind::Put => k.safe_sub(spot).map_err(VenueError::from)?.max(I80F48::ZERO),
        };
        Ok(v)
    }

    /// The cache may be used at `now` (and, when the caller read the oracle, at `spot`): refreshed recently and
    /// spot within the underlying's move limit of the spot it was computed at. Settled markets need no cache.
    pub fn require_fresh(&self, now: i64, spot: Option<(I80F48, &UnderlyingConfig)>) -> Result<()> {
        if self.book.is_settled() {
            return Ok(());
        }
        require!(now <= self.cache.valid_until, VenueError::RiskCacheStale);
        if let Some((spot, cfg)) = spot {
            let cached = self.cache.spot.fx();
            let moved = spot.safe_sub(cached).map_err(VenueError::from)?.saturating_abs();
            let limit = cached.safe_mul(bps(cfg.cache_max_move_bps)).map_err(VenueError::from)?;
            require!(moved <= limit, VenueError::RiskCacheStale);
        }
        Ok(())
    }

    /// Mark per unit at `spot`: the cached mark carried to `spot` by its delta and gamma (exact for perps, whose
    /// delta is 1 and gamma 0). Execution never uses a price that transaction ordering can move.
    pub fn mark_at(&self, spot: I80F48) -> Result<I80F48> {
        let c = &self.cache;
        let ds = spot.safe_sub(c.spot.fx()).map_err(VenueError::from)?;
        let half_gamma = c.gamma.fx() / I80F48::from_num(2);
        let m = c
            .mark
            .fx()
            .safe_add(c.delta.fx().safe_mul(ds).map_err(VenueError::from)?)
            .and_then(|m| m.safe_add(half_gamma.safe_mul(ds)?.safe_mul(ds)?))
            .map_err(VenueError::from)?;
        Ok(m.max(I80F48::ZERO))
    }

    /// Accrues perp funding up to `now` at `spot`: rate = cap x clamp(net size / OI cap, -1, 1) per day, so the
    /// side the pool is short pays the side it is long, pulling the skew back. No-op for options.
    pub fn accrue_funding(&mut self, now: i64, spot: I80F48) -> Result<()> {
        if self.is_option() {
            return Ok(());
        }
        let dt = now.saturating_sub(self.book.last_funding_ts);
        self.book.last_funding_ts = self.book.last_funding_ts.max(now);
        if dt <= 0 || self.book.net_size == 0 {
            return Ok(());
        }
        let cap = I80F48::from_num(self.config.max_open_interest);
        let skew = (I80F48::from_num(self.book.net_size) / cap).clamp(I80F48::NEG_ONE, I80F48::ONE);
        let per_unit = bps(u32::from(self.config.max_funding_bps_per_day))
            .safe_mul(skew)
            .and_then(|r| r.safe_mul(spot))
            .and_then(|r| r.safe_mul(I80F48::from_num(dt)))
            .and_then(|r| r.safe_div(I80F48::from_num(SECONDS_PER_DAY)))
            .map_err(VenueError::from)?;
        self.book.funding_index =
            PodI128::from(self.book.funding_index.fx().safe_add(per_unit).map_err(VenueError::from)?);
        Ok(())
    }

    /// Folds funding accrued since the position's snapshot into its cost basis (keeping the market aggregates in
    /// step), so that a fill sees a clean basis.
    pub fn fold_funding(&mut self, pos: &mut Position, decimals: u8) -> Result<()> {
        let qty = qty_from_lots(pos.size, decimals).map_err(VenueError::from)?;
        let index = self.book.funding_index.fx();
        let owed = qty.safe_mul(index.safe_sub(pos.funding_snap.fx()).map_err(VenueError::from)?);
        let owed = owed.map_err(VenueError::from)?;
        let snap_delta = qty.safe_mul(index).and_then(|a| a.safe_sub(qty.safe_mul(pos.funding_snap.fx())?));
        pos.cost = pos.cost.fx().safe_add(owed).map_err(VenueError::from)?.into();
        pos.funding_snap = index.into();
        self.book.net_cost = PodI128::from(self.book.net_cost.fx().safe_add(owed).map_err(VenueError::from)?);
        self.book.net_funding_snap = PodI128::from(
            self.book
                .net_funding_snap
                .fx()
                .safe_add(snap_delta.map_err(VenueError::from)?)
                .map_err(VenueError::from)?,
        );
        Ok(())
    }

    /// Fills `delta` lots of `pos` at `price` per unit (funding must be folded first): updates the position, the
    /// open interest and the aggregates, and returns the realised P&L (tokens, to the position holder).
    pub fn fill(&mut self, pos: &mut Position, delta: i64, price: I80F48, decimals: u8) -> Result<I80F48> {
        let value = qty_from_lots(delta, decimals).and_then(|q| q.safe_mul(price)).map_err(VenueError::from)?;
        let old = pos.size;
        let f = apply_fill(old, pos.cost.fx(), delta, value).map_err(VenueError::from)?;
        let b = &mut self.book;
        // Open interest per side, from the before/after sizes.
        let (long_before, short_before) = (old.max(0).unsigned_abs(), old.min(0).unsigned_abs());
        let (long_after, short_after) = (f.size.max(0).unsigned_abs(), f.size.min(0).unsigned_abs());
        let oi = |total: u64, before: u64, after: u64| total.checked_sub(before).and_then(|t| t.checked_add(after));
        b.long_oi = oi(b.long_oi, long_before, long_after).ok_or(VenueError::MathOverflow)?;
        b.short_oi = oi(b.short_oi, short_before, short_after).ok_or(VenueError::MathOverflow)?;
        b.net_size = b.net_size.checked_add(delta).ok_or(VenueError::MathOverflow)?;
        let cost_change = f.cost.safe_sub(pos.cost.fx()).map_err(VenueError::from)?;
        b.net_cost = PodI128::from(b.net_cost.fx().safe_add(cost_change).map_err(VenueError::from)?);
        // The funding snapshot moves with the size (it equals the index after folding).
        let snap_change = qty_from_lots(delta, decimals).and_then(|q| q.safe_mul(pos.funding_snap.fx()));
        b.net_funding_snap = PodI128::from(
            b.net_funding_snap.fx().safe_add(snap_change.map_err(VenueError::from)?).map_err(VenueError::from)?,
        );
        pos.size = f.size;
        pos.cost = f.cost.into();
        Ok(f.realized)
    }

    /// The position's inputs to keel-math's margin: quantity, cost, unfolded funding and the cached per-unit
    /// risk (after settlement: the payoff, no bias, no scenario risk).
    pub fn position_risk(&self, pos: &Position, decimals: u8) -> Result<PositionRisk> {
        let mut r = PositionRisk::ZERO;
        self.read_position_risk(pos, decimals, &mut r)?;
        Ok(r)
    }

    /// [`Market::position_risk`] written into `out` field by field. A `PositionRisk` is ~330 bytes, and each copy of
    /// one is a software copy on SBF (~0.2k compute units): a vault reading a 16-position book reads each position
    /// into its place. On an error `out` is partly written and must be discarded.
    pub fn read_position_risk(&self, pos: &Position, decimals: u8, out: &mut PositionRisk) -> Result<()> {
        let v = self.value_parts(pos, decimals)?;
        let settled = self.book.is_settled();
        (out.qty, out.cost, out.funding_owed, out.mark, out.bias) = (v.qty, v.cost, v.funding_owed, v.mark, v.bias);
        out.spot = self.cache.spot.fx();
        out.is_option = self.is_option() && !settled;
        if settled {
            out.risk_array = [I80F48::ZERO; crate::state::RISK_SCENARIOS];
        } else {
            for (o, x) in out.risk_array.iter_mut().zip(&self.cache.risk_array) {
                *o = x.fx();
            }
        }
        Ok(())
    }

    /// What `pos`'s value is made of (the part of [`Market::read_position_risk`] before the risk array): share
    /// pricing values a book at one or both bounds and needs nothing else (`ValueParts::at` gives the bits of
    /// `position_value`).
    #[inline(always)]
    pub fn value_parts(&self, pos: &Position, decimals: u8) -> Result<ValueParts> {
        let qty = qty_from_lots(pos.size, decimals).map_err(VenueError::from)?;
        let d = self.book.funding_index.fx().safe_sub(pos.funding_snap.fx());
        let funding_owed = d.and_then(|d| safe_mul_qty(qty, d)).map_err(VenueError::from)?;
        let (mark, bias) = if self.book.is_settled() {
            (self.book.settlement_value.fx(), I80F48::ZERO)
        } else {
            (self.cache.mark.fx(), self.cache.bias.fx())
        };
        Ok(ValueParts { qty, cost: pos.cost.fx(), funding_owed, mark, bias })
    }

    /// Per-unit delta, gamma and vega from the cache; zero once settled (a settled position is a fixed payoff).
    pub fn greeks(&self) -> [I80F48; 3] {
        let c = &self.cache;
        if self.book.is_settled() {
            [I80F48::ZERO; 3]
        } else {
            [c.delta.fx(), c.gamma.fx(), c.vega.fx()]
        }
    }

    /// The pool's unrealised claim on this market (tokens): it holds the opposite of every position, so
    /// net cost + funding owed to it - value of net size, valued at the `bound` of the confidence band.
    pub fn pool_claim(&self, decimals: u8, bound: Bound) -> Result<I80F48> {
        if self.book.net_size == 0 && self.book.net_cost == PodI128::ZERO && self.book.net_funding_snap == PodI128::ZERO
        {
            return Ok(I80F48::ZERO);
        }
        let net_qty = qty_from_lots(self.book.net_size, decimals).map_err(VenueError::from)?;
        let (mark, bias) = if self.book.is_settled() {
            (self.book.settlement_value.fx(), I80F48::ZERO)
        } else {
            (self.cache.mark.fx(), self.cache.bias.fx())
        };
        let held = holding_value(net_qty.saturating_neg(), mark, bias, bound).map_err(VenueError::from)?;
        let funding = safe_mul_qty(net_qty, self.book.funding_index.fx())
            .and_then(|f| f.safe_sub(self.book.net_funding_snap.fx()))
            .map_err(VenueError::from)?;
        held.safe_add(self.book.net_cost.fx()).and_then(|v| v.safe_add(funding)).map_err(|e| VenueError::from(e).into())
    }
}
