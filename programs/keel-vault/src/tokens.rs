//! Token movements of the vault: collateral in to the idle account, out of it (vault PDA signs), share minting,
//! share escrow and burning. All collateral transfers use `transfer_checked`.
//!
//! Mints are passed as plain account infos with their decimals: where the vault pins a mint's address (`has_one`)
//! the token program itself checks it against both token accounts, the decimals and the authority, so decoding
//! the mint on the vault's side would only repeat those checks at ~1k compute units per account.
use crate::state::VaultSigner;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Burn, MintTo, TokenInterface, TransferChecked};

pub fn transfer_signed_by_user<'info>(
    token_program: &Interface<'info, TokenInterface>,
    (mint, decimals): (AccountInfo<'info>, u8),
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from, mint, to, authority };
    token_interface::transfer_checked(CpiContext::new(token_program.key(), cpi), amount, decimals)
}

pub fn transfer_signed_by_vault<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    (mint, decimals): (AccountInfo<'info>, u8),
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from, mint, to, authority: vault.info.clone() };
    vault.with_signer(|s| {
        token_interface::transfer_checked(CpiContext::new_with_signer(token_program.key(), cpi, s), amount, decimals)
    })
}

pub fn mint_shares<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: AccountInfo<'info>,
    to: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let cpi = MintTo { mint: share_mint, to, authority: vault.info.clone() };
    vault.with_signer(|s| token_interface::mint_to(CpiContext::new_with_signer(token_program.key(), cpi, s), shares))
}

pub fn burn_escrowed<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: AccountInfo<'info>,
    escrow: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let cpi = Burn { mint: share_mint, from: escrow, authority: vault.info.clone() };
    vault.with_signer(|s| token_interface::burn(CpiContext::new_with_signer(token_program.key(), cpi, s), shares))
}
