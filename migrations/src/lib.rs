//! Keel migrations: create a venue, its underlyings, vol surfaces, markets and LP liquidity, and vaults with their
//! mandates, from a TOML spec, on any [`Chain`] (the embedded bank or a cluster over RPC).
//!
//! Idempotent: every object is a PDA derived from the spec (venue index, underlying index, market index, vault
//! index), so each step first reads its account and creates it only if it is missing. Re-running a spec changes
//! nothing and reports every step as already present. The collateral mint is created only when the caller passes
//! a mint keypair (the embedded bank); on a real cluster the spec names an existing mint.
//!
//! Steps, in order: 1 mint (optional), 2 venue, 3 underlyings, 4 surfaces + markets, 5 LP liquidity, 6 vaults.
pub mod spec;

use keel_client::chain::{Chain, ChainError};
use keel_client::token::{create_mint_ixs, create_token_account_ixs, mint_to_ix, ACCOUNT_LEN, MINT_LEN, SPL_TOKEN_ID};
use keel_client::vault::{create_vault_ix, open_vault_accounts_ix, vault_pda, VenueKeys};
use keel_client::venue::*;
use keel_client::{bits, presets};
use keel_venue::state::{MarketConfig, MarketKind};
use solana_sdk::{pubkey::Pubkey, rent::Rent, signature::Keypair, signer::Signer};
pub use spec::Spec;
use spec::{Kind, MarketSpec};
use std::collections::BTreeMap;

pub use keel_vault::ID as VAULT_PROGRAM_ID;
pub use keel_venue::ID as VENUE_PROGRAM_ID;

#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("spec: {0}")]
    Spec(String),
}

/// Keys the spec does not hold: signers and the oracle accounts of this cluster.
#[derive(Clone)]
pub struct Context<'a> {
    /// Signs surface posts (the venue's vol authority).
    pub vol_authority: &'a Keypair,
    pub guardian: Pubkey,
    pub strategist: Pubkey,
    /// The Pyth price account of each underlying index.
    pub oracles: BTreeMap<u16, Pubkey>,
    /// A fresh mint keypair when the spec asks for the mint to be created (embedded bank or a local validator).
    pub new_mint: Option<&'a Keypair>,
    /// The payer's collateral token account funding LP liquidity, and its LP share account (created if absent).
    pub lp_source: Option<Pubkey>,
    pub lp_shares: Option<Pubkey>,
}

/// One step's outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub what: String,
    pub address: Pubkey,
    pub created: bool,
}

/// What the spec deployed (created now or found).
#[derive(Clone, Debug, Default)]
pub struct Deployed {
    pub mint: Pubkey,
    pub venue: Pubkey,
    pub underlyings: BTreeMap<u16, Pubkey>,
    pub markets: BTreeMap<u32, Pubkey>,
    pub vaults: BTreeMap<u16, Pubkey>,
    pub steps: Vec<Step>,
}

impl Deployed {
    pub fn created(&self) -> usize {
        self.steps.iter().filter(|s| s.created).count()
    }
}

async fn exists(chain: &mut impl Chain, key: &Pubkey) -> Result<bool, ChainError> {
    Ok(chain.account(key).await?.is_some())
}

/// A new token account of `mint` owned by `owner`, paid by the payer.
async fn token_account(chain: &mut impl Chain, mint: &Pubkey, owner: &Pubkey) -> Result<Pubkey, ChainError> {
    let account = Keypair::new();
    let rent = Rent::default().minimum_balance(ACCOUNT_LEN);
    let ixs = create_token_account_ixs(&chain.payer(), &account.pubkey(), mint, owner, &SPL_TOKEN_ID, rent);
    chain.send(&ixs, &[&account]).await?;
    Ok(account.pubkey())
}

fn market_config(m: &MarketSpec, spot: f64, expiry: i64) -> MarketConfig {
    let kind = match m.kind {
        Kind::Perp => MarketKind::Perp,
        Kind::Call => MarketKind::Call,
        Kind::Put => MarketKind::Put,
    };
    let option = m.kind != Kind::Perp;
    MarketConfig {
        kind,
        strike: if option { bits(spot * m.strike_ratio) } else { 0 },
        expiry: if option { expiry } else { 0 },
        taker_fee_bps: m.taker_fee_bps,
        half_spread_bps: m.half_spread_bps,
        max_open_interest: m.max_open_interest_lots * LOT as u64,
        max_funding_bps_per_day: if option { 0 } else { m.max_funding_bps_per_day },
    }
}

/// Applies `spec` to `chain`: creates what is missing, in order, and reports every step.
pub async fn apply(chain: &mut impl Chain, spec: &Spec, ctx: &Context<'_>) -> Result<Deployed, MigrationError> {
    // 0. Everything the spec needs from the caller is checked before the first transaction: a spec that cannot
    //    complete writes nothing.
    spec.validate().map_err(MigrationError::Spec)?;
    if let Some(u) = spec.underlyings.iter().find(|u| !ctx.oracles.contains_key(&u.index)) {
        return Err(MigrationError::Spec(format!("no oracle account given for underlying {}", u.index)));
    }
    if spec.collateral.mint.is_none() && ctx.new_mint.is_none() {
        return Err(MigrationError::Spec(
            "collateral.mint is not set and no mint keypair was given: name an existing mint on a cluster".into(),
        ));
    }
    let admin = chain.payer();
    let token_program = keel_client::token::SPL_TOKEN_ID;
    let mut out = Deployed::default();
    let step = |out: &mut Deployed, what: String, address: Pubkey, created: bool| {
        out.steps.push(Step { what, address, created });
    };
    // 1. Collateral mint: named in the spec, or created from the caller's keypair.
    let mint = match (&spec.collateral.mint, ctx.new_mint) {
        (Some(m), _) => m.parse::<Pubkey>().map_err(|e| MigrationError::Spec(format!("collateral.mint {m}: {e}")))?,
        (None, Some(kp)) => {
            let created = !exists(chain, &kp.pubkey()).await?;
            if created {
                let rent = Rent::default().minimum_balance(MINT_LEN);
                let ixs = create_mint_ixs(&admin, &kp.pubkey(), &admin, &token_program, spec.collateral.decimals, rent);
                chain.send(&ixs, &[kp]).await?;
            }
            step(&mut out, "collateral mint".into(), kp.pubkey(), created);
            kp.pubkey()
        }
        (None, None) => {
            return Err(MigrationError::Spec(
                "collateral.mint is not set and no mint keypair was given: name an existing mint on a cluster".into(),
            ))
        }
    };
    out.mint = mint;
    // 2. Venue with the reference margin parameters.
    let venue = venue_pda(&mint, spec.venue.index);
    let created = !exists(chain, &venue).await?;
    if created {
        let ix = create_venue_ix(
            &admin,
            &mint,
            &token_program,
            spec.venue.index,
            ctx.guardian,
            ctx.vol_authority.pubkey(),
            presets::margin_config(),
        );
        chain.send(&[ix], &[]).await?;
    }
    step(&mut out, format!("venue {}", spec.venue.index), venue, created);
    out.venue = venue;
    // 3. Underlyings on their oracles.
    for u in &spec.underlyings {
        let oracle = *ctx
            .oracles
            .get(&u.index)
            .ok_or_else(|| MigrationError::Spec(format!("no oracle account given for underlying {}", u.index)))?;
        let key = underlying_pda(&venue, u.index);
        let created = !exists(chain, &key).await?;
        if created {
            let config = presets::underlying_config(u.feed_id_bytes().map_err(MigrationError::Spec)?);
            chain.send(&[add_underlying_ix(&admin, &venue, u.index, &oracle, config)], &[]).await?;
        }
        step(&mut out, format!("underlying {} ({})", u.index, u.symbol), key, created);
        out.underlyings.insert(u.index, key);
    }
    // 4. Markets; an option market's surface is posted just before it (expiry fixed when first created).
    let now = chain.clock().await?.unix_timestamp;
    for m in &spec.markets {
        let key = market_pda(&venue, m.index);
        let underlying = out.underlyings[&m.underlying];
        let created = !exists(chain, &key).await?;
        if created {
            let u = spec.underlyings.iter().find(|u| u.index == m.underlying).expect("validated");
            let expiry = now + m.expiry_days * 86_400;
            let surface = if m.kind == Kind::Perp {
                None
            } else {
                let surface = surface_pda(&underlying, expiry);
                let svi = m.svi.unwrap_or(u.svi).map(bits);
                let post = post_surface_ix(&ctx.vol_authority.pubkey(), &venue, &underlying, expiry, svi);
                chain.send(&[post], &[ctx.vol_authority]).await?;
                Some(surface)
            };
            let config = market_config(m, u.reference_spot, expiry);
            chain.send(&[add_market_ix(&admin, &venue, &underlying, surface, m.index, config)], &[]).await?;
        }
        step(&mut out, format!("market {} ({:?})", m.index, m.kind), key, created);
        out.markets.insert(m.index, key);
    }
    // 5. LP liquidity: only into an empty pool (a re-run never deposits twice). The payer deposits from its own
    //    collateral account; when the payer is the mint authority (the embedded bank) the amount is minted first.
    if let Some(lp) = &spec.lp {
        let state: keel_venue::state::Venue = chain.read(&venue).await?;
        let created = state.pool_assets == 0;
        if created {
            let amount = spec.collateral.units(lp.amount);
            let source = match ctx.lp_source {
                Some(s) => s,
                None => token_account(chain, &mint, &admin).await?,
            };
            let shares = match ctx.lp_shares {
                Some(s) => s,
                None => token_account(chain, &lp_mint_pda(&venue), &admin).await?,
            };
            let mint_data = chain.account(&mint).await?.map(|a| a.data).unwrap_or_default();
            if keel_client::token::mint_authority(&mint_data) == Some(admin) {
                chain.send(&[mint_to_ix(&token_program, &mint, &source, &admin, amount)], &[]).await?;
            }
            let accounts =
                LpAccounts { owner: admin, venue, mint, owner_collateral: source, owner_lp: shares, token_program };
            let markets: Vec<Pubkey> = out.markets.values().copied().collect();
            chain.send(&[lp_ix_with(&accounts, LpAction::Deposit(amount), &markets)], &[]).await?;
        }
        step(&mut out, format!("LP liquidity {}", lp.amount), venue, created);
    }
    // 6. Vaults with the reference mandate over their allowed markets: the vault, then its accounts (two
    //    transactions; each step is skipped when its accounts exist, so an interrupted run resumes).
    for v in &spec.vaults {
        let key = vault_pda(&venue, v.index);
        let underlying = out.underlyings[&v.underlying];
        let vk = VenueKeys { venue, underlying, mint, token_program };
        let created = !exists(chain, &key).await?;
        if created {
            let config = presets::vault_config(&v.markets, admin);
            let ix = create_vault_ix(&admin, &vk, v.index, ctx.strategist, ctx.guardian, config);
            chain.send(&[ix], &[]).await?;
        }
        step(&mut out, format!("vault {}", v.index), key, created);
        let opened = !exists(chain, &margin_pda(&venue, &key)).await?;
        if opened {
            chain.send(&[open_vault_accounts_ix(&admin, &vk, v.index)], &[]).await?;
        }
        step(&mut out, format!("vault {} accounts", v.index), margin_pda(&venue, &key), opened);
        out.vaults.insert(v.index, key);
    }
    Ok(out)
}
