//! SPL Token / Token-2022 setup instructions (mints, token accounts, minting) for either token program.
use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;

/// Size of a base mint and a base token account, identical in both token programs.
pub const MINT_LEN: usize = 82;
pub const ACCOUNT_LEN: usize = 165;

/// The SPL Token program.
pub const SPL_TOKEN_ID: Pubkey = anchor_spl::token::ID;

fn is_2022(token_program: &Pubkey) -> bool {
    *token_program == anchor_spl::token_2022::ID
}

/// create_account + initialize_mint2 for `mint` (which must sign), with `authority` as mint authority.
pub fn create_mint_ixs(
    payer: &Pubkey,
    mint: &Pubkey,
    authority: &Pubkey,
    token_program: &Pubkey,
    decimals: u8,
    rent_lamports: u64,
) -> [Instruction; 2] {
    let create = solana_system_interface::instruction::create_account(
        payer,
        mint,
        rent_lamports,
        MINT_LEN as u64,
        token_program,
    );
    let init = if is_2022(token_program) {
        anchor_spl::token_2022::spl_token_2022::instruction::initialize_mint2(
            token_program,
            mint,
            authority,
            None,
            decimals,
        )
    } else {
        anchor_spl::token::spl_token::instruction::initialize_mint2(token_program, mint, authority, None, decimals)
    }
    .expect("initialize_mint2 only fails for a wrong program id");
    [create, init]
}

/// create_account + initialize_account3 for `account` (which must sign) of `mint`, owned by `owner`.
pub fn create_token_account_ixs(
    payer: &Pubkey,
    account: &Pubkey,
    mint: &Pubkey,
    owner: &Pubkey,
    token_program: &Pubkey,
    rent_lamports: u64,
) -> [Instruction; 2] {
    let create = solana_system_interface::instruction::create_account(
        payer,
        account,
        rent_lamports,
        ACCOUNT_LEN as u64,
        token_program,
    );
    let init = if is_2022(token_program) {
        anchor_spl::token_2022::spl_token_2022::instruction::initialize_account3(token_program, account, mint, owner)
    } else {
        anchor_spl::token::spl_token::instruction::initialize_account3(token_program, account, mint, owner)
    }
    .expect("initialize_account3 only fails for a wrong program id");
    [create, init]
}

pub fn mint_to_ix(token_program: &Pubkey, mint: &Pubkey, to: &Pubkey, authority: &Pubkey, amount: u64) -> Instruction {
    if is_2022(token_program) {
        anchor_spl::token_2022::spl_token_2022::instruction::mint_to(token_program, mint, to, authority, &[], amount)
    } else {
        anchor_spl::token::spl_token::instruction::mint_to(token_program, mint, to, authority, &[], amount)
    }
    .expect("mint_to only fails for a wrong program id")
}

/// A token account's balance (bytes 64..72 of the base layout, identical in both token programs).
pub fn token_amount(data: &[u8]) -> Option<u64> {
    data.get(64..72).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
}

/// The mint authority of an SPL mint account (`None` if fixed supply or not a mint).
pub fn mint_authority(data: &[u8]) -> Option<Pubkey> {
    // Layout: COption<Pubkey> = u32 tag (1 = Some) + 32 bytes, at the start of the 82-byte mint.
    if data.len() != MINT_LEN || data[0..4] != [1, 0, 0, 0] {
        return None;
    }
    Pubkey::try_from(&data[4..36]).ok()
}

/// The associated token account of `owner` for `mint` under `token_program` (where wallets look for a balance).
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    anchor_spl::associated_token::get_associated_token_address_with_program_id(owner, mint, token_program)
}

/// Creates [`associated_token_address`] if it does not exist (a no-op otherwise), paid by `payer`.
pub fn create_associated_token_account_idempotent_ix(
    payer: &Pubkey,
    owner: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
) -> Instruction {
    anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
        payer,
        owner,
        mint,
        token_program,
    )
}
