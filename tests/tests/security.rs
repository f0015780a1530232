//! Attacks that must fail (first part of the security suite): an oracle push cashed in by closing into it, fake
//! program ids, another vault's accounts, account type confusion, and sandwiching a rebalance.
use fixed::types::I80F48;
use keel_math::margin::Bound;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::venue::*;
use keel_tests::*;
use keel_vault::error::VaultError;
use keel_vault::state::Vault;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

#[tokio::test]
async fn a_pushed_oracle_print_cannot_be_cashed_in() {
    let mut ctx = program_test().start_with_context().await;
    let s = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let a = s.trader(&mut ctx, 10_000 * USDC).await;
    s.trade(&mut ctx, &a, PERP, 100 * LOT, 101.0).await.unwrap();
    let before = s.margin(&mut ctx, &a.pubkey()).await.collateral;
    // The attacker pushes a +30% print on a thin feed; its EMA still sits at 100. The oracle is TooVolatile: new
    // risk is refused, but closing is allowed — at the worse of the marks at the print and at the EMA.
    let t = now(&mut ctx).await;
    let pushed = PythPrice::new(FEED, 130.0, t);
    s.set_oracle(&mut ctx, PythPrice { ema_price: PythPrice::new(FEED, 100.0, t).price, ..pushed });
    let refresh = s.refresh_ixs(&ctx.payer.pubkey(), t);
    send_batch(&mut ctx, &refresh, &[]).await.unwrap();
    let r = s.trade(&mut ctx, &a, PERP, 10 * LOT, 200.0).await;
    assert_eq!(custom_error(r), u32::from(keel_venue::error::VenueError::OracleTooVolatile));
    s.trade(&mut ctx, &a, PERP, -100 * LOT, 0.0).await.expect("closing is allowed");
    let after = s.margin(&mut ctx, &a.pubkey()).await.collateral;
    // At the pushed print the close would have realised ~ +2,990; at the EMA it realises only spreads and fees.
    assert!(after < before, "no profit from the push: {before} -> {after}");
    assert!(before - after < 50 * USDC as i64, "only spreads and fees: {}", before - after);
    s.assert_reconciles(&mut ctx, &[a.pubkey()]).await;
}

#[tokio::test]
async fn fake_programs_and_another_vaults_accounts_are_refused() {
    let mut ctx = program_test().start_with_context().await;
    let (v, d) = VaultFixture::funded(&mut ctx).await;
    // A second vault on the same venue.
    let fee = Keypair::new();
    let config = keel_vault::state::VaultConfig {
        fee_recipient: fee.pubkey(),
        ..default_vault_config(&FIXTURE_MARKETS, fee.pubkey())
    };
    let other = VaultFixture::with_config(&mut ctx, v.t.clone(), 1, config, fee).await;

    // Arbitrary CPI target: a fake venue program id in the link.
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    ix.accounts[2].pubkey = Pubkey::new_unique();
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(anchor_lang::error::ErrorCode::InvalidProgramId)
    );
    // Another token program than the vault's (a real one, so the interface check passes): the vault pins its own.
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    let tp = ix.accounts.len() - 1;
    ix.accounts[tp].pubkey = anchor_spl::token_2022::ID;
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(anchor_lang::error::ErrorCode::ConstraintAddress)
    );
    // The other vault's idle account (PDA substitution across vaults) and its venue margin account.
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    ix.accounts[8].pubkey = idle_pda(&other.vault);
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(anchor_lang::error::ErrorCode::ConstraintHasOne)
    );
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    ix.accounts[4].pubkey = margin_pda(&v.t.f.venue, &other.vault);
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(VaultError::VenueAccountMismatch)
    );
    // Type confusion: an Underlying where the Pyth price update belongs (owner check), a Market as the underlying.
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    ix.accounts[6].pubkey = v.t.f.underlying();
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram)
    );
    let mut ix = v.deposit_ix(&mut ctx, &d, USDC).await;
    ix.accounts[5].pubkey = market_pda(&v.t.f.venue, PERP);
    assert_eq!(
        custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await),
        u32::from(anchor_lang::error::ErrorCode::AccountDiscriminatorMismatch)
    );
}

/// The allowed-market mask names venue indices, so a market of another venue at an allowed index must not pass:
/// the vault checks the market's venue before its index, and nothing moves.
#[tokio::test]
async fn another_venues_market_at_an_allowed_index_is_refused() {
    let mut ctx = program_test().start_with_context().await;
    let (v, _d) = VaultFixture::funded(&mut ctx).await;
    let elsewhere = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let foreign = market_pda(&elsewhere.f.venue, PERP);
    let config = v.state(&mut ctx).await.config;
    assert!(config.allows(PERP), "index 0 is allowed, on the vault's own venue");
    let (before, margin_before) = (v.state(&mut ctx).await, v.t.margin(&mut ctx, &v.vault).await);
    let leg = keel_vault::instructions::Leg { market: foreign, size: LOT, limit_price: bits(1e6) };
    let r = v.allocate(&mut ctx, 1_000 * USDC, vec![leg], 0).await;
    assert_eq!(custom_error(r), u32::from(VaultError::MarketNotAllowed));
    assert_eq!(v.state(&mut ctx).await, before, "the vault is unchanged");
    assert_eq!(v.t.margin(&mut ctx, &v.vault).await, margin_before, "no margin moved, no position opened");
    let opened = ctx.banks_client.get_account(margin_pda(&elsewhere.f.venue, &v.vault)).await.expect("rpc");
    assert!(opened.is_none(), "nothing was opened on the other venue");
}

#[tokio::test]
async fn sandwiching_a_rebalance_does_not_pay() {
    let mut ctx = program_test().start_with_context().await;
    let (mut v, _) = VaultFixture::funded(&mut ctx).await;
    let call = v.t.market_state(&mut ctx, CALL).await;
    let hedge = (call.cache.delta.fx() * I80F48::from_num(100 * LOT)).round().to_num::<i64>();
    v.allocate(&mut ctx, 20_000 * USDC, vec![v.leg(CALL, -100 * LOT, 0.0), v.leg(PERP, hedge, 101.0)], 0)
        .await
        .unwrap();
    for px in [102.0, 104.0, 106.0, 108.0] {
        v.t.set_price(&mut ctx, px).await;
    }
    // The attacker deposits just before a keeper's NAV-moving rebalance and asks to withdraw just after.
    let attacker = v.depositor(&mut ctx, 20_000 * USDC).await;
    let ix = v.deposit_ix(&mut ctx, &attacker, 20_000 * USDC).await;
    send_with(&mut ctx, &[ix], &[&attacker.a.key]).await.unwrap();
    let keeper = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
    let (delta, _, _) = measure(&mut ctx, &v).await;
    let pricing = keel_vault::instructions::Pricing {
        expected_sequence: v.state(&mut ctx).await.sequence,
        priced_slot: slot(&mut ctx).await,
        priced_price: bits(108.0),
    };
    let legs = vec![v.leg(PERP, (-delta * 1e6).round() as i64, 109.0)];
    let ix = v.rebalance_ix(&mut ctx, &keeper.pubkey(), &keeper.collateral, pricing, legs, 0, false).await;
    send_with(&mut ctx, &[ix], &[&keeper.key]).await.expect("rebalance");
    let shares = token_balance(&mut ctx, attacker.shares).await;
    let ix = v.request_ix(&mut ctx, &attacker, shares).await;
    send_with(&mut ctx, &[ix], &[&attacker.a.key]).await.unwrap();
    let req: keel_vault::state::WithdrawalRequest =
        account(&mut ctx, withdrawal_pda(&v.vault, &attacker.a.pubkey())).await;
    // Deposits pay the upper NAV bound and requests get the lower one: the round trip cannot come out ahead.
    assert!(req.value_at_request < 20_000 * USDC, "value at request {}", req.value_at_request);
    let s: Vault = v.state(&mut ctx).await;
    let lower = v.nav(&mut ctx, Bound::Lower).await;
    assert!(Vault::SHARE_MATH.shares_to_amount_floor(shares, lower, s.total_shares).unwrap() < 20_000 * USDC);
}

#[tokio::test]
async fn duplicate_mutable_accounts_are_refused() {
    // Passing a program's own token account as the destination (a margin withdrawal or liquidation reward "to" the
    // venue's vault, a claim or keeper reward "to" the vault's idle account) would debit a claim without moving a
    // token. Anchor 1.x refuses any decoded account passed twice as mutable; the claim and the rebalance pass the
    // idle account undecoded and refuse it as the destination themselves, with the same error. These tests pin
    // every such slot.
    let mut ctx = program_test().start_with_context().await;
    let (v, d) = VaultFixture::funded(&mut ctx).await;
    let dup = u32::from(anchor_lang::error::ErrorCode::ConstraintDuplicateMutableAccount);
    let venue_vault = collateral_vault_pda(&v.t.f.venue);
    let a = v.t.trader(&mut ctx, 1_000 * USDC).await;
    let mut ix = v.t.flow_ix(&a, -(USDC as i64), &[]);
    ix.accounts[5].pubkey = venue_vault;
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&a.key]).await), dup);
    let liq = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
    let acct = margin_pda(&v.t.f.venue, &a.pubkey());
    let (mint, tp) = (v.t.f.mint, v.t.token_program);
    let ix = liquidate_ix(&liq.pubkey(), &v.t.market(PERP), &acct, &mint, &venue_vault, &tp, 1, &[]);
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&liq.key]).await), dup);
    let shares = token_balance(&mut ctx, d.shares).await;
    let ix = v.request_ix(&mut ctx, &d, shares / 2).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    let idle = idle_pda(&v.vault);
    let markets = v.position_markets(&mut ctx).await;
    let ix = v.keys().claim_ix(&d.a.pubkey(), &idle, &markets);
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await), dup);
    let keeper = actor(&mut ctx, v.t.f.mint, v.t.token_program, 0).await;
    let pricing = keel_vault::instructions::Pricing {
        expected_sequence: 0,
        priced_slot: slot(&mut ctx).await,
        priced_price: bits(100.0),
    };
    let ix = v.rebalance_ix(&mut ctx, &keeper.pubkey(), &idle, pricing, vec![], 0, false).await;
    assert_eq!(custom_error(send_with(&mut ctx, &[ix], &[&keeper.key]).await), dup);
}
