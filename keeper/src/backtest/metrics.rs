//! Per-run metrics: P&L, annualised return and volatility, Sharpe, drawdown, hedging error, turnover, costs by
//! kind, rebalances, time outside the mandate, liquidations and keeper rewards.
use super::engine::{CostsByKind, Run};
use serde::{Deserialize, Serialize};

const SECONDS_PER_YEAR: f64 = 365.0 * 86_400.0;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub policy: String,
    pub start: i64,
    pub end: i64,
    pub capital: f64,
    pub final_equity: f64,
    pub pnl: f64,
    /// Compound annual growth (−1 if the account was wiped out).
    pub annual_return: f64,
    pub annual_vol: f64,
    /// Mean over standard deviation of bar returns, annualised (zero risk-free rate).
    pub sharpe: f64,
    /// Largest peak-to-trough fall of equity, as a fraction of the peak.
    pub max_drawdown: f64,
    /// Standard deviation of the per-bar hedging error (quote units).
    pub hedge_error_std: f64,
    /// Hedge notional traded per year, in multiples of capital.
    pub turnover: f64,
    pub costs: CostsByKind,
    pub total_costs: f64,
    pub rebalances: usize,
    pub refused_rebalances: usize,
    /// Fraction of bars with the book outside the mandate (delta band or health).
    pub time_outside_mandate: f64,
    pub liquidations: usize,
    pub keeper_rewards: f64,
}

fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.len() < 2 {
        return (0.0, 0.0);
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Largest peak-to-trough fall as a fraction of the running peak.
pub fn max_drawdown(equity: &[f64]) -> f64 {
    let mut peak = f64::MIN;
    let mut worst = 0.0f64;
    for &e in equity {
        peak = peak.max(e);
        if peak > 0.0 {
            worst = worst.max((peak - e) / peak);
        }
    }
    worst
}

impl Metrics {
    pub fn of(run: &Run, capital: f64, interval_secs: i64) -> Self {
        let bars = &run.bars;
        let (start, end) = (bars.first().map_or(0, |b| b.t), bars.last().map_or(0, |b| b.t));
        let years = ((end - start) as f64 / SECONDS_PER_YEAR).max(1e-9);
        let equity: Vec<f64> = bars.iter().map(|b| b.equity).collect();
        let final_equity = equity.last().copied().unwrap_or(capital);
        let mut prev = capital;
        let returns: Vec<f64> = equity
            .iter()
            .map(|&e| {
                let r = if prev > 0.0 { e / prev - 1.0 } else { 0.0 };
                prev = e;
                r
            })
            .collect();
        let (mean, std) = mean_std(&returns);
        let per_year = SECONDS_PER_YEAR / interval_secs as f64;
        let errors: Vec<f64> = bars.iter().skip(1).map(|b| b.hedge_error).collect();
        let outside = bars.iter().filter(|b| b.outside_mandate).count();
        Metrics {
            policy: run.policy.clone(),
            start,
            end,
            capital,
            final_equity,
            pnl: final_equity - capital,
            annual_return: if final_equity > 0.0 { (final_equity / capital).powf(1.0 / years) - 1.0 } else { -1.0 },
            annual_vol: std * per_year.sqrt(),
            sharpe: if std > 0.0 { mean / std * per_year.sqrt() } else { 0.0 },
            max_drawdown: max_drawdown(&equity),
            hedge_error_std: mean_std(&errors).1,
            turnover: run.hedge_notional / capital / years,
            costs: run.costs,
            total_costs: run.costs.total(),
            rebalances: run.rebalances,
            refused_rebalances: run.refused,
            time_outside_mandate: if bars.is_empty() { 0.0 } else { outside as f64 / bars.len() as f64 },
            liquidations: run.liquidations,
            keeper_rewards: run.costs.keeper_rewards,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawdown_is_measured_from_the_running_peak() {
        assert_eq!(max_drawdown(&[100.0, 120.0, 90.0, 130.0, 117.0]), 0.25);
        assert_eq!(max_drawdown(&[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(mean_std(&[1.0]), (0.0, 0.0));
        let (m, s) = mean_std(&[1.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((s - 2f64.sqrt()).abs() < 1e-15);
    }
}
