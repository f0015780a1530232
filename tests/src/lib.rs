//! Shared fixtures for Keel's cross-program integration tests: a [`ProgramTest`] with both Keel programs registered
//! natively (SPL Token / Token-2022 / ATA are the real SBF binaries bundled with solana-program-test), and small
//! helpers to build and send Anchor instructions.
use anchor_lang::{InstructionData, ToAccountMetas};
use solana_program_test::{processor, ProgramTest, ProgramTestContext};
use solana_sdk::{
    instruction::Instruction, pubkey::Pubkey, signature::Signer, transaction::Transaction, transport::TransportError,
};

/// A ProgramTest with keel-venue and keel-vault registered as native programs.
pub fn program_test() -> ProgramTest {
    let mut pt = ProgramTest::default();
    pt.prefer_bpf(false);
    pt.add_program("keel_venue", keel_venue::ID, processor!(keel_venue::process_native));
    pt.add_program("keel_vault", keel_vault::ID, processor!(keel_vault::process_native));
    pt
}

/// Builds an Anchor instruction from its generated `accounts` and `instruction` structs.
pub fn anchor_ix(program_id: Pubkey, accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction { program_id, accounts: accounts.to_account_metas(None), data: data.data() }
}

/// Signs with the context payer and sends one transaction.
pub async fn send(ctx: &mut ProgramTestContext, ixs: &[Instruction]) -> Result<(), TransportError> {
    let blockhash = ctx.banks_client.get_latest_blockhash().await?;
    let tx = Transaction::new_signed_with_payer(ixs, Some(&ctx.payer.pubkey()), &[&ctx.payer], blockhash);
    ctx.banks_client.process_transaction(tx).await.map_err(Into::into)
}
