//! The vault's CPIs, built for its costs on SBF: each callee instruction's accounts as a flagged list, metas written
//! in place, and only writable accounts checked for open borrows. Used for every venue instruction (a book's many
//! markets ride along) and for the vault-signed token transfers.
use anchor_lang::prelude::*;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};

/// One account of a callee's instruction, with its flags there.
#[derive(Clone, Copy)]
pub(crate) struct CpiAccount<'a, 'info> {
    pub(crate) info: &'a AccountInfo<'info>,
    pub(crate) signer: bool,
    pub(crate) writable: bool,
}

impl<'a, 'info> CpiAccount<'a, 'info> {
    pub(crate) fn signer(info: &'a AccountInfo<'info>) -> Self {
        CpiAccount { info, signer: true, writable: false }
    }

    pub(crate) fn writable(info: &'a AccountInfo<'info>) -> Self {
        CpiAccount { info, signer: false, writable: true }
    }

    pub(crate) fn read(info: &'a AccountInfo<'info>) -> Self {
        CpiAccount { info, signer: false, writable: false }
    }
}

/// Invokes `program_id`'s instruction `data` with `accounts` (its own, in its order) followed by `extra` (for a venue
/// instruction, the markets it values the margin account with, flagged as they came in), signed with `seeds`. What
/// Anchor's generated CPI does, built for a book's many markets:
/// - metas and infos are built side by side in vectors sized once, each info cloned once and each meta written
///   with [`push_meta`];
/// - the SDK's `invoke_signed` first checks every account is borrowable by searching all the infos for each meta
///   (one 32-byte comparison per pair: quadratic in a book's markets, and ~0.2k units a comparison on SBF). Here metas
///   and infos are paired by construction, and only writable accounts are checked, as mutably borrowable: the runtime
///   writes back only what the callee may write, so an open borrow elsewhere in the vault cannot be changed under it;
///   a read-only account (every market but a traded one) cannot change in the callee.
///
/// The runtime verifies the accounts, their privileges and the signatures.
pub(crate) fn invoke_flagged<'info>(
    program_id: Pubkey,
    accounts: &[CpiAccount<'_, 'info>],
    extra: &[&AccountInfo<'info>],
    data: Vec<u8>,
    seeds: &[&[&[u8]]],
) -> Result<()> {
    use anchor_lang::solana_program::program::invoke_signed_unchecked;
    let n = accounts.len() + extra.len();
    let (mut metas, mut infos) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for a in accounts {
        push_meta(&mut metas, a.info.key, a.signer, a.writable);
        infos.push(a.info.clone());
    }
    for info in extra {
        push_meta(&mut metas, info.key, info.is_signer, info.is_writable);
        infos.push((*info).clone());
    }
    let ix = Instruction { program_id, accounts: metas, data };
    for (_, info) in ix.accounts.iter().zip(&infos).filter(|(m, _)| m.is_writable) {
        drop((info.try_borrow_mut_lamports()?, info.try_borrow_mut_data()?));
    }
    invoke_signed_unchecked(&ix, &infos, seeds).map_err(Into::into)
}

/// `metas.push(AccountMeta { pubkey: *key, is_signer, is_writable })`, the key copied by the runtime's memory
/// syscall. A meta is a 34-byte record aligned to one byte, so the compiler copies a key into it byte by byte through
/// the stack (~0.2k compute units a meta on SBF, measured in a 16-market trade); the syscall costs ~10 and a call.
pub(crate) fn push_meta(metas: &mut Vec<AccountMeta>, key: &Pubkey, is_signer: bool, is_writable: bool) {
    use anchor_lang::solana_program::program_memory::sol_memmove;
    metas.reserve(1);
    let slot = metas.spare_capacity_mut()[0].as_mut_ptr();
    // SAFETY: `slot` is the first element past the vector's length, within its capacity (reserved above); its three
    // fields are written (the key's 32 bytes from a distinct live key) before the length grows to cover it.
    unsafe {
        sol_memmove(std::ptr::addr_of_mut!((*slot).pubkey).cast::<u8>(), key.as_ref().as_ptr(), 32);
        std::ptr::addr_of_mut!((*slot).is_signer).write(is_signer);
        std::ptr::addr_of_mut!((*slot).is_writable).write(is_writable);
        metas.set_len(metas.len() + 1);
    }
}

/// Test scaffolding: `f` over `n` account infos with distinct keys, no lamports or data, none signing or writable in
/// the transaction (so any flag a CPI list shows can only come from the list).
#[cfg(test)]
pub(crate) fn with_infos<R>(n: usize, f: impl FnOnce(&[AccountInfo]) -> R) -> R {
    let keys: Vec<Pubkey> = (0..n).map(|_| Pubkey::new_unique()).collect();
    let (mut lamports, mut data) = (vec![0u64; n], vec![Vec::<u8>::new(); n]);
    let owner = Pubkey::default();
    let infos: Vec<AccountInfo> = keys
        .iter()
        .zip(lamports.iter_mut())
        .zip(data.iter_mut())
        .map(|((k, l), d)| AccountInfo::new(k, false, false, l, d, &owner, false))
        .collect();
    f(&infos)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A meta written in place is the meta `AccountMeta` builds, after metas already there and with no room left.
    #[test]
    fn push_meta_writes_the_meta() {
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut metas = vec![AccountMeta::new(a, true)];
        metas.shrink_to_fit();
        push_meta(&mut metas, &b, false, true);
        push_meta(&mut metas, &a, true, false);
        assert_eq!(
            metas,
            vec![AccountMeta::new(a, true), AccountMeta::new(b, false), AccountMeta::new_readonly(a, true)]
        );
    }
}
