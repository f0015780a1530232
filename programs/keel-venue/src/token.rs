//! The two token movements every flow uses: collateral into the venue's vault (signed by the payer) and out of it
//! (signed by the venue PDA). Both use `transfer_checked`, so the token program verifies the mint and decimals.
use crate::state::VenueSigner;
use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Mint, TokenInterface, TransferChecked};

/// Moves `amount` from `from` (owned by `authority`, who signed) into the venue's vault.
pub fn pull_in<'info>(
    token_program: &Interface<'info, TokenInterface>,
    mint: &InterfaceAccount<'info, Mint>,
    from: AccountInfo<'info>,
    vault: AccountInfo<'info>,
    authority: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from, mint: mint.to_account_info(), to: vault, authority };
    token_interface::transfer_checked(CpiContext::new(token_program.key(), cpi), amount, mint.decimals)
}

/// Pays `amount` from the venue's vault to `to`, signed by the venue PDA (`venue` is its account; no borrow of it
/// may be open here).
pub fn pay_out<'info>(
    venue: AccountInfo<'info>,
    signer: &VenueSigner,
    token_program: &Interface<'info, TokenInterface>,
    mint: &InterfaceAccount<'info, Mint>,
    vault: AccountInfo<'info>,
    to: AccountInfo<'info>,
    amount: u64,
) -> Result<()> {
    let cpi = TransferChecked { from: vault, mint: mint.to_account_info(), to, authority: venue };
    signer.with_signer(|signer| {
        token_interface::transfer_checked(
            CpiContext::new_with_signer(token_program.key(), cpi, signer),
            amount,
            mint.decimals,
        )
    })
}
