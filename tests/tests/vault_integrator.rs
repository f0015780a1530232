//! keel-vault's CPI surface from another program: the test-only integrator (tests/integrator) deposits, requests
//! and claims for its users through its own PDA, which owns the vault shares. Another user cannot drive someone
//! else's holder.
use keel_math::margin::Bound;
use keel_tests::trading::*;
use keel_tests::vault::*;
use keel_tests::*;
use keel_vault::state::Vault;
use solana_program_test::ProgramTestContext;
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

struct Holder {
    user: Keypair,
    pda: Pubkey,
    collateral: Pubkey,
    shares: Pubkey,
}

fn holder_pda(user: &Pubkey) -> Pubkey {
    Pubkey::find_program_address(&[b"holder", user.as_ref()], &keel_integrator::ID).0
}

async fn holder(ctx: &mut ProgramTestContext, v: &VaultFixture, tokens: u64) -> Holder {
    let user = Keypair::new();
    fund(ctx, user.pubkey(), 100_000_000).await;
    let pda = holder_pda(&user.pubkey());
    fund(ctx, pda, 100_000_000).await; // pays the withdrawal request's rent
    let collateral = create_token_account(ctx, v.t.token_program, v.t.f.mint, pda).await;
    mint_to(ctx, v.t.token_program, v.t.f.mint, collateral, tokens).await;
    let shares = create_token_account(ctx, v.t.token_program, shares_pda(&v.vault), pda).await;
    Holder { user, pda, collateral, shares }
}

enum Call {
    Deposit(u64),
    Request(u64),
    Claim,
}

fn integrator_ix(v: &VaultFixture, signer: &Pubkey, h: &Holder, call: Call) -> Instruction {
    let l = link(v);
    let accounts = keel_integrator::accounts::Passthrough {
        user: *signer,
        holder: h.pda,
        vault_program: keel_vault::ID,
        vault: v.vault,
        venue_program: l.venue_program,
        venue: l.venue,
        margin_account: l.margin_account,
        underlying: l.underlying,
        price_update: l.price_update,
        collateral_mint: v.t.f.mint,
        idle: idle_pda(&v.vault),
        share_mint: shares_pda(&v.vault),
        escrow: escrow_pda(&v.vault),
        holder_collateral: h.collateral,
        holder_shares: h.shares,
        request: withdrawal_pda(&v.vault, &h.pda),
        token_program: v.t.token_program,
        system_program: anchor_lang::system_program::ID,
    };
    match call {
        Call::Deposit(amount) => {
            anchor_ix(keel_integrator::ID, accounts, keel_integrator::instruction::Deposit { amount })
        }
        Call::Request(shares) => {
            anchor_ix(keel_integrator::ID, accounts, keel_integrator::instruction::Request { shares })
        }
        Call::Claim => anchor_ix(keel_integrator::ID, accounts, keel_integrator::instruction::Claim {}),
    }
}

#[tokio::test]
async fn another_program_deposits_requests_and_claims_by_cpi() {
    let mut ctx = program_test().start_with_context().await;
    let t = TradingFixture::new(&mut ctx, anchor_spl::token::ID, 100.0, 1_000_000 * USDC).await;
    let v = VaultFixture::new(&mut ctx, t).await;
    let h = holder(&mut ctx, &v, 1_000 * USDC).await;
    let user = h.user.pubkey();

    send_with(&mut ctx, &[integrator_ix(&v, &user, &h, Call::Deposit(1_000 * USDC))], &[&h.user]).await.unwrap();
    let shares = token_balance(&mut ctx, h.shares).await;
    assert_eq!(shares, Vault::SHARE_MATH.amount_to_shares_floor(1_000 * USDC, 0, 0).unwrap());

    // Someone else cannot move this user's holder.
    let thief = Keypair::new();
    fund(&mut ctx, thief.pubkey(), 10_000_000).await;
    let r = send_with(&mut ctx, &[integrator_ix(&v, &thief.pubkey(), &h, Call::Request(shares))], &[&thief]).await;
    assert_eq!(custom_error(r), u32::from(anchor_lang::error::ErrorCode::ConstraintSeeds));

    send_with(&mut ctx, &[integrator_ix(&v, &user, &h, Call::Request(shares))], &[&h.user]).await.unwrap();
    let t0 = now(&mut ctx).await;
    set_time(&mut ctx, t0 + 86_400).await;
    let pre = v.accrued(&mut ctx, t0 + 86_400).await;
    let nav = v.nav(&mut ctx, Bound::Lower).await;
    let req: keel_vault::state::WithdrawalRequest = account(&mut ctx, withdrawal_pda(&v.vault, &h.pda)).await;
    let value_now = Vault::SHARE_MATH.shares_to_amount_floor(shares, nav, pre.total_shares).unwrap();
    send_with(&mut ctx, &[integrator_ix(&v, &user, &h, Call::Claim)], &[&h.user]).await.unwrap();
    assert_eq!(token_balance(&mut ctx, h.collateral).await, req.value_at_request.min(value_now));
    assert!(ctx.banks_client.get_account(withdrawal_pda(&v.vault, &h.pda)).await.unwrap().is_none(), "request closed");
}
