//! keel-venue administration on the real runtime: venue creation on SPL Token and Token-2022 collateral,
//! underlyings with Pyth PriceUpdateV2 oracles, SVI surfaces, guardian pauses — and every error these define.
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use keel_venue::state::{op, Underlying, Venue, VolSurface};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

fn code(e: VenueError) -> u32 {
    u32::from(e)
}

#[tokio::test]
async fn creates_venues_on_token_and_token_2022() {
    let mut ctx = program_test().start_with_context().await;
    for token_program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
        let f = VenueFixture::new(&mut ctx, token_program).await;
        let v: Venue = account(&mut ctx, f.venue).await;
        assert_eq!(
            (v.admin, v.guardian, v.vol_authority),
            (ctx.payer.pubkey(), f.guardian.pubkey(), f.vol_authority.pubkey())
        );
        assert_eq!((v.collateral_mint, v.collateral_decimals, v.token_program), (f.mint, 6, token_program));
        assert_eq!((v.paused, v.num_underlyings, v.num_markets), (0, 0, 0));
        // The vault is a real token account of the right program, mint and authority (the venue PDA).
        let vault = ctx.banks_client.get_account(v.collateral_vault).await.unwrap().unwrap();
        assert_eq!(vault.owner, token_program);
        assert_eq!(&vault.data[0..32], f.mint.as_ref());
        assert_eq!(&vault.data[32..64], f.venue.as_ref());
    }
}

#[tokio::test]
async fn adds_an_underlying_with_a_live_oracle() {
    let mut ctx = program_test().start_with_context().await;
    let f = VenueFixture::new(&mut ctx, anchor_spl::token::ID).await.with_underlying(&mut ctx).await;
    let u: Underlying = account(&mut ctx, f.underlying()).await;
    assert_eq!((u.venue, u.index), (f.venue, 0));
    assert_eq!(u.config, default_underlying_params());
    let v: Venue = account(&mut ctx, f.venue).await;
    assert_eq!(v.num_underlyings, 1);
}

#[tokio::test]
async fn add_underlying_errors() {
    let mut ctx = program_test().start_with_context().await;
    let f = VenueFixture::new(&mut ctx, anchor_spl::token::ID).await;
    let admin = ctx.payer.pubkey();
    let t = now(&mut ctx).await;
    let good = default_underlying_params();

    // Not the admin.
    let intruder = Keypair::new();
    let ix = add_underlying_ix(&intruder.pubkey(), &f.venue, 0, &f.oracle, good);
    // The intruder pays its own rent: fund it so the failure is the authority check, not lamports.
    let fund = solana_system_interface::instruction::transfer(&admin, &intruder.pubkey(), 1_000_000_000);
    send(&mut ctx, &[fund]).await.unwrap();
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&intruder]).await), code(VenueError::UnauthorizedAdmin));

    // Bad parameters.
    let mut p = good;
    p.limits.max_age_secs = 0;
    let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &f.oracle, p)]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidOracleLimits));
    let mut p = good;
    p.surface_max_age_secs = 0;
    let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &f.oracle, p)]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidOracleLimits));
    let mut p = good;
    p.spot_range = pod(1.5);
    let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &f.oracle, p)]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidRiskGrid));
    let mut p = good;
    p.conf_multiplier = pod(-1.0);
    let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &f.oracle, p)]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidRiskGrid));

    // Oracle faults, each on its own account.
    let cases: [(PythPrice, VenueError); 7] = [
        (PythPrice { feed_id: [9u8; 32], ..PythPrice::new(FEED, 150.0, t) }, VenueError::WrongOracleFeed),
        (PythPrice { fully_verified: false, ..PythPrice::new(FEED, 150.0, t) }, VenueError::OracleNotFullyVerified),
        (PythPrice::new(FEED, 150.0, t - 61), VenueError::OracleStale),
        (PythPrice { conf: 200_000_000, ..PythPrice::new(FEED, 150.0, t) }, VenueError::OracleTooUncertain),
        (PythPrice { ema_price: 100 * 100_000_000, ..PythPrice::new(FEED, 150.0, t) }, VenueError::OracleTooVolatile),
        (PythPrice { price: 0, conf: 0, ..PythPrice::new(FEED, 150.0, t) }, VenueError::OracleNonPositive),
        (PythPrice { exponent: 30, ..PythPrice::new(FEED, 150.0, t) }, VenueError::MathOverflow),
    ];
    for (price, want) in cases {
        let oracle = Pubkey::new_unique();
        set_pyth_price(&mut ctx, oracle, price);
        let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &oracle, good)]).await;
        assert_eq!(custom_error(r), code(want), "{want:?}");
    }

    // Account type confusion: a PriceUpdateV2-shaped account not owned by the Pyth receiver program.
    let fake = Pubkey::new_unique();
    set_pyth_price(&mut ctx, fake, PythPrice::new(FEED, 150.0, t));
    let mut acc = ctx.banks_client.get_account(fake).await.unwrap().unwrap();
    acc.owner = Pubkey::new_unique();
    ctx.set_account(&fake, &acc.into());
    let r = send(&mut ctx, &[add_underlying_ix(&admin, &f.venue, 0, &fake, good)]).await;
    assert_eq!(custom_error(r), u32::from(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram));

    // Nothing was written by any failure.
    let v: Venue = account(&mut ctx, f.venue).await;
    assert_eq!(v.num_underlyings, 0);
    assert!(ctx.banks_client.get_account(underlying_pda(&f.venue, 0)).await.unwrap().is_none());
}

/// A well-behaved slice: 20% at-the-money vol, mild skew (T is irrelevant to the constraints).
fn good_svi() -> [i128; 5] {
    [bits(0.04), bits(0.1), bits(-0.4), bits(0.1), bits(0.2)]
}

#[tokio::test]
async fn posts_and_replaces_surfaces() {
    let mut ctx = program_test().start_with_context().await;
    let f = VenueFixture::new(&mut ctx, anchor_spl::token::ID).await.with_underlying(&mut ctx).await;
    let expiry = now(&mut ctx).await + 7 * 86_400;
    let va = f.vol_authority.pubkey();
    let fund = solana_system_interface::instruction::transfer(&ctx.payer.pubkey(), &va, 1_000_000_000);
    send(&mut ctx, &[fund]).await.unwrap();
    send_with(&mut ctx, &[post_surface_ix(&va, &f.venue, &f.underlying(), expiry, good_svi())], &[&f.vol_authority])
        .await
        .unwrap();
    let s: VolSurface = account(&mut ctx, surface_pda(&f.underlying(), expiry)).await;
    assert_eq!((s.underlying, s.expiry, s.params), (f.underlying(), expiry, good_svi()));
    // Re-posting replaces the slice.
    let mut next = good_svi();
    next[0] = bits(0.05);
    send_with(&mut ctx, &[post_surface_ix(&va, &f.venue, &f.underlying(), expiry, next)], &[&f.vol_authority])
        .await
        .unwrap();
    let s: VolSurface = account(&mut ctx, surface_pda(&f.underlying(), expiry)).await;
    assert_eq!(s.params, next);
}

#[tokio::test]
async fn surface_and_pause_errors() {
    let mut ctx = program_test().start_with_context().await;
    let f = VenueFixture::new(&mut ctx, anchor_spl::token::ID).await.with_underlying(&mut ctx).await;
    let t = now(&mut ctx).await;
    let expiry = t + 7 * 86_400;
    let (va, u) = (f.vol_authority.pubkey(), f.underlying());
    for k in [va, f.guardian.pubkey()] {
        let fund = solana_system_interface::instruction::transfer(&ctx.payer.pubkey(), &k, 1_000_000_000);
        send(&mut ctx, &[fund]).await.unwrap();
    }
    let post = |params: [i128; 5], exp: i64| post_surface_ix(&va, &f.venue, &u, exp, params);

    // Only the vol authority posts (the admin is not enough).
    let admin = ctx.payer.pubkey();
    let r = send(&mut ctx, &[post_surface_ix(&admin, &f.venue, &u, expiry, good_svi())]).await;
    assert_eq!(custom_error(r), code(VenueError::UnauthorizedVolAuthority));
    // Invalid parameters: |rho| >= 1.
    let mut bad = good_svi();
    bad[2] = bits(1.0);
    let r = send_with(&mut ctx, &[post(bad, expiry)], &[&f.vol_authority]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidSurface));
    // Valid parameters with butterfly arbitrage (wings steeper than Lee's bound).
    let arb = [bits(0.001), bits(2.5), bits(0.0), bits(0.0), bits(0.01)];
    let r = send_with(&mut ctx, &[post(arb, expiry)], &[&f.vol_authority]).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceArbitrage));
    // Expiry not in the future.
    let r = send_with(&mut ctx, &[post(good_svi(), t)], &[&f.vol_authority]).await;
    assert_eq!(custom_error(r), code(VenueError::SurfaceExpired));

    // Guardian pause: only the guardian, only known bits; a paused operation is refused, resumed it works.
    let r = send(&mut ctx, &[set_paused_ix(&admin, &f.venue, op::POST_SURFACE)]).await;
    assert_eq!(custom_error(r), code(VenueError::UnauthorizedGuardian));
    let g = f.guardian.pubkey();
    let r = send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, 1 << 20)], &[&f.guardian]).await;
    assert_eq!(custom_error(r), code(VenueError::InvalidPauseFlags));
    send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, op::POST_SURFACE)], &[&f.guardian]).await.unwrap();
    let r = send_with(&mut ctx, &[post(good_svi(), expiry)], &[&f.vol_authority]).await;
    assert_eq!(custom_error(r), code(VenueError::OperationPaused));
    send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, 0)], &[&f.guardian]).await.unwrap();
    send_with(&mut ctx, &[post(good_svi(), expiry)], &[&f.vol_authority]).await.unwrap();
    assert!(ctx.banks_client.get_account(surface_pda(&u, expiry)).await.unwrap().is_some());
}
