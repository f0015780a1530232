//! Token movements of the vault: collateral in to the idle account, out of it (vault PDA signs), share minting,
//! share escrow and burning. All collateral transfers use `transfer_checked`.
//!
//! Mints are passed as plain account infos with their decimals: where the vault pins a mint's address (`has_one`)
//! the token program itself checks it against both token accounts, the decimals and the authority, so decoding
//! the mint on the vault's side would only repeat those checks at ~1k compute units per account.
use crate::invoke::CpiAccount;
use crate::state::VaultSigner;
use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::instruction::TokenInstruction;
use anchor_spl::token_interface::TokenInterface;

/// `transfer_checked` of `amount` from `from` to `to`, signed by `authority` (who signed the transaction), the same
/// way as [`transfer_signed_by_vault`].
pub fn transfer_signed_by_user<'info>(
    token_program: &Interface<'info, TokenInterface>,
    (mint, decimals): (AccountInfo<'info>, u8),
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let accounts = transfer_checked_accounts([&from, &mint, &to, &authority]);
    crate::invoke::invoke_flagged(token_program.key(), &accounts, &[], transfer_checked_data(amount, decimals), &[])
}

/// `transfer_checked` of `amount` from `from` to `to`, signed by the vault PDA. The instruction is the token
/// interface's own (the same bytes for Token and Token-2022; a unit test holds it to spl-token-2022's builder), invoked
/// through [`crate::invoke::invoke_flagged`] rather than Anchor's helper, whose SDK call searches every info for every
/// meta with 32-byte comparisons (~1.5k compute units of a keeper's reward or a withdrawal claim on SBF).
pub fn transfer_signed_by_vault<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    (mint, decimals): (AccountInfo<'info>, u8),
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let accounts = transfer_checked_accounts([&from, &mint, &to, &vault.info]);
    let data = transfer_checked_data(amount, decimals);
    vault.with_signer(|s| crate::invoke::invoke_flagged(token_program.key(), &accounts, &[], data, s))
}

/// `transfer_checked`'s accounts in its order: source and destination writable, the mint read, the authority signing.
fn transfer_checked_accounts<'a, 'info>(
    [from, mint, to, authority]: [&'a AccountInfo<'info>; 4],
) -> [CpiAccount<'a, 'info>; 4] {
    [CpiAccount::writable(from), CpiAccount::read(mint), CpiAccount::writable(to), CpiAccount::signer(authority)]
}

/// `TransferChecked` as the token programs decode it.
fn transfer_checked_data(amount: u64, decimals: u8) -> Vec<u8> {
    TokenInstruction::TransferChecked { amount, decimals }.pack()
}

/// `mint_to` of `shares` of the vault's share mint to `to`, signed by the vault PDA (the mint's authority), through
/// [`crate::invoke::invoke_flagged`] as [`transfer_signed_by_vault`].
pub fn mint_shares<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: AccountInfo<'info>,
    to: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let accounts = mint_to_accounts([&share_mint, &to, &vault.info]);
    let data = TokenInstruction::MintTo { amount: shares }.pack();
    vault.with_signer(|s| crate::invoke::invoke_flagged(token_program.key(), &accounts, &[], data, s))
}

/// `burn` of `shares` from the vault's escrow, signed by the vault PDA (the escrow's owner), the same way.
pub fn burn_escrowed<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: AccountInfo<'info>,
    escrow: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let accounts = burn_accounts([&escrow, &share_mint, &vault.info]);
    let data = TokenInstruction::Burn { amount: shares }.pack();
    vault.with_signer(|s| crate::invoke::invoke_flagged(token_program.key(), &accounts, &[], data, s))
}

/// `mint_to`'s accounts in its order: the mint and the destination writable, the mint authority signing.
fn mint_to_accounts<'a, 'info>([mint, to, authority]: [&'a AccountInfo<'info>; 3]) -> [CpiAccount<'a, 'info>; 3] {
    [CpiAccount::writable(mint), CpiAccount::writable(to), CpiAccount::signer(authority)]
}

/// `burn`'s accounts in its order: the source and the mint writable, the source's owner signing.
fn burn_accounts<'a, 'info>([from, mint, authority]: [&'a AccountInfo<'info>; 3]) -> [CpiAccount<'a, 'info>; 3] {
    [CpiAccount::writable(from), CpiAccount::writable(mint), CpiAccount::signer(authority)]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vault's transfer is spl-token-2022's `transfer_checked` instruction for the same accounts: keys, order,
    /// flags and data (the classic Token program decodes the same bytes).
    #[test]
    fn the_vault_signed_transfer_is_the_token_interfaces_instruction() {
        crate::invoke::with_infos(4, |infos| {
            let ours = transfer_checked_accounts([&infos[0], &infos[1], &infos[2], &infos[3]]);
            let keys: Vec<Pubkey> = infos.iter().map(|i| *i.key).collect();
            for program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
                let theirs = anchor_spl::token_2022::spl_token_2022::instruction::transfer_checked(
                    &program,
                    &keys[0],
                    &keys[1],
                    &keys[2],
                    &keys[3],
                    &[],
                    1_234_567,
                    6,
                )
                .unwrap();
                let flags: Vec<_> = ours.iter().map(|a| (*a.info.key, a.signer, a.writable)).collect();
                let want: Vec<_> = theirs.accounts.iter().map(|m| (m.pubkey, m.is_signer, m.is_writable)).collect();
                assert_eq!(flags, want);
                assert_eq!(transfer_checked_data(1_234_567, 6), theirs.data);
            }
        });
    }

    /// The share mint's `mint_to` and the escrow's `burn` are spl-token-2022's instructions for the same accounts.
    #[test]
    fn share_minting_and_burning_are_the_token_interfaces_instructions() {
        use anchor_spl::token_2022::spl_token_2022::instruction::{burn, mint_to};
        crate::invoke::with_infos(3, |infos| {
            let keys: Vec<Pubkey> = infos.iter().map(|i| *i.key).collect();
            let flags =
                |ours: &[CpiAccount]| ours.iter().map(|a| (*a.info.key, a.signer, a.writable)).collect::<Vec<_>>();
            let want = |ix: &anchor_lang::solana_program::instruction::Instruction| {
                ix.accounts.iter().map(|m| (m.pubkey, m.is_signer, m.is_writable)).collect::<Vec<_>>()
            };
            for program in [anchor_spl::token::ID, anchor_spl::token_2022::ID] {
                let theirs = mint_to(&program, &keys[0], &keys[1], &keys[2], &[], 42).unwrap();
                assert_eq!(flags(&mint_to_accounts([&infos[0], &infos[1], &infos[2]])), want(&theirs));
                assert_eq!(TokenInstruction::MintTo { amount: 42 }.pack(), theirs.data);
                let theirs = burn(&program, &keys[0], &keys[1], &keys[2], &[], 42).unwrap();
                assert_eq!(flags(&burn_accounts([&infos[0], &infos[1], &infos[2]])), want(&theirs));
                assert_eq!(TokenInstruction::Burn { amount: 42 }.pack(), theirs.data);
            }
        });
    }
}
