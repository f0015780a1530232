//! keel-venue markets and the greek/risk cache on the real runtime. The cache must equal keel-math's
//! `instrument_risk` bit for bit, since the keeper predicts on-chain checks with that same function.
use fixed::types::I80F48;
use keel_math::bs::{years_from_seconds, OptionKind};
use keel_math::instrument::{instrument_risk, Instrument};
use keel_tests::trading::{option_config, perp_config, svi_params};
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use keel_venue::state::{op, Market, MarketConfig, MarketKind, PodI128, VolSurface};
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signer::Signer};

fn code(e: VenueError) -> u32 {
    u32::from(e)
}

fn svi() -> [i128; 5] {
    svi_params()
}

fn perp() -> MarketConfig {
    perp_config()
}

fn call(strike: f64, expiry: i64) -> MarketConfig {
    option_config(MarketKind::Call, strike, expiry)
}

/// Venue + underlying (oracle at 150) + a 30-day surface + perp market #0 + call market #1 struck at 160.
struct Setup {
    f: VenueFixture,
    expiry: i64,
    surface: Pubkey,
}

async fn setup(ctx: &mut ProgramTestContext) -> Setup {
    let f = VenueFixture::new(ctx, anchor_spl::token::ID).await.with_underlying(ctx).await;
    let expiry = now(ctx).await + 30 * 86_400;
    let va = f.vol_authority.pubkey();
    let fund = solana_system_interface::instruction::transfer(&ctx.payer.pubkey(), &va, 1_000_000_000);
    send(ctx, &[fund]).await.unwrap();
    send_with(ctx, &[post_surface_ix(&va, &f.venue, &f.underlying(), expiry, svi())], &[&f.vol_authority])
        .await
        .unwrap();
    let surface = surface_pda(&f.underlying(), expiry);
    let admin = ctx.payer.pubkey();
    send(ctx, &[add_market_ix(&admin, &f.venue, &f.underlying(), None, 0, perp())]).await.unwrap();
    send(ctx, &[add_market_ix(&admin, &f.venue, &f.underlying(), Some(surface), 1, call(160.0, expiry))])
        .await
        .unwrap();
    Setup { f, expiry, surface }
}

async fn refresh(
    ctx: &mut ProgramTestContext,
    s: &Setup,
    market: u32,
    oracle: Pubkey,
    surface: Option<Pubkey>,
) -> Result<(), solana_sdk::transport::TransportError> {
    let me = ctx.payer.pubkey();
    let ix = refresh_market_ix(&me, &s.f.venue, &s.f.underlying(), &market_pda(&s.f.venue, market), &oracle, surface);
    send(ctx, &[ix]).await
}

#[tokio::test]
async fn cache_equals_keel_math_for_perp_and_option() {
    let mut ctx = program_test().start_with_context().await;
    let s = setup(&mut ctx).await;
    let t = now(&mut ctx).await;
    set_pyth_price(&mut ctx, s.f.oracle, PythPrice::new(FEED, 150.0, t));
    refresh(&mut ctx, &s, 0, s.f.oracle, None).await.unwrap();
    refresh(&mut ctx, &s, 1, s.f.oracle, Some(s.surface)).await.unwrap();

    let (spot, sr, vr) = (I80F48::from_num(150), I80F48::from_bits(bits(0.15)), I80F48::from_bits(bits(0.25)));
    let perp_m: Market = account(&mut ctx, market_pda(&s.f.venue, 0)).await;
    let want = instrument_risk(&Instrument::Perp, spot, sr, vr).unwrap();
    assert_eq!(perp_m.cache.mark.get(), want.greeks.price.to_bits());
    assert_eq!(perp_m.cache.risk_array.map(|x| x.get()), want.risk_array.map(|x| x.to_bits()));
    assert!(perp_m.cache.oracle_was_valid());

    let call_m: Market = account(&mut ctx, market_pda(&s.f.venue, 1)).await;
    let surface: VolSurface = account(&mut ctx, s.surface).await;
    let tau = years_from_seconds(s.expiry - call_m.cache.ts).unwrap();
    let inst = Instrument::Option { kind: OptionKind::Call, strike: I80F48::from_num(160), t: tau, svi: surface.svi() };
    let want = instrument_risk(&inst, spot, sr, vr).unwrap();
    let c = call_m.cache;
    assert_eq!(
        (c.mark, c.delta, c.gamma, c.vega, c.theta),
        (
            want.greeks.price.into(),
            want.greeks.delta.into(),
            want.greeks.gamma.into(),
            want.greeks.vega.into(),
            want.greeks.theta.into(),
        )
    );
    assert_eq!((c.risk_array, c.vol, c.spot), (want.risk_array.map(PodI128::from), want.vol.into(), spot.into()));
    // Sanity on the economics: an OTM 30-day call is worth something, less than spot, delta in (0, 0.5).
    let mark = c.mark.fx();
    assert!(mark > I80F48::ZERO && mark < spot);
    assert!(c.delta.fx() > I80F48::ZERO && c.delta.fx() < I80F48::lit("0.5"));
}

#[tokio::test]
async fn add_market_errors() {
    let mut ctx = program_test().start_with_context().await;
    let s = setup(&mut ctx).await;
    let admin = ctx.payer.pubkey();
    let (v, u) = (s.f.venue, s.f.underlying());
    // Not the admin: the vol authority signs (it has lamports from setup).
    let va = s.f.vol_authority.pubkey();
    let r = send_with(&mut ctx, &[add_market_ix(&va, &v, &u, None, 2, perp())], &[&s.f.vol_authority]).await;
    assert_eq!(custom_error(r), code(VenueError::UnauthorizedAdmin));
    // Bad terms.
    for bad in [
        MarketConfig { strike: bits(1.0), ..perp() },
        MarketConfig { taker_fee_bps: 1001, ..perp() },
        MarketConfig { max_open_interest: 0, ..perp() },
        call(0.0, s.expiry),
        call(160.0, now(&mut ctx).await),
    ] {
        let r = send(&mut ctx, &[add_market_ix(&admin, &v, &u, Some(s.surface), 2, bad)]).await;
        assert_eq!(custom_error(r), code(VenueError::InvalidMarketParams), "{bad:?}");
    }
    // Options need their surface, and the right one.
    let r = send(&mut ctx, &[add_market_ix(&admin, &v, &u, None, 2, call(170.0, s.expiry))]).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceRequired));
    let r = send(&mut ctx, &[add_market_ix(&admin, &v, &u, Some(s.surface), 2, call(170.0, s.expiry + 86_400))]).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceMismatch));
}

#[tokio::test]
async fn refresh_errors_and_oracle_tolerance() {
    let mut ctx = program_test().start_with_context().await;
    let s = setup(&mut ctx).await;
    let t0 = now(&mut ctx).await;

    // The option needs its surface, and exactly its own: a valid surface of another expiry is refused.
    set_pyth_price(&mut ctx, s.f.oracle, PythPrice::new(FEED, 150.0, t0));
    let r = refresh(&mut ctx, &s, 1, s.f.oracle, None).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceRequired));
    let va = s.f.vol_authority.pubkey();
    let other_expiry = s.expiry + 86_400;
    let ix = post_surface_ix(&va, &s.f.venue, &s.f.underlying(), other_expiry, svi());
    send_with(&mut ctx, &[ix], &[&s.f.vol_authority]).await.unwrap();
    let other = surface_pda(&s.f.underlying(), other_expiry);
    let r = refresh(&mut ctx, &s, 1, s.f.oracle, Some(other)).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceMismatch));

    // Oracle older than the limit but inside the grace: refresh works and flags the price as not Valid.
    set_time(&mut ctx, t0 + 200).await;
    set_pyth_price(&mut ctx, s.f.oracle, PythPrice::new(FEED, 150.0, t0));
    refresh(&mut ctx, &s, 0, s.f.oracle, None).await.unwrap();
    let m: Market = account(&mut ctx, market_pda(&s.f.venue, 0)).await;
    assert!(!m.cache.oracle_was_valid());
    // Beyond the grace (60 s + 600 s): refused.
    set_time(&mut ctx, t0 + 700).await;
    assert_eq!(custom_error(refresh(&mut ctx, &s, 0, s.f.oracle, None).await), code(VenueError::OracleStale));

    // Surface older than its max age (3600 s) with a fresh oracle: refused with a message to repost.
    set_time(&mut ctx, t0 + 3_700).await;
    set_pyth_price(&mut ctx, s.f.oracle, PythPrice::new(FEED, 150.0, t0 + 3_700));
    let r = refresh(&mut ctx, &s, 1, s.f.oracle, Some(s.surface)).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceStale));

    // Guardian pause of refresh.
    let g = s.f.guardian.pubkey();
    let fund = solana_system_interface::instruction::transfer(&ctx.payer.pubkey(), &g, 1_000_000_000);
    send(&mut ctx, &[fund]).await.unwrap();
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, op::REFRESH)], &[&s.f.guardian]).await.unwrap();
    assert_eq!(custom_error(refresh(&mut ctx, &s, 0, s.f.oracle, None).await), code(VenueError::OperationPaused));
    send_with(&mut ctx, &[set_paused_ix(&g, &s.f.venue, 0)], &[&s.f.guardian]).await.unwrap();

    // After expiry the option can no longer be refreshed (only settled).
    set_time(&mut ctx, s.expiry + 1).await;
    set_pyth_price(&mut ctx, s.f.oracle, PythPrice::new(FEED, 150.0, s.expiry + 1));
    let r = refresh(&mut ctx, &s, 1, s.f.oracle, Some(s.surface)).await;
    assert_eq!(custom_error(r), code(VenueError::MarketExpired));
    // The perp keeps refreshing.
    refresh(&mut ctx, &s, 0, s.f.oracle, None).await.unwrap();
}
