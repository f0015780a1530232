//! Token movements of the vault: collateral in to the idle account, out of it (vault PDA signs), share minting,
//! share escrow and burning. All collateral transfers use `transfer_checked`.
use crate::state::VaultSigner;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Burn, Mint, MintTo, TokenInterface, TransferChecked};

pub fn transfer_signed_by_user<'info>(
    token_program: &Interface<'info, TokenInterface>,
    mint: &InterfaceAccount<'info, Mint>,
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from, mint: mint.to_account_info(), to, authority };
    token_interface::transfer_checked(CpiContext::new(token_program.key(), cpi), amount, mint.decimals)
}

pub fn transfer_signed_by_vault<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    mint: &InterfaceAccount<'info, Mint>,
    from: AccountInfo<'info>,
    to: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from, mint: mint.to_account_info(), to, authority: vault.info.clone() };
    vault.with_signer(|s| {
        token_interface::transfer_checked(
            CpiContext::new_with_signer(token_program.key(), cpi, s),
            amount,
            mint.decimals,
        )
    })
}

pub fn mint_shares<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: &InterfaceAccount<'info, Mint>,
    to: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let cpi = MintTo { mint: share_mint.to_account_info(), to, authority: vault.info.clone() };
    vault.with_signer(|s| token_interface::mint_to(CpiContext::new_with_signer(token_program.key(), cpi, s), shares))
}

pub fn burn_escrowed<'info>(
    vault: &VaultSigner<'info>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: &InterfaceAccount<'info, Mint>,
    escrow: AccountInfo<'info>,
    shares: u64,
) -> Result<()> {
    let cpi = Burn { mint: share_mint.to_account_info(), from: escrow, authority: vault.info.clone() };
    vault.with_signer(|s| token_interface::burn(CpiContext::new_with_signer(token_program.key(), cpi, s), shares))
}
