//! Attacks on account lifecycles and token plumbing that must fail: depositing a token of another mint (with other
//! decimals) into a vault, another vault's mints and token accounts in a withdrawal, re-initialising an existing
//! vault, using or re-opening a half-created vault, replaying a claim on a closed withdrawal request, and a
//! counterfeit market in an LP flow's market list.
use keel_client::vault::{escrow_pda, idle_pda, shares_pda, withdrawal_pda};
use keel_tests::trading::FIXTURE_MARKETS;
use keel_tests::vault::*;
use keel_tests::*;
use solana_sdk::{instruction::Instruction, pubkey::Pubkey, signature::Keypair, signer::Signer};

const USDC: u64 = 1_000_000;

#[tokio::test]
async fn a_deposit_of_another_mint_with_other_decimals_is_refused() {
    let mut ctx = program_test().start_with_context().await;
    let (v, d) = VaultFixture::funded(&mut ctx).await;
    // The attacker holds a 9-decimal token: 1e9 base units is "1 token" there but would be 1,000 of the vault's
    // 6-decimal collateral if the program trusted amounts without the mint.
    let token = anchor_spl::token::ID;
    let other = create_mint(&mut ctx, token, 9).await;
    let source = create_token_account(&mut ctx, token, other, d.a.pubkey()).await;
    mint_to(&mut ctx, token, other, source, 1_000_000_000).await;
    let before = v.state(&mut ctx).await;
    let markets = v.position_markets(&mut ctx).await;
    let ix = v.keys().deposit_ix(&d.a.pubkey(), &source, &d.shares, 1_000_000_000, &markets);
    let code = custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await);
    assert_eq!(code, u32::from(anchor_lang::error::ErrorCode::ConstraintTokenMint), "code {code}");
    // Nothing moved: the foreign tokens stay put, no shares were minted, the vault's books are unchanged.
    assert_eq!(token_balance(&mut ctx, source).await, 1_000_000_000);
    let after = v.state(&mut ctx).await;
    assert_eq!((after.total_shares, after.idle_assets), (before.total_shares, before.idle_assets));
}

/// Deposits and withdrawals pass the vault's share mint, escrow, idle account and collateral mint undecoded (the
/// token program checks mints, decimals and authorities in its own instructions): `has_one` on the vault is what
/// ties each to this vault. Another vault's, or another mint, swapped in one at a time, is refused and nothing moves.
#[tokio::test]
async fn a_withdrawal_cannot_use_another_vaults_mints_or_token_accounts() {
    let mut ctx = program_test().start_with_context().await;
    let (mut v, d) = VaultFixture::funded(&mut ctx).await;
    let fee = Keypair::new();
    let config = keel_vault::state::VaultConfig {
        fee_recipient: fee.pubkey(),
        ..default_vault_config(&FIXTURE_MARKETS, fee.pubkey())
    };
    let other = VaultFixture::with_config(&mut ctx, v.t.clone(), 1, config, fee).await;
    let foreign_mint = create_mint(&mut ctx, v.keys().token_program, 6).await;
    let swap = |ix: &Instruction, mine: Pubkey, theirs: Pubkey| {
        let mut ix = ix.clone();
        let i = ix.accounts.iter().position(|m| m.pubkey == mine).expect("the account is in the instruction");
        ix.accounts[i].pubkey = theirs;
        ix
    };
    let has_one = u32::from(anchor_lang::error::ErrorCode::ConstraintHasOne);
    let (share_mints, escrows) =
        ((shares_pda(&v.vault), shares_pda(&other.vault)), (escrow_pda(&v.vault), escrow_pda(&other.vault)));
    // Request: the share mint and the escrow.
    let shares = token_balance(&mut ctx, d.shares).await;
    let request = v.request_ix(&mut ctx, &d, shares / 2).await;
    for (mine, theirs) in [share_mints, escrows] {
        let code = custom_error(send_with(&mut ctx, &[swap(&request, mine, theirs)], &[&d.a.key]).await);
        assert_eq!(code, has_one, "{mine} -> {theirs}");
    }
    assert_eq!(token_balance(&mut ctx, d.shares).await, shares);
    send_with(&mut ctx, &[request], &[&d.a.key]).await.expect("the request with the vault's own accounts");
    // Claim: those two, the idle account and the collateral mint.
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 86_400).await;
    v.t.set_price(&mut ctx, 100.0).await;
    let claim = v.claim_ix(&mut ctx, &d).await;
    let state = |s: keel_vault::state::Vault| (s.total_shares, s.idle_assets, s.pending_withdrawal_shares);
    let before = (token_balance(&mut ctx, d.a.collateral).await, state(v.state(&mut ctx).await));
    let idles = (idle_pda(&v.vault), idle_pda(&other.vault));
    for (mine, theirs) in [share_mints, escrows, idles, (v.keys().mint, foreign_mint)] {
        let code = custom_error(send_with(&mut ctx, &[swap(&claim, mine, theirs)], &[&d.a.key]).await);
        assert_eq!(code, has_one, "{mine} -> {theirs}");
    }
    assert_eq!((token_balance(&mut ctx, d.a.collateral).await, state(v.state(&mut ctx).await)), before);
    send_with(&mut ctx, &[claim], &[&d.a.key]).await.expect("the claim with the vault's own accounts");
    assert!(token_balance(&mut ctx, d.a.collateral).await > before.0);
}

async fn balances(ctx: &mut solana_program_test::ProgramTestContext, accounts: &[Pubkey]) -> Vec<u64> {
    let mut out = Vec::with_capacity(accounts.len());
    for a in accounts {
        out.push(token_balance(ctx, *a).await);
    }
    out
}

/// The user's token accounts in a deposit, a withdrawal request and a claim are read in place by the vault (not
/// decoded by Anchor), with the errors of Anchor's `token::` constraints: another holder's account, an account of
/// another mint, or an account that is not a token account at all is refused, and nothing moves.
#[tokio::test]
async fn a_users_token_accounts_are_checked_before_anything_moves() {
    use anchor_lang::error::ErrorCode;
    let mut ctx = program_test().start_with_context().await;
    let (mut v, d) = VaultFixture::funded(&mut ctx).await;
    let other = v.depositor(&mut ctx, 10_000 * USDC).await;
    let markets = v.position_markets(&mut ctx).await;
    let k = v.keys();
    let held = [d.a.collateral, d.shares, other.a.collateral, other.shares];
    let state = |s: keel_vault::state::Vault| (s.total_shares, s.idle_assets, s.pending_withdrawal_shares);
    let before = (balances(&mut ctx, &held).await, state(v.state(&mut ctx).await));
    let owner = d.a.pubkey();
    let deposits = [
        // Collateral from another holder's account, shares to another holder's account.
        (k.deposit_ix(&owner, &other.a.collateral, &d.shares, USDC, &markets), ErrorCode::ConstraintTokenOwner),
        (k.deposit_ix(&owner, &d.a.collateral, &other.shares, USDC, &markets), ErrorCode::ConstraintTokenOwner),
        // The depositor's own share account as the collateral source; the collateral account to receive shares.
        (k.deposit_ix(&owner, &d.shares, &d.shares, USDC, &markets), ErrorCode::ConstraintTokenMint),
        (k.deposit_ix(&owner, &d.a.collateral, &d.a.collateral, USDC, &markets), ErrorCode::ConstraintTokenMint),
        // The vault's own state account as the share account: not a token program's account.
        (k.deposit_ix(&owner, &d.a.collateral, &v.vault, USDC, &markets), ErrorCode::AccountOwnedByWrongProgram),
    ];
    for (i, (ix, want)) in deposits.into_iter().enumerate() {
        let code = custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await);
        assert_eq!(code, u32::from(want), "deposit {i}");
    }
    // A withdrawal request escrowing another holder's shares, or from a collateral account.
    let requests = [
        (k.request_ix(&owner, &other.shares, 1, &markets), ErrorCode::ConstraintTokenOwner),
        (k.request_ix(&owner, &d.a.collateral, 1, &markets), ErrorCode::ConstraintTokenMint),
    ];
    for (i, (ix, want)) in requests.into_iter().enumerate() {
        let code = custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await);
        assert_eq!(code, u32::from(want), "request {i}");
    }
    assert_eq!((balances(&mut ctx, &held).await, state(v.state(&mut ctx).await)), before);

    // A claim paid into a share account, or into the vault's state account, is refused; into the depositor's
    // collateral account it pays.
    let shares = token_balance(&mut ctx, d.shares).await;
    let ix = v.request_ix(&mut ctx, &d, shares / 2).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.expect("request");
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 86_400).await;
    v.t.set_price(&mut ctx, 100.0).await;
    let markets = v.position_markets(&mut ctx).await;
    let before = (balances(&mut ctx, &held).await, state(v.state(&mut ctx).await));
    let claims = [(d.shares, ErrorCode::ConstraintTokenMint), (v.vault, ErrorCode::AccountOwnedByWrongProgram)];
    for (payee, want) in claims {
        let code = custom_error(send_with(&mut ctx, &[k.claim_ix(&owner, &payee, &markets)], &[&d.a.key]).await);
        assert_eq!(code, u32::from(want), "claim to {payee}");
    }
    assert_eq!((balances(&mut ctx, &held).await, state(v.state(&mut ctx).await)), before);
    send_with(&mut ctx, &[k.claim_ix(&owner, &d.a.collateral, &markets)], &[&d.a.key]).await.expect("claim");
    assert!(token_balance(&mut ctx, d.a.collateral).await > before.0[0]);
}

#[tokio::test]
async fn an_existing_vault_cannot_be_re_initialised() {
    let mut ctx = program_test().start_with_context().await;
    let (v, _) = VaultFixture::funded(&mut ctx).await;
    let before = v.state(&mut ctx).await;
    // Same venue, same id, an attacker's strategist and guardian: `init` on an existing account must fail.
    let attacker = Keypair::new();
    let config = default_vault_config(&FIXTURE_MARKETS, attacker.pubkey());
    let ix = create_vault_ix(&ctx.payer.pubkey(), &v.t, 0, attacker.pubkey(), attacker.pubkey(), config);
    let result = send_with(&mut ctx, &[ix], &[]).await;
    // Anchor's `init` finds the PDA funded and owned by keel-vault, takes the allocate/assign path, and the system
    // program refuses to re-allocate an account it does not own.
    let expected = solana_sdk::transaction::TransactionError::InstructionError(
        0,
        solana_sdk::instruction::InstructionError::InvalidInstructionData,
    );
    assert!(
        matches!(&result, Err(solana_sdk::transport::TransportError::TransactionError(e)) if *e == expected),
        "{result:?}"
    );
    let after = v.state(&mut ctx).await;
    assert_eq!((after.strategist, after.guardian), (before.strategist, before.guardian));
    assert_eq!(after.total_shares, before.total_shares);
}

#[tokio::test]
async fn a_claimed_withdrawal_request_is_closed_and_cannot_be_claimed_again() {
    let mut ctx = program_test().start_with_context().await;
    let (mut v, d) = VaultFixture::funded(&mut ctx).await;
    let shares = token_balance(&mut ctx, d.shares).await;
    let ix = v.request_ix(&mut ctx, &d, shares / 2).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    let t = now(&mut ctx).await;
    set_time(&mut ctx, t + 86_400).await;
    v.t.set_price(&mut ctx, 100.0).await;
    let before = token_balance(&mut ctx, d.a.collateral).await;
    let ix = v.claim_ix(&mut ctx, &d).await;
    send_with(&mut ctx, std::slice::from_ref(&ix), &[&d.a.key]).await.unwrap();
    let paid = token_balance(&mut ctx, d.a.collateral).await - before;
    assert!(paid > 24_000 * USDC, "half of a 50,000 deposit: {paid}");
    // Closed: the request account is gone (its rent back to the depositor).
    let request = withdrawal_pda(&v.vault, &d.a.pubkey());
    assert!(ctx.banks_client.get_account(request).await.unwrap().is_none(), "the request is closed on claim");
    // Replaying the claim finds no request and pays nothing.
    let code = custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await);
    assert_eq!(code, u32::from(anchor_lang::error::ErrorCode::AccountNotInitialized), "code {code}");
    assert_eq!(token_balance(&mut ctx, d.a.collateral).await, before + paid);
    // A fresh request re-creates the account: the normal flow, with a new value at request and a new delay.
    let ix = v.request_ix(&mut ctx, &d, shares / 4).await;
    send_with(&mut ctx, &[ix], &[&d.a.key]).await.unwrap();
    let req: keel_vault::state::WithdrawalRequest = account(&mut ctx, request).await;
    assert_eq!(req.shares, shares / 4);
}

#[tokio::test]
async fn a_vault_is_unusable_until_its_curator_opens_its_accounts_and_opens_only_once() {
    let mut ctx = program_test().start_with_context().await;
    let (v, _) = VaultFixture::funded(&mut ctx).await;
    let me = ctx.payer.pubkey();
    // Step 1 only: vault 5 exists with its configuration but has no share mint, idle account or margin account.
    let config = default_vault_config(&FIXTURE_MARKETS, Keypair::new().pubkey());
    send_with(&mut ctx, &[create_vault_ix(&me, &v.t, 5, me, me, config)], &[]).await.expect("create");
    let half = keel_client::vault::VaultKeys { vault: vault_pda(&v.t.f.venue, 5), ..v.keys() };
    let d = v.depositor(&mut ctx, 1_000 * USDC).await;
    // The vault has recorded no idle account yet, so the one at its PDA is not the vault's.
    let ix = half.deposit_ix(&d.a.pubkey(), &d.a.collateral, &d.shares, 1_000 * USDC, &[]);
    let code = custom_error(send_with(&mut ctx, &[ix], &[&d.a.key]).await);
    assert_eq!(code, u32::from(anchor_lang::error::ErrorCode::ConstraintHasOne), "code {code}");
    // Only the curator may run step 2.
    let stranger = Keypair::new();
    fund(&mut ctx, stranger.pubkey(), 1_000_000_000).await;
    let ix = open_vault_accounts_ix(&stranger.pubkey(), &v.t, 5);
    let code = custom_error(send_with(&mut ctx, &[ix], &[&stranger]).await);
    assert_eq!(code, u32::from(keel_vault::error::VaultError::UnauthorizedCurator));
    // The curator's step 2 records every account at its PDA.
    send_with(&mut ctx, &[open_vault_accounts_ix(&me, &v.t, 5)], &[]).await.expect("open");
    let state: keel_vault::state::Vault = account(&mut ctx, half.vault).await;
    assert_eq!(state.share_mint, shares_pda(&half.vault));
    assert_eq!(state.idle, idle_pda(&half.vault));
    assert_eq!(state.lp_account, lp_pda(&half.vault));
    assert_eq!(state.margin_account, keel_client::venue::margin_pda(&v.t.f.venue, &half.vault));
    // A second step 2 cannot replace them: as for a re-initialised vault, `init` finds the share mint funded and
    // owned by the token program and the system program refuses to re-allocate it.
    ctx.warp_to_slot(ctx.banks_client.get_root_slot().await.unwrap() + 2).unwrap();
    let result = send_with(&mut ctx, &[open_vault_accounts_ix(&me, &v.t, 5)], &[]).await;
    let expected = solana_sdk::transaction::TransactionError::InstructionError(
        0,
        solana_sdk::instruction::InstructionError::InvalidInstructionData,
    );
    assert!(
        matches!(&result, Err(solana_sdk::transport::TransportError::TransactionError(e)) if *e == expected),
        "{result:?}"
    );
    let after: keel_vault::state::Vault = account(&mut ctx, half.vault).await;
    assert_eq!(after.share_mint, state.share_mint);
}

/// The pool's NAV is summed over the markets an LP flow passes, checked by their venue and index fields. A
/// counterfeit holds a real market's bytes (those fields included) with a book claiming traders owe the pool a
/// fortune, under an address another program owns: withdrawing against it would pay out of other LPs' capital.
/// The zero-copy read checks the owner before it trusts a byte, so the flow is refused and nothing moves.
#[tokio::test]
async fn a_counterfeit_market_cannot_inflate_the_pool_in_an_lp_flow() {
    use keel_tests::trading::*;
    use keel_tests::venue::*;
    use keel_venue::state::Market;
    let mut ctx = program_test().start_with_context().await;
    let token = anchor_spl::token::ID;
    let s = TradingFixture::new(&mut ctx, token, 100.0, 1_000_000 * USDC).await;
    let real = market_pda(&s.f.venue, PERP);
    let mut acc = ctx.banks_client.get_account(real).await.unwrap().unwrap();
    let mut m: Market = account(&mut ctx, real).await;
    m.book.net_cost = bits(1e9).into();
    acc.data = [<Market as anchor_lang::Discriminator>::DISCRIMINATOR, bytemuck::bytes_of(&m)].concat();
    acc.owner = keel_vault::ID;
    let fake = solana_sdk::pubkey::Pubkey::new_unique();
    ctx.set_account(&fake, &acc.into());
    let mut markets = s.markets();
    markets[PERP as usize] = fake;
    let (shares_before, pool_before) = (token_balance(&mut ctx, s.lp_shares).await, s.venue_state(&mut ctx).await);
    let ix = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares_before / 2), &markets);
    let code = custom_error(send_with(&mut ctx, &[ix], &[&s.lp.key]).await);
    assert_eq!(code, u32::from(anchor_lang::error::ErrorCode::AccountOwnedByWrongProgram), "code {code}");
    assert_eq!(token_balance(&mut ctx, s.lp_shares).await, shares_before);
    assert_eq!(s.venue_state(&mut ctx).await.pool_assets, pool_before.pool_assets);
    // The same withdrawal against the real markets goes through.
    let ix = lp_ix_with(&s.lp_accounts(), LpAction::Withdraw(shares_before / 2), &s.markets());
    send_with(&mut ctx, &[ix], &[&s.lp.key]).await.expect("withdrawal against the real markets");
}
