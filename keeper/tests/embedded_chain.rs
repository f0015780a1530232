//! The embedded chain runs the real programs in-process: simulation and sending report program errors with their
//! codes, the clock and slots can be driven, and the oracle accounts it writes are real PriceUpdateV2s.
use keel_client::pyth::PythPrice;
use keel_keeper::chain::{Chain, ChainError, Embedded};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use solana_sdk::{instruction::Instruction, pubkey::Pubkey};

#[tokio::test]
async fn embedded_chain_runs_the_programs_and_reports_their_errors() {
    let mut chain = Embedded::start().await;
    let ping = keel_client::anchor_ix(keel_venue::ID, keel_venue::accounts::Ping {}, keel_venue::instruction::Ping {});
    let sim = chain.simulate(std::slice::from_ref(&ping), &[]).await.unwrap();
    assert_eq!(sim.result, Ok(()));
    chain.send(&[ping], &[]).await.unwrap();

    // Anchor's fallback error (101) for an unknown instruction comes back as a program error with its code.
    let bogus = Instruction { program_id: keel_vault::ID, accounts: vec![], data: vec![1, 2, 3, 4, 5, 6, 7, 8] };
    assert_eq!(chain.send(&[bogus], &[]).await, Err(ChainError::Program { index: 0, code: 101 }));

    // Clock and slots.
    let c0 = chain.clock().await.unwrap();
    chain.set_time(c0.unix_timestamp + 3_600).await.unwrap();
    chain.warp_slots(10).await.unwrap();
    let c1 = chain.clock().await.unwrap();
    assert_eq!(c1.unix_timestamp, c0.unix_timestamp + 3_600);
    assert!(c1.slot >= c0.slot + 10);

    // Oracle accounts are real PriceUpdateV2s.
    let oracle = Pubkey::new_unique();
    chain.set_price(oracle, &PythPrice::new([9; 32], 123.45, c1.unix_timestamp));
    let update: PriceUpdateV2 = chain.read(&oracle).await.unwrap();
    assert_eq!(update.price_message.price, 12_345_000_000);
    let missing = Pubkey::new_unique();
    match chain.read::<PriceUpdateV2>(&missing).await {
        Err(e) => assert_eq!(e, ChainError::MissingAccount(missing)),
        Ok(_) => panic!("a missing account must be an error"),
    }
}
