//! Migrations on the embedded bank: the demo spec deploys everything, a re-run changes nothing (byte for byte),
//! and a spec naming the now-existing mint (as on a cluster) finds it all too.
use keel_client::pyth::PythPrice;
use keel_keeper::chain::{Chain, Embedded};
use keel_migrations::spec::DEMO_SPEC;
use keel_migrations::{apply, Context, MigrationError, Spec};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};

#[tokio::test]
async fn the_demo_spec_deploys_once_and_a_re_run_changes_nothing() {
    let mut chain = Embedded::start().await;
    let admin = chain.payer();
    let (guardian, vol_authority, strategist, mint) = (Keypair::new(), Keypair::new(), Keypair::new(), Keypair::new());
    let fund = solana_system_interface::instruction::transfer(&admin, &vol_authority.pubkey(), 1_000_000_000);
    chain.send(&[fund], &[]).await.unwrap();
    let now = chain.clock().await.unwrap().unix_timestamp;
    let oracle = Pubkey::new_unique();
    chain.set_price(oracle, &PythPrice::new([42; 32], 100.0, now));
    let spec = Spec::parse(DEMO_SPEC).unwrap();
    let ctx = Context {
        vol_authority: &vol_authority,
        guardian: guardian.pubkey(),
        strategist: strategist.pubkey(),
        oracles: [(0, oracle)].into(),
        new_mint: Some(&mint),
        lp_source: None,
        lp_shares: None,
    };

    // Without the oracle account the spec cannot be applied, and nothing is written.
    let no_oracle = Context { oracles: Default::default(), ..ctx.clone() };
    let err = apply(&mut chain, &spec, &no_oracle).await.unwrap_err();
    assert!(matches!(&err, MigrationError::Spec(m) if m.contains("no oracle account given for underlying 0")), "{err}");
    assert!(chain.account(&mint.pubkey()).await.unwrap().is_none(), "a spec that cannot complete writes nothing");

    let first = apply(&mut chain, &spec, &ctx).await.unwrap();
    let names: Vec<&str> = first.steps.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(
        names,
        [
            "collateral mint",
            "venue 0",
            "underlying 0 (SOL)",
            "market 0 (Perp)",
            "market 1 (Call)",
            "market 2 (Put)",
            "LP liquidity 1000000",
            "vault 0",
            "vault 0 accounts"
        ]
    );
    assert_eq!(first.created(), 9);
    let venue: keel_venue::state::Venue = chain.read(&first.venue).await.unwrap();
    assert_eq!(venue.pool_assets, 1_000_000_000_000, "1,000,000 tokens of LP liquidity at 6 decimals");
    let call: keel_venue::state::Market = chain.read(&first.markets[&1]).await.unwrap();
    let strike: f64 = call.config.strike.fx().to_num();
    assert!((strike - 110.0).abs() < 1e-9, "strike = 1.1 x the reference spot: {strike}");

    // Snapshot every deployed account, re-run, compare byte for byte.
    let mut keys: Vec<Pubkey> = vec![first.mint, first.venue];
    keys.extend(first.underlyings.values().chain(first.markets.values()).chain(first.vaults.values()));
    keys.push(keel_client::venue::surface_pda(&first.underlyings[&0], call.config.expiry));
    let mut before = Vec::new();
    for k in &keys {
        before.push(chain.account(k).await.unwrap().expect("deployed").data);
    }
    let again = apply(&mut chain, &spec, &ctx).await.unwrap();
    assert_eq!(again.created(), 0, "{:?}", again.steps);
    for (k, data) in keys.iter().zip(&before) {
        assert_eq!(&chain.account(k).await.unwrap().unwrap().data, data, "{k} changed on re-run");
    }
    // As on a cluster: the spec names the mint instead of creating it; the same objects are found.
    let named =
        Spec::parse(&DEMO_SPEC.replace("decimals = 6", &format!("decimals = 6\nmint = \"{}\"", first.mint))).unwrap();
    let found = apply(&mut chain, &named, &Context { new_mint: None, ..ctx.clone() }).await.unwrap();
    assert_eq!((found.created(), found.venue, found.vaults[&0]), (0, first.venue, first.vaults[&0]));
    // A mint that is not a public key: an error naming the field.
    let garbled = Spec::parse(&DEMO_SPEC.replace("decimals = 6", "decimals = 6\nmint = \"not-a-key\"")).unwrap();
    let err = apply(&mut chain, &garbled, &Context { new_mint: None, ..ctx.clone() }).await.unwrap_err();
    assert!(err.to_string().contains("collateral.mint not-a-key"), "{err}");
    // Neither a mint nor a keypair: an error that says what to pass.
    let err = apply(&mut chain, &spec, &Context { new_mint: None, ..ctx }).await.unwrap_err();
    assert!(err.to_string().contains("name an existing mint"), "{err}");
}
