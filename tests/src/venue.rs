//! Fixture builder for keel-venue: PDAs, instruction builders and a ready venue with one underlying.
use crate::{anchor_ix, create_mint, now, send_with, set_pyth_price, PythPrice};
use anchor_lang::prelude::Pubkey;
use fixed::types::I80F48;
use keel_venue::state::{MarginConfig, OracleLimits, Underlying, UnderlyingConfig, Venue, VolSurface};
use solana_program_test::ProgramTestContext;
use solana_sdk::{instruction::Instruction, signature::Keypair, signer::Signer};

pub const FEED: [u8; 32] = [7u8; 32];

pub fn venue_pda(mint: &Pubkey, id: u16) -> Pubkey {
    Pubkey::find_program_address(&[Venue::SEED, mint.as_ref(), &id.to_le_bytes()], &keel_venue::ID).0
}
pub fn vault_pda(venue: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Venue::VAULT_SEED, venue.as_ref()], &keel_venue::ID).0
}
pub fn lp_mint_pda(venue: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[Venue::LP_MINT_SEED, venue.as_ref()], &keel_venue::ID).0
}
pub fn underlying_pda(venue: &Pubkey, index: u16) -> Pubkey {
    Pubkey::find_program_address(&[Underlying::SEED, venue.as_ref(), &index.to_le_bytes()], &keel_venue::ID).0
}
pub fn surface_pda(underlying: &Pubkey, expiry: i64) -> Pubkey {
    Pubkey::find_program_address(&[VolSurface::SEED, underlying.as_ref(), &expiry.to_le_bytes()], &keel_venue::ID).0
}

pub fn bits(x: f64) -> i128 {
    I80F48::from_num(x).to_bits()
}

pub fn default_underlying_params() -> UnderlyingConfig {
    UnderlyingConfig {
        feed_id: FEED,
        limits: OracleLimits { max_age_secs: 60, max_conf_bps: 100, max_ema_dev_bps: 500, reduce_only_grace_secs: 600 },
        conf_multiplier: bits(1.0),
        spot_range: bits(0.15),
        vol_range: bits(0.25),
        surface_max_age_secs: 3600,
        cache_max_age_secs: 60,
        cache_max_move_bps: 50,
        settlement_window_secs: 3600,
    }
}

/// IM = 1 x worst scenario loss + 10% of spot per short option; MM = half of IM; liquidation pays 50 bps of the
/// closed notional and closes at most a quarter of a position per call.
pub fn default_margin_config() -> MarginConfig {
    MarginConfig {
        im_multiplier: bits(1.0),
        mm_fraction: bits(0.5),
        short_option_min: bits(0.1),
        liquidation_fee_bps: 50,
        liquidation_max_close_bps: 2500,
    }
}

pub fn create_venue_ix(
    admin: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    id: u16,
    guardian: Pubkey,
    vol_authority: Pubkey,
) -> Instruction {
    let venue = venue_pda(mint, id);
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::CreateVenue {
            admin: *admin,
            collateral_mint: *mint,
            venue,
            collateral_vault: vault_pda(&venue),
            lp_mint: lp_mint_pda(&venue),
            token_program: *token_program,
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::CreateVenue { id, guardian, vol_authority, margin: default_margin_config() },
    )
}

pub fn add_underlying_ix(
    admin: &Pubkey,
    venue: &Pubkey,
    index: u16,
    price_update: &Pubkey,
    params: UnderlyingConfig,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::AddUnderlying {
            admin: *admin,
            venue: *venue,
            underlying: underlying_pda(venue, index),
            price_update: *price_update,
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::AddUnderlying { params },
    )
}

pub fn post_surface_ix(
    vol_authority: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    expiry: i64,
    params: [i128; 5],
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::PostSurface {
            vol_authority: *vol_authority,
            venue: *venue,
            underlying: *underlying,
            surface: surface_pda(underlying, expiry),
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::PostSurface { expiry, params },
    )
}

pub fn set_paused_ix(guardian: &Pubkey, venue: &Pubkey, paused: u32) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::SetPaused { guardian: *guardian, venue: *venue },
        keel_venue::instruction::SetPaused { paused },
    )
}

/// A venue on a fresh 6-decimal mint with separate guardian and vol-authority keys.
#[derive(Debug)]
pub struct VenueFixture {
    pub mint: Pubkey,
    pub venue: Pubkey,
    pub guardian: Keypair,
    pub vol_authority: Keypair,
    pub oracle: Pubkey,
}

impl VenueFixture {
    /// Creates the mint and the venue (admin = context payer) and a valid oracle account for [`FEED`].
    pub async fn new(ctx: &mut ProgramTestContext, token_program: Pubkey) -> Self {
        let mint = create_mint(ctx, token_program, 6).await;
        let (guardian, vol_authority) = (Keypair::new(), Keypair::new());
        let admin = ctx.payer.pubkey();
        let ix = create_venue_ix(&admin, &mint, &token_program, 0, guardian.pubkey(), vol_authority.pubkey());
        send_with(ctx, &[ix], &[]).await.expect("create venue");
        let oracle = Pubkey::new_unique();
        let t = now(ctx).await;
        set_pyth_price(ctx, oracle, PythPrice::new(FEED, 150.0, t));
        Self { mint, venue: venue_pda(&mint, 0), guardian, vol_authority, oracle }
    }

    /// Adds underlying #0 with the default parameters.
    pub async fn with_underlying(self, ctx: &mut ProgramTestContext) -> Self {
        let admin = ctx.payer.pubkey();
        let ix = add_underlying_ix(&admin, &self.venue, 0, &self.oracle, default_underlying_params());
        send_with(ctx, &[ix], &[]).await.expect("add underlying");
        self
    }

    pub fn underlying(&self) -> Pubkey {
        underlying_pda(&self.venue, 0)
    }
}

pub fn market_pda(venue: &Pubkey, index: u32) -> Pubkey {
    Pubkey::find_program_address(
        &[keel_venue::state::Market::SEED, venue.as_ref(), &index.to_le_bytes()],
        &keel_venue::ID,
    )
    .0
}

pub fn add_market_ix(
    admin: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    surface: Option<Pubkey>,
    index: u32,
    config: keel_venue::state::MarketConfig,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::AddMarket {
            admin: *admin,
            venue: *venue,
            underlying: *underlying,
            surface,
            market: market_pda(venue, index),
            system_program: anchor_lang::system_program::ID,
        },
        keel_venue::instruction::AddMarket { config },
    )
}

pub fn refresh_market_ix(
    refresher: &Pubkey,
    venue: &Pubkey,
    underlying: &Pubkey,
    market: &Pubkey,
    price_update: &Pubkey,
    surface: Option<Pubkey>,
) -> Instruction {
    anchor_ix(
        keel_venue::ID,
        keel_venue::accounts::RefreshMarket {
            refresher: *refresher,
            venue: *venue,
            underlying: *underlying,
            market: *market,
            price_update: *price_update,
            surface,
        },
        keel_venue::instruction::RefreshMarket {},
    )
}

/// An LP's accounts for deposit_lp / withdraw_lp (which share one account list).
pub struct LpAccounts {
    pub owner: Pubkey,
    pub venue: Pubkey,
    pub mint: Pubkey,
    pub owner_collateral: Pubkey,
    pub owner_lp: Pubkey,
    pub token_program: Pubkey,
}

/// What an LP instruction does.
#[derive(Clone, Copy, Debug)]
pub enum LpAction {
    Deposit(u64),
    Withdraw(u64),
}

/// An LP instruction; `markets` are every market of the venue in index order (the pool NAV needs them).
pub fn lp_ix_with(a: &LpAccounts, action: LpAction, markets: &[Pubkey]) -> Instruction {
    let mut ix = lp_ix(a, action);
    ix.accounts.extend(markets.iter().map(|m| solana_sdk::instruction::AccountMeta::new_readonly(*m, false)));
    ix
}

pub fn lp_ix(a: &LpAccounts, action: LpAction) -> Instruction {
    let accounts = keel_venue::accounts::LpFlowAccounts {
        owner: a.owner,
        venue: a.venue,
        collateral_mint: a.mint,
        collateral_vault: vault_pda(&a.venue),
        lp_mint: lp_mint_pda(&a.venue),
        owner_collateral: a.owner_collateral,
        owner_lp: a.owner_lp,
        token_program: a.token_program,
    };
    match action {
        LpAction::Deposit(amount) => anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::DepositLp { amount }),
        LpAction::Withdraw(shares) => {
            anchor_ix(keel_venue::ID, accounts, keel_venue::instruction::WithdrawLp { shares })
        }
    }
}

impl Clone for VenueFixture {
    /// Test keys are cloned so several fixtures (e.g. vaults) can share one venue.
    fn clone(&self) -> Self {
        Self {
            mint: self.mint,
            venue: self.venue,
            guardian: self.guardian.insecure_clone(),
            vol_authority: self.vol_authority.insecure_clone(),
            oracle: self.oracle,
        }
    }
}
