//! A local validator cannot run the real Pyth receiver: posting a price needs a Wormhole VAA signed by Pyth's
//! guardians. This program is loaded at the receiver's program id on a localnet only (scripts/validator-test) and
//! lets a price account's write authority overwrite it with a new PriceUpdateV2, byte for byte the layout the
//! receiver writes. Keel's programs then read it exactly as they read a real one: same owner, same discriminator,
//! same fields. It must never be deployed to a real cluster (the real receiver owns that id there).
//!
//! Instruction data: the whole new account data (Anchor discriminator + borsh PriceUpdateV2, as
//! `keel_client::pyth::price_update_data_by` encodes it). Accounts: `[price (writable), write authority (signer)]`.
use solana_compiler_builtins as _;
use solana_program::pubkey::Pubkey;
use solana_program::{account_info::AccountInfo, entrypoint::ProgramResult, msg, program_error::ProgramError};

#[cfg(not(feature = "no-entrypoint"))]
solana_program::entrypoint!(process);

/// Where PriceUpdateV2 keeps its write authority: right after the 8-byte discriminator.
const AUTHORITY: core::ops::Range<usize> = 8..40;

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> ProgramResult {
    // 1. The price account must be this program's (as a real update is the receiver's) and writable; the
    //    authority must sign.
    let [price, authority] = accounts else {
        msg!("localnet-oracle: expected [price, authority]");
        return Err(ProgramError::NotEnoughAccountKeys);
    };
    if price.owner != program_id || !price.is_writable {
        msg!("localnet-oracle: the price account must be writable and owned by this program");
        return Err(ProgramError::IncorrectProgramId);
    }
    if !authority.is_signer {
        msg!("localnet-oracle: the write authority must sign");
        return Err(ProgramError::MissingRequiredSignature);
    }
    // 2. The new data names the signer as its write authority and fits the account.
    let mut dst = price.try_borrow_mut_data()?;
    if data.len() > dst.len() || data.get(AUTHORITY) != Some(authority.key.as_ref()) {
        msg!("localnet-oracle: data must fit the account and name the signer as write authority");
        return Err(ProgramError::InvalidInstructionData);
    }
    // 3. An existing update belongs to its authority; a fresh (zeroed) account to whoever created it in this
    //    transaction.
    let current = &dst[AUTHORITY];
    if current.iter().any(|b| *b != 0) && current != authority.key.as_ref() {
        msg!("localnet-oracle: signer is not this price account's write authority");
        return Err(ProgramError::IllegalOwner);
    }
    // 4. Replace the whole account (a shorter encoding, e.g. Full verification, leaves zeros behind).
    dst[..data.len()].copy_from_slice(data);
    dst[data.len()..].fill(0);
    Ok(())
}
