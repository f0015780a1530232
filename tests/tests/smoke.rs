//! Harness smoke tests: each program is dispatched by the real runtime, answers `ping`, and rejects an unknown
//! instruction with Anchor's fallback error.
//!
//! `ping` also returns the interface version as return data, natively as on SBF (keel_venue::return_data).
use keel_tests::{anchor_ix, program_test, send, simulate_with};
use solana_sdk::{
    instruction::{Instruction, InstructionError},
    pubkey::Pubkey,
    transaction::TransactionError,
};

/// Anchor's `InstructionFallbackNotFound` error code.
const FALLBACK_NOT_FOUND: u32 = 101;

async fn ping_round_trip(program_id: Pubkey, ping: Instruction, version: [u8; 3]) {
    let mut ctx = program_test().start_with_context().await;
    // Simulation succeeds; its return data is the interface version.
    let (returned, _) = simulate_with(&mut ctx, std::slice::from_ref(&ping), &[]).await;
    assert_eq!(returned.expect("ping returns its interface version"), (program_id, version.to_vec()));
    // And it lands as a transaction.
    send(&mut ctx, &[ping]).await.unwrap();

    // An instruction with an unknown discriminator is refused with Anchor's fallback error.
    let bogus = Instruction { program_id, accounts: vec![], data: vec![0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0] };
    let err = send(&mut ctx, &[bogus]).await.unwrap_err();
    let tx_err = err.unwrap();
    assert_eq!(tx_err, TransactionError::InstructionError(0, InstructionError::Custom(FALLBACK_NOT_FOUND)));
}

#[tokio::test]
async fn venue_ping() {
    let ix = anchor_ix(keel_venue::ID, keel_venue::accounts::Ping {}, keel_venue::instruction::Ping {});
    ping_round_trip(keel_venue::ID, ix, keel_venue::INTERFACE_VERSION).await;
}

#[tokio::test]
async fn vault_ping() {
    let ix = anchor_ix(keel_vault::ID, keel_vault::accounts::Ping {}, keel_vault::instruction::Ping {});
    ping_round_trip(keel_vault::ID, ix, keel_vault::INTERFACE_VERSION).await;
}
