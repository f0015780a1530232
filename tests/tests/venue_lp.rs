//! keel-venue LP pool on the real runtime, for SPL Token and Token-2022 collateral: deposits and withdrawals
//! reconcile to the token unit, rounding favours the pool, donations cannot move the share price, errors.
use keel_math::ShareMath;
use keel_tests::venue::*;
use keel_tests::*;
use keel_venue::error::VenueError;
use keel_venue::state::{op, Venue};
use solana_program_test::ProgramTestContext;
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

/// An LP with 1,000 collateral tokens (6 decimals) and an empty LP share account.
struct Lp {
    key: Keypair,
    collateral: Pubkey,
    shares: Pubkey,
}

async fn lp(ctx: &mut ProgramTestContext, f: &VenueFixture, program: Pubkey) -> Lp {
    let key = Keypair::new();
    fund(ctx, key.pubkey(), 100_000_000).await;
    let collateral = create_token_account(ctx, program, f.mint, key.pubkey()).await;
    mint_to(ctx, program, f.mint, collateral, 1_000_000_000).await;
    let shares = create_token_account(ctx, program, lp_mint_pda(&f.venue), key.pubkey()).await;
    Lp { key, collateral, shares }
}

fn accounts(f: &VenueFixture, p: &Lp, program: Pubkey) -> LpAccounts {
    LpAccounts {
        owner: p.key.pubkey(),
        venue: f.venue,
        mint: f.mint,
        owner_collateral: p.collateral,
        owner_lp: p.shares,
        token_program: program,
    }
}

async fn deposit(
    ctx: &mut ProgramTestContext,
    f: &VenueFixture,
    p: &Lp,
    program: Pubkey,
    amount: u64,
) -> Result<(), solana_sdk::transport::TransportError> {
    send_with(ctx, &[lp_ix(&accounts(f, p, program), LpAction::Deposit(amount))], &[&p.key]).await
}

async fn withdraw(
    ctx: &mut ProgramTestContext,
    f: &VenueFixture,
    p: &Lp,
    program: Pubkey,
    shares: u64,
) -> Result<(), solana_sdk::transport::TransportError> {
    send_with(ctx, &[lp_ix(&accounts(f, p, program), LpAction::Withdraw(shares))], &[&p.key]).await
}

#[tokio::test]
async fn lp_round_trips_reconcile_on_both_token_programs() {
    let mut ctx = program_test().start_with_context().await;
    for program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
        let f = VenueFixture::new(&mut ctx, program).await;
        let (a, b) = (lp(&mut ctx, &f, program).await, lp(&mut ctx, &f, program).await);
        let m = ShareMath::DEFAULT;

        deposit(&mut ctx, &f, &a, program, 250_000_000).await.unwrap();
        assert_eq!(token_balance(&mut ctx, a.shares).await, m.amount_to_shares_floor(250_000_000, 0, 0).unwrap());
        let v = account::<Venue>(&mut ctx, f.venue).await;
        let expect_b = m.amount_to_shares_floor(333_333_333, v.pool_assets, v.lp_shares).unwrap();
        deposit(&mut ctx, &f, &b, program, 333_333_333).await.unwrap();
        assert_eq!(token_balance(&mut ctx, b.shares).await, expect_b);

        // Tokens sent straight into the vault (a donation) are not LP capital: pool assets and the share price
        // are unchanged.
        mint_to(&mut ctx, program, f.mint, collateral_vault_pda(&f.venue), 77_000_000).await;
        let v = account::<Venue>(&mut ctx, f.venue).await;
        assert_eq!(v.pool_assets, 583_333_333);
        assert_eq!(token_balance(&mut ctx, collateral_vault_pda(&f.venue)).await, 583_333_333 + 77_000_000);

        // Partial then full withdrawal of A at the floor price.
        let half = token_balance(&mut ctx, a.shares).await / 2;
        let v = account::<Venue>(&mut ctx, f.venue).await;
        let paid = m.shares_to_amount_floor(half, v.pool_assets, v.lp_shares).unwrap();
        let before = token_balance(&mut ctx, a.collateral).await;
        withdraw(&mut ctx, &f, &a, program, half).await.unwrap();
        assert_eq!(token_balance(&mut ctx, a.collateral).await, before + paid);
        let rest = token_balance(&mut ctx, a.shares).await;
        withdraw(&mut ctx, &f, &a, program, rest).await.unwrap();
        let rest_b = token_balance(&mut ctx, b.shares).await;
        withdraw(&mut ctx, &f, &b, program, rest_b).await.unwrap();

        // Everyone out: nobody gained, the pool kept only rounding dust, and tokens reconcile exactly.
        let (out_a, out_b) = (token_balance(&mut ctx, a.collateral).await, token_balance(&mut ctx, b.collateral).await);
        assert!(out_a <= 1_000_000_000 && out_b <= 1_000_000_000);
        let v = account::<Venue>(&mut ctx, f.venue).await;
        assert_eq!(v.lp_shares, 0);
        let dust = (1_000_000_000 - out_a) + (1_000_000_000 - out_b);
        assert_eq!(v.pool_assets, dust);
        assert!(dust <= 3, "rounding dust {dust}");
        assert_eq!(token_balance(&mut ctx, collateral_vault_pda(&f.venue)).await, v.pool_assets + 77_000_000);
    }
}

#[tokio::test]
async fn lp_errors() {
    let mut ctx = program_test().start_with_context().await;
    let program = anchor_spl::token::ID;
    let f = VenueFixture::new(&mut ctx, program).await;
    let a = lp(&mut ctx, &f, program).await;
    let code = |e: VenueError| u32::from(e);

    assert_eq!(custom_error(deposit(&mut ctx, &f, &a, program, 0).await), code(VenueError::InvalidAmount));
    deposit(&mut ctx, &f, &a, program, 1_000_000).await.unwrap();
    assert_eq!(custom_error(withdraw(&mut ctx, &f, &a, program, 0).await), code(VenueError::InvalidAmount));
    let held = token_balance(&mut ctx, a.shares).await;
    assert_eq!(custom_error(withdraw(&mut ctx, &f, &a, program, held + 1).await), code(VenueError::InsufficientShares));
    // 999 shares are worth less than one collateral unit at the launch price (1 unit = 1000 shares).
    assert_eq!(custom_error(withdraw(&mut ctx, &f, &a, program, 999).await), code(VenueError::RoundsToZero));

    // Guardian pauses deposits and withdrawals separately.
    fund(&mut ctx, f.guardian.pubkey(), 10_000_000).await;
    let g = f.guardian.pubkey();
    send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, op::DEPOSIT)], &[&f.guardian]).await.unwrap();
    assert_eq!(custom_error(deposit(&mut ctx, &f, &a, program, 10).await), code(VenueError::OperationPaused));
    withdraw(&mut ctx, &f, &a, program, 1000).await.unwrap();
    send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, op::WITHDRAW)], &[&f.guardian]).await.unwrap();
    assert_eq!(custom_error(withdraw(&mut ctx, &f, &a, program, 1000).await), code(VenueError::OperationPaused));
    send_with(&mut ctx, &[set_paused_ix(&g, &f.venue, 0)], &[&f.guardian]).await.unwrap();

    // Substituted accounts: a collateral account of another mint, and someone else's account as source.
    let other_mint = create_mint(&mut ctx, program, 6).await;
    let wrong = create_token_account(&mut ctx, program, other_mint, a.key.pubkey()).await;
    let ix = lp_ix(&LpAccounts { owner_collateral: wrong, ..accounts(&f, &a, program) }, LpAction::Deposit(10));
    let r = send_with(&mut ctx, &[ix], &[&a.key]).await;
    assert_eq!(custom_error(r), u32::from(anchor_lang::error::ErrorCode::ConstraintTokenMint));
    let b = lp(&mut ctx, &f, program).await;
    let ix = lp_ix(&LpAccounts { owner_collateral: b.collateral, ..accounts(&f, &a, program) }, LpAction::Deposit(10));
    let r = send_with(&mut ctx, &[ix], &[&a.key]).await;
    assert_eq!(custom_error(r), u32::from(anchor_lang::error::ErrorCode::ConstraintTokenOwner));
}
