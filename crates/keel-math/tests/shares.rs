//! Property: no sequence of deposits and withdrawals can extract value from a share pool.
//!
//! The pool is modelled exactly as a program holds it (u64 assets and shares). Actions are applied by several
//! actors; after every step the price per share, (assets + VA) / (shares + VS), must not decrease, assets must
//! cover every outstanding share at the floor price, and at the end no actor has taken out more than it put in
//! unless the pool earned a profit.
use keel_math::ShareMath;
use proptest::prelude::*;

const M: ShareMath = ShareMath::DEFAULT;

#[derive(Clone, Debug)]
enum Action {
    /// Deposit an amount, minting floor shares.
    Deposit { actor: usize, amount: u64 },
    /// Redeem a fraction (per mille) of the actor's shares for a floor amount.
    Redeem { actor: usize, permille: u16 },
    /// Mint an exact number of shares, paying a ceiling amount.
    Mint { actor: usize, shares: u64 },
    /// Withdraw an exact amount, burning ceiling shares.
    Withdraw { actor: usize, amount: u64 },
    /// Someone sends tokens to the pool (a donation or a trading gain).
    Donate { amount: u64 },
}

fn action() -> impl Strategy<Value = Action> {
    let actor = 0usize..4;
    let amount = prop_oneof![1u64..100, 1u64..1_000_000, 1u64..1_000_000_000_000];
    prop_oneof![
        (actor.clone(), amount.clone()).prop_map(|(actor, amount)| Action::Deposit { actor, amount }),
        (actor.clone(), 0u16..=1000).prop_map(|(actor, permille)| Action::Redeem { actor, permille }),
        (actor.clone(), 1u64..1_000_000_000).prop_map(|(actor, shares)| Action::Mint { actor, shares }),
        (actor, amount.clone()).prop_map(|(actor, amount)| Action::Withdraw { actor, amount }),
        amount.prop_map(|amount| Action::Donate { amount }),
    ]
}

#[derive(Default)]
struct Pool {
    assets: u64,
    shares: u64,
    held: [u64; 4],
    paid_in: [u128; 4],
    paid_out: [u128; 4],
    donated: u128,
}

impl Pool {
    /// Price per share as a fraction; compared by cross-multiplication so no rounding enters the check.
    fn price(&self) -> (u128, u128) {
        (u128::from(self.assets) + u128::from(M.virtual_assets), u128::from(self.shares) + u128::from(M.virtual_shares))
    }

    fn apply(&mut self, a: &Action) {
        // Any conversion error (overflow) means the action is refused; state must then be untouched, which holds
        // because every branch computes before it mutates.
        match *a {
            Action::Deposit { actor, amount } => {
                let Ok(minted) = M.amount_to_shares_floor(amount, self.assets, self.shares) else { return };
                let (Some(assets), Some(shares)) = (self.assets.checked_add(amount), self.shares.checked_add(minted))
                else {
                    return;
                };
                (self.assets, self.shares) = (assets, shares);
                self.held[actor] += minted;
                self.paid_in[actor] += u128::from(amount);
            }
            Action::Redeem { actor, permille } => {
                let burn = u64::try_from(u128::from(self.held[actor]) * u128::from(permille) / 1000).unwrap();
                let out = M.shares_to_amount_floor(burn, self.assets, self.shares).unwrap();
                self.assets -= out;
                self.shares -= burn;
                self.held[actor] -= burn;
                self.paid_out[actor] += u128::from(out);
            }
            Action::Mint { actor, shares } => {
                let Ok(cost) = M.shares_to_amount_ceil(shares, self.assets, self.shares) else { return };
                let (Some(assets), Some(total)) = (self.assets.checked_add(cost), self.shares.checked_add(shares))
                else {
                    return;
                };
                (self.assets, self.shares) = (assets, total);
                self.held[actor] += shares;
                self.paid_in[actor] += u128::from(cost);
            }
            Action::Withdraw { actor, amount } => {
                let amount = amount.min(self.assets);
                let Ok(burn) = M.amount_to_shares_ceil(amount, self.assets, self.shares) else { return };
                if burn > self.held[actor] {
                    return; // not enough shares: refused
                }
                self.assets -= amount;
                self.shares -= burn;
                self.held[actor] -= burn;
                self.paid_out[actor] += u128::from(amount);
            }
            Action::Donate { amount } => {
                if let Some(assets) = self.assets.checked_add(amount) {
                    self.assets = assets;
                    self.donated += u128::from(amount);
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn no_sequence_extracts_value(actions in prop::collection::vec(action(), 1..60)) {
        let mut pool = Pool::default();
        for a in &actions {
            let (pa, ps) = pool.price();
            pool.apply(a);
            let (na, ns) = pool.price();
            // 1. The price per share never decreases: na/ns >= pa/ps.
            prop_assert!(na * ps >= pa * ns, "price fell after {a:?}");
            // 2. The pool can always pay every holder at the floor price.
            let owed: u128 = pool.held.iter().map(|h| {
                u128::from(M.shares_to_amount_floor(*h, pool.assets, pool.shares).unwrap())
            }).sum();
            prop_assert!(owed <= u128::from(pool.assets));
            prop_assert_eq!(pool.held.iter().sum::<u64>(), pool.shares);
        }
        // 3. Everyone exits. Rounding dust stays in the pool and accrues pro rata to whoever still holds shares, so
        //    an actor may gain another actor's dust, but the pool as a whole never pays out more than came in: any
        //    actor's gain is bounded by the others' rounding losses plus donations.
        for actor in 0..4 {
            pool.apply(&Action::Redeem { actor, permille: 1000 });
        }
        let total_in: u128 = pool.paid_in.iter().sum();
        let total_out: u128 = pool.paid_out.iter().sum();
        prop_assert!(total_out <= total_in + pool.donated);
    }

    /// An actor acting alone (no other depositors' dust, no donations) can never get out more than it put in.
    #[test]
    fn a_lone_actor_never_profits(actions in prop::collection::vec(action(), 1..60)) {
        let mut pool = Pool::default();
        for a in &actions {
            let solo = match a.clone() {
                Action::Deposit { amount, .. } => Action::Deposit { actor: 0, amount },
                Action::Redeem { permille, .. } => Action::Redeem { actor: 0, permille },
                Action::Mint { shares, .. } => Action::Mint { actor: 0, shares },
                Action::Withdraw { amount, .. } => Action::Withdraw { actor: 0, amount },
                Action::Donate { amount } => Action::Deposit { actor: 0, amount },
            };
            pool.apply(&solo);
            prop_assert!(pool.paid_out[0] <= pool.paid_in[0]);
        }
        pool.apply(&Action::Redeem { actor: 0, permille: 1000 });
        prop_assert!(pool.paid_out[0] <= pool.paid_in[0]);
    }

    #[test]
    fn round_trip_never_profits(
        assets in 0u64..1_000_000_000_000, shares in 0u64..1_000_000_000_000_000, amount in 1u64..1_000_000_000_000,
    ) {
        if let Ok(minted) = M.amount_to_shares_floor(amount, assets, shares) {
            let back = M.shares_to_amount_floor(minted, assets + amount, shares + minted).unwrap();
            prop_assert!(back <= amount);
        }
        if let Ok(cost) = M.shares_to_amount_ceil(amount, assets, shares) {
            prop_assert!(M.amount_to_shares_floor(cost, assets, shares).unwrap() >= amount);
        }
    }

    /// The documented shortfall bounds (docs/math.md) hold for any pool: what a redemption pays and what a deposit's
    /// shares are worth fall short of exact pro rata by at most the bound. Exact integer comparisons.
    #[test]
    fn shortfall_against_exact_pro_rata_is_within_the_documented_bound(
        assets in 1u64..10_000_000_000_000, total in 1u64..10_000_000_000_000_000, permille in 1u64..=1000,
        amount in 1u64..10_000_000_000_000,
    ) {
        let shares = (u128::from(total) * u128::from(permille) / 1000).max(1) as u64;
        let (n, t) = (u128::from(assets), u128::from(total));
        // Redeem: shares x N / T - paid <= bound, i.e. shares x N <= (paid + bound) x T.
        let paid = M.shares_to_amount_floor(shares, assets, total).unwrap();
        let bound = M.redeem_shortfall_bound_ceil(shares, assets, total).unwrap();
        prop_assert!(u128::from(shares) * n <= (u128::from(paid) + u128::from(bound)) * t, "redeem {shares} {paid} {bound}");
        // Deposit: amount - minted x N / T <= bound, i.e. amount x T <= minted x N + bound x T.
        if let Ok(minted) = M.amount_to_shares_floor(amount, assets, total) {
            let bound = M.deposit_shortfall_bound_ceil(amount, assets, total).unwrap();
            prop_assert!(u128::from(amount) * t <= u128::from(minted) * n + u128::from(bound) * t, "deposit {minted} {bound}");
        }
    }
}

/// At the launch price (a share worth VA / VS) the virtual offset takes nothing: each bound is the floor alone,
/// one unit. Once a share is worth three times that, a holder of the whole supply loses under two units to it.
#[test]
fn shortfall_bounds_at_and_above_the_launch_price() {
    let t = 50_000_000_000_000u64;
    let n = t / 1000;
    assert_eq!(M.redeem_shortfall_bound_ceil(t / 3, n, t).unwrap(), 1);
    assert_eq!(M.deposit_shortfall_bound_ceil(1_000_000, n, t).unwrap(), 1);
    assert_eq!(M.redeem_shortfall_bound_ceil(t, 3 * n, t).unwrap(), 3);
    assert!(M.redeem_shortfall_bound_ceil(1, 0, 0).is_err(), "an empty pool has no pro rata");
}
