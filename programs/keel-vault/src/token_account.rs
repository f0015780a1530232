//! A user's token account read in place: the checks Anchor's `InterfaceAccount<TokenAccount>` with `token::mint`,
//! `token::authority` and `token::token_program` makes, with the same error codes, without unpacking the account.
//! That unpacking (spl-token-2022's `StateWithExtensions`, then a copy into a boxed struct) cost ~1.9k compute units
//! per account on SBF, measured in a deposit, which passes two; the vault reads one field of either (the balance).
//!
//! The base layout is the same for Token and Token-2022: mint, owner, amount, delegate, state, ... in 165 bytes. A
//! Token-2022 account with extensions is longer and marks itself an account at byte 165; a multisig (355 bytes) and
//! a mint with extensions are not token accounts.
use anchor_lang::error::ErrorCode;
use anchor_lang::prelude::*;
use keel_venue::state::{key_is, keys_eq};

const BASE_LEN: usize = 165;
const MULTISIG_LEN: usize = 355;
const ACCOUNT_TYPE_ACCOUNT: u8 = 2;
const MINT: std::ops::Range<usize> = 0..32;
const OWNER: std::ops::Range<usize> = 32..64;
const AMOUNT: std::ops::Range<usize> = 64..72;
const STATE: usize = 108;

/// What a token account must be for the vault to take it from a user.
pub struct Expect<'a> {
    /// Its mint.
    pub mint: &'a Pubkey,
    /// Its owner (the wallet that signs for it), where the instruction ties the account to the signer.
    pub authority: Option<&'a Pubkey>,
    /// The token program the vault uses (the account's owner).
    pub token_program: &'a Pubkey,
}

/// Checks `info` (named `name` in errors) is an initialised token account as `expect` says and returns its balance.
/// Errors, in Anchor's order: not a token program's account (`AccountOwnedByWrongProgram`), not a token account
/// (`AccountDidNotDeserialize`), another mint (`ConstraintTokenMint`), another owner (`ConstraintTokenOwner`), the
/// other token program's (`ConstraintTokenTokenProgram`).
pub fn read_balance(info: &AccountInfo, name: &str, expect: &Expect) -> Result<u64> {
    let owner = info.owner;
    let token_owned = key_is(owner, anchor_spl::token::ID) || key_is(owner, anchor_spl::token_2022::ID);
    require!(token_owned, ErrorCode::AccountOwnedByWrongProgram);
    let data = info.try_borrow_data()?;
    let n = data.len();
    let layout = n == BASE_LEN || (n > BASE_LEN && n != MULTISIG_LEN && data[BASE_LEN] == ACCOUNT_TYPE_ACCOUNT);
    // State: 0 uninitialised, 1 initialised, 2 frozen (the token program refuses to move a frozen account's tokens).
    require!(layout && matches!(data[STATE], 1 | 2), ErrorCode::AccountDidNotDeserialize);
    let (mint, authority): (&Pubkey, &Pubkey) = (bytemuck::from_bytes(&data[MINT]), bytemuck::from_bytes(&data[OWNER]));
    if !keys_eq(mint, expect.mint) {
        return Err(error!(ErrorCode::ConstraintTokenMint).with_account_name(name).with_pubkeys((*mint, *expect.mint)));
    }
    if let Some(want) = expect.authority {
        if !keys_eq(authority, want) {
            let e = error!(ErrorCode::ConstraintTokenOwner).with_account_name(name);
            return Err(e.with_pubkeys((*authority, *want)));
        }
    }
    if !keys_eq(owner, expect.token_program) {
        let e = error!(ErrorCode::ConstraintTokenTokenProgram).with_account_name(name);
        return Err(e.with_pubkeys((*owner, *expect.token_program)));
    }
    let mut amount = [0u8; 8];
    amount.copy_from_slice(&data[AMOUNT]);
    Ok(u64::from_le_bytes(amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token_2022::spl_token_2022::state::{Account, AccountState};

    fn packed(mint: Pubkey, owner: Pubkey, amount: u64, state: AccountState) -> Vec<u8> {
        let a = Account { mint, owner, amount, state, ..Account::default() };
        let mut data = vec![0u8; Account::LEN];
        Account::pack(a, &mut data).unwrap();
        data
    }

    fn read(data: &mut [u8], program: Pubkey, expect: &Expect) -> Result<u64> {
        let (key, mut lamports) = (Pubkey::new_unique(), 1u64);
        let info = AccountInfo::new(&key, false, true, &mut lamports, data, &program, false);
        read_balance(&info, "acct", expect)
    }

    fn code(r: Result<u64>) -> u32 {
        match r.unwrap_err() {
            Error::AnchorError(e) => e.error_code_number,
            e => panic!("{e:?}"),
        }
    }

    /// The balance of a real spl-token account, and every check failing with Anchor's code for it.
    #[test]
    fn reads_the_balance_and_refuses_what_anchor_refuses() {
        let (mint, user, token) = (Pubkey::new_unique(), Pubkey::new_unique(), anchor_spl::token::ID);
        let ok = Expect { mint: &mint, authority: Some(&user), token_program: &token };
        let mut data = packed(mint, user, 1_234_567, AccountState::Initialized);
        assert_eq!(read(&mut data, token, &ok).unwrap(), 1_234_567);
        let mut frozen = packed(mint, user, 5, AccountState::Frozen);
        assert_eq!(read(&mut frozen, token, &ok).unwrap(), 5);
        // No authority to match: any owner.
        let anyone = Expect { authority: None, ..ok };
        let mut theirs = packed(mint, Pubkey::new_unique(), 9, AccountState::Initialized);
        assert_eq!(read(&mut theirs, token, &anyone).unwrap(), 9);

        let c = |e: ErrorCode| u32::from(e);
        assert_eq!(code(read(&mut data.clone(), Pubkey::new_unique(), &ok)), c(ErrorCode::AccountOwnedByWrongProgram));
        let mut blank = packed(mint, user, 0, AccountState::Uninitialized);
        assert_eq!(code(read(&mut blank, token, &ok)), c(ErrorCode::AccountDidNotDeserialize));
        assert_eq!(code(read(&mut data[..82].to_vec(), token, &ok)), c(ErrorCode::AccountDidNotDeserialize));
        let mut other_mint = packed(Pubkey::new_unique(), user, 1, AccountState::Initialized);
        assert_eq!(code(read(&mut other_mint, token, &ok)), c(ErrorCode::ConstraintTokenMint));
        assert_eq!(code(read(&mut theirs, token, &ok)), c(ErrorCode::ConstraintTokenOwner));
        let t22 = anchor_spl::token_2022::ID;
        assert_eq!(code(read(&mut data.clone(), t22, &ok)), c(ErrorCode::ConstraintTokenTokenProgram));
    }

    /// Token-2022 lengths: an account with extensions (type byte 2 at 165) reads; a multisig-sized account, a mint
    /// with extensions (type byte 1) and a bare 166-byte account with no type are not token accounts.
    #[test]
    fn token_2022_extended_accounts_read_and_lookalikes_do_not() {
        let (mint, user, t22) = (Pubkey::new_unique(), Pubkey::new_unique(), anchor_spl::token_2022::ID);
        let ok = Expect { mint: &mint, authority: Some(&user), token_program: &t22 };
        let base = packed(mint, user, 77, AccountState::Initialized);
        let extended = |len: usize, ty: u8| {
            let mut d = base.clone();
            d.resize(len, 0);
            d[BASE_LEN] = ty;
            d
        };
        assert_eq!(read(&mut extended(BASE_LEN + 1 + 12, ACCOUNT_TYPE_ACCOUNT), t22, &ok).unwrap(), 77);
        let bad = u32::from(ErrorCode::AccountDidNotDeserialize);
        assert_eq!(code(read(&mut extended(MULTISIG_LEN, ACCOUNT_TYPE_ACCOUNT), t22, &ok)), bad);
        assert_eq!(code(read(&mut extended(BASE_LEN + 1 + 12, 1), t22, &ok)), bad);
        assert_eq!(code(read(&mut extended(BASE_LEN + 1, 0), t22, &ok)), bad);
    }
}
