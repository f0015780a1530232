//! The embedded demo (the README's main job): the real programs on an in-process bank, a vault with depositors
//! and a hedged short-call book, a seeded crash-shaped price path, and the live keeper rebalancing it.
//!
//! Scenario (hourly steps): a calm drift, then a sharp drop with a volatility spike, then a partial recovery. The
//! oracle's EMA lags the price, so the crash trips the vault's circuit breaker (deposits stop; exits and
//! risk-reducing rebalances continue). A depositor asks to withdraw on the first day and is paid after the delay.
pub mod report;
pub mod rounding;
pub mod world;

use crate::chain::Chain;
use crate::rebalancer::{Outcome, Rebalancer};
use crate::strategy::StaticBand;
use keel_math::margin::Bound;
use keel_vault::state::{Vault, WithdrawalRequest};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::Serialize;
use solana_sdk::signer::Signer;
use world::{World, USDC};

/// Demo knobs (all have defaults: `keel-keeper demo` needs no arguments).
#[derive(Clone, Debug)]
pub struct DemoConfig {
    pub hours: usize,
    pub seed: u64,
    pub spot: f64,
    /// Real hourly closes to replay instead of the seeded path (the first one sets the starting spot).
    pub replay: Option<Vec<f64>>,
    /// Vaults on the venue, each with its own depositors and book; one keeper process serves them all.
    pub vaults: u16,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self { hours: 72, seed: 7, spot: 100.0, replay: None, vaults: 1 }
    }
}

/// Hourly closes from a price CSV (../shared/data/prices format) starting at `from` (RFC 3339), `hours` of them.
/// Missing bars are skipped (the path simply moves to the next real bar) and reported.
pub fn replay_closes(path: &std::path::Path, from: &str, hours: usize) -> anyhow::Result<(Vec<f64>, usize)> {
    let start = chrono::DateTime::parse_from_rfc3339(from)
        .map_err(|e| anyhow::anyhow!("--from must be an RFC 3339 time such as 2022-11-06T00:00:00Z: {e}"))?;
    let bars = crate::market_data::prices::load_bars(path)?;
    let picked: Vec<_> = bars.iter().filter(|b| b.time >= start).take(hours).collect();
    anyhow::ensure!(
        picked.len() == hours,
        "{} has only {} bars from {from}; ask for fewer --hours",
        path.display(),
        picked.len()
    );
    let gaps = picked.windows(2).filter(|w| (w[1].time - w[0].time).num_seconds() != 3_600).count();
    Ok((picked.iter().map(|b| b.close).collect(), gaps))
}

/// One hour of the run.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    pub hour: usize,
    pub spot: f64,
    /// Vault 0's NAV (the other columns are vault 0's too); every vault's in `vault_navs`.
    pub nav: f64,
    pub vault_navs: Vec<f64>,
    pub delta: f64,
    /// The mandate's delta half-band at this portfolio (static or Whalley-Wilmott).
    pub band: f64,
    /// Venue margin equity / maintenance.
    pub health: f64,
    /// Worst scenario loss of the book as a fraction of NAV (the mandate's VaR measure).
    pub var_fraction: f64,
    pub breach: f64,
    pub breaker: bool,
    /// What else happened this hour (withdrawal request, claim, breaker tripping or clearing).
    pub events: Vec<String>,
    pub outcome: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub vaults: usize,
    pub steps: Vec<Step>,
    pub rebalances: usize,
    pub rewards_usdc: f64,
    pub deposited_usdc: f64,
    pub final_nav_usdc: f64,
    pub withdrawal_paid_usdc: f64,
    pub breaker_hours: usize,
    /// Venue vault tokens = pool cash + margin collateral, and vault idle tokens = idle accounting, at the end.
    pub reconciled: bool,
    /// Every deposit, the withdrawal request and its claim, against exact pro rata (see [`rounding`]).
    pub share_ops: Vec<rounding::ShareOp>,
    /// The largest rounding (under one unit) and shortfall against exact pro rata among `share_ops`, token units.
    pub max_rounding_units: f64,
    pub max_shortfall_units: f64,
}

/// The seeded path: `hours` hourly prices shaped like a crash.
pub fn crash_path(cfg: &DemoConfig) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let z = Normal::new(0.0, 1.0).expect("unit normal");
    let (calm, crash) = (cfg.hours / 3, cfg.hours / 3 + 8);
    let mut s = cfg.spot;
    (0..cfg.hours)
        .map(|h| {
            // Hourly vol: 60%/yr calm, 200%/yr in the crash; drift -3%/h through the crash, +0.4%/h after.
            let (vol, drift) = if h < calm {
                (0.6, 0.0)
            } else if h < crash {
                (2.0, -0.03)
            } else {
                (0.9, 0.004)
            };
            let sigma = vol / (24.0f64 * 365.0).sqrt();
            s *= (drift - 0.5 * sigma * sigma + sigma * z.sample(&mut rng)).exp();
            s
        })
        .collect()
}

fn f(x: fixed::types::I80F48) -> f64 {
    x.to_num()
}

/// Runs the demo; `progress` sees each step as it happens.
pub async fn run(cfg: DemoConfig, mut progress: impl FnMut(&Step)) -> anyhow::Result<Report> {
    let path = match &cfg.replay {
        Some(closes) => closes.clone(),
        None => crash_path(&cfg),
    };
    let start = path.first().copied().unwrap_or(cfg.spot);
    let chain = crate::chain::Embedded::start().await;
    let mut w = World::create(chain, if cfg.replay.is_some() { start } else { cfg.spot }, cfg.vaults).await?;
    let amounts = [60_000 * USDC, 30_000 * USDC, 10_000 * USDC];
    let mut share_ops = Vec::new();
    for v in 0..w.vaults.len() {
        w.select(v);
        share_ops.extend(w.open_book(&amounts, 100).await?);
    }
    w.select(0);
    // One keeper operator serves every vault (one rebalancer each, same key).
    let keeper_party = w.party(0).await?;
    let mut keepers: Vec<Rebalancer<StaticBand>> =
        w.vaults.iter().map(|keys| w.rebalancer(*keys, &keeper_party.key, keeper_party.collateral)).collect();
    // The smallest depositor asks to leave with all its shares on day one.
    let leaver = 2;
    let (mut paid, mut request) = (0u64, None::<WithdrawalRequest>);
    let mut steps = Vec::new();
    let mut rewards = 0u64;
    for (hour, spot) in path.into_iter().enumerate() {
        let t = w.chain.clock().await?.unix_timestamp + 3_600;
        w.chain.set_time(t).await?;
        w.chain.warp_slots(9_000).await?;
        w.set_spot(spot).await?;
        let mut outcomes = Vec::new();
        for (v, keeper) in keepers.iter_mut().enumerate() {
            let text = match keeper.cycle(&mut w.chain).await? {
                Outcome::Rebalanced { reward, lots, .. } => {
                    rewards += reward;
                    format!("rebalanced: {:+.2} perps, reward {:.4}", lots as f64 / 1e6, reward as f64 / USDC as f64)
                }
                Outcome::Idle(why) => why,
                Outcome::LostRace => "lost a race".into(),
                Outcome::Rejected(e) => format!("rejected: {e}"),
            };
            outcomes.push(if cfg.vaults > 1 { format!("vault {v} {text}") } else { text });
        }
        let outcome = outcomes.join("; ");
        let markets = w.vault_markets().await?;
        let mut events = Vec::new();
        if request.is_none() && hour == 6 {
            let (key, shares_account) = (w.depositors[leaver].key.insecure_clone(), w.depositors[leaver].shares);
            let shares = rounding::balance(&mut w.chain, &shares_account).await?;
            let ix = w.keys.request_ix(&key.pubkey(), &shares_account, shares, &markets);
            w.chain.send(&[ix], &[&key]).await?;
            events.push(format!("depositor 3 asks to withdraw all its shares ({shares} base units)"));
            // Priced at the lower NAV; a request moves no tokens and keeps the supply (the shares sit in escrow).
            let r: WithdrawalRequest =
                w.chain.read(&keel_client::vault::withdrawal_pda(&w.keys.vault, &key.pubkey())).await?;
            let (nav, total) = rounding::priced(&mut w.chain, w.keys, Bound::Lower).await?;
            share_ops.push(rounding::redeemed("withdrawal request".into(), r.shares, r.value_at_request, nav, total)?);
            request = Some(r);
        } else if let (Some(r), 0) = (&request, paid) {
            if hour >= 6 + 25 {
                let d = &w.depositors[leaver];
                let (key, collateral) = (d.key.insecure_clone(), d.collateral);
                let before = rounding::balance(&mut w.chain, &collateral).await?;
                let ix = w.keys.claim_ix(&key.pubkey(), &collateral, &markets);
                w.chain.send(&[ix], &[&key]).await?;
                paid = rounding::balance(&mut w.chain, &collateral).await? - before;
                events.push(format!("withdrawal claimed: {:.2} USDC paid", paid as f64 / USDC as f64));
                // Priced before the payment and the burn: add both back. The claim pays min(value at request, value
                // now); the value now is the redemption audited.
                let (nav, total) = rounding::priced(&mut w.chain, w.keys, Bound::Lower).await?;
                let (nav, total) = (nav + paid, total + r.shares);
                let now = Vault::SHARE_MATH.shares_to_amount_floor(r.shares, nav, total)?;
                anyhow::ensure!(paid == now.min(r.value_at_request), "claim paid {paid}, not min({now}, request)");
                share_ops.push(rounding::redeemed("withdrawal claim (value now)".into(), r.shares, now, nav, total)?);
            }
        }
        let view = crate::vault_view::VaultView::load(&mut w.chain, w.keys).await?;
        let p = view.portfolio()?;
        let mandate = view.vault.config.mandate.mandate();
        let mut vault_navs = vec![f(p.nav) / USDC as f64];
        for keys in w.vaults[1..].iter().copied() {
            let other = crate::vault_view::VaultView::load(&mut w.chain, keys).await?;
            vault_navs.push(f(other.portfolio()?.nav) / USDC as f64);
        }
        let breach = mandate
            .breach(&mandate.excesses(&p).map_err(|e| anyhow::anyhow!("{e}"))?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let breaker = keel_vault::venue_link::tripped(&view.price, &view.vault.config.breaker)?;
        if breaker != steps.last().is_some_and(|s: &Step| s.breaker) {
            events.push(if breaker { "circuit breaker tripped" } else { "circuit breaker cleared" }.to_string());
        }
        let band = mandate.band(&p).map_err(|e| anyhow::anyhow!("{e}"))?;
        let ratio = |a: fixed::types::I80F48, b: fixed::types::I80F48| if b > 0 { f(a) / f(b) } else { f64::INFINITY };
        let step = Step {
            hour,
            spot,
            nav: f(p.nav) / USDC as f64,
            vault_navs,
            delta: f(p.delta),
            band: f(band),
            health: ratio(p.equity, p.maintenance),
            var_fraction: ratio(p.worst_loss, p.nav),
            breach: f(breach),
            breaker,
            outcome,
            events,
        };
        progress(&step);
        steps.push(step);
    }
    // Reconciliation to the token unit: the venue holds the pool plus every vault's margin; each vault its idle.
    let venue_tokens = rounding::balance(&mut w.chain, &keel_client::venue::collateral_vault_pda(&w.venue)).await?;
    let venue: keel_venue::state::Venue = w.chain.read(&w.venue).await?;
    let (mut venue_claims, mut idle_ok, mut final_nav) = (i128::from(venue.pool_assets), true, 0.0);
    for keys in w.vaults.clone() {
        let view = crate::vault_view::VaultView::load(&mut w.chain, keys).await?;
        venue_claims += i128::from(view.margin.collateral);
        let idle_tokens = rounding::balance(&mut w.chain, &keel_client::vault::idle_pda(&keys.vault)).await?;
        idle_ok &= idle_tokens == view.vault.idle_assets;
        final_nav += f(view.portfolio()?.nav) / USDC as f64;
    }
    let reconciled = i128::from(venue_tokens) == venue_claims && idle_ok;
    Ok(Report {
        seed: cfg.seed,
        rebalances: steps.iter().map(|s| s.outcome.matches("rebalanced").count()).sum(),
        breaker_hours: steps.iter().filter(|s| s.breaker).count(),
        steps,
        rewards_usdc: rewards as f64 / USDC as f64,
        deposited_usdc: (amounts.iter().sum::<u64>() * w.vaults.len() as u64) as f64 / USDC as f64,
        final_nav_usdc: final_nav,
        vaults: w.vaults.len(),
        withdrawal_paid_usdc: paid as f64 / USDC as f64,
        reconciled,
        max_rounding_units: share_ops.iter().map(|o| o.rounding_units).fold(0.0, f64::max),
        max_shortfall_units: share_ops.iter().map(|o| o.shortfall_units).fold(0.0, f64::max),
        share_ops,
    })
}
