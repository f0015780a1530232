//! Return data that behaves natively as it does on SBF, set and read without intermediate copies.
//!
//! On SBF these are the runtime's syscalls. Natively (solana-program-test and the keeper's embedded bank run the
//! programs as host code) Anchor 1.2.2's `set_return_data` and `get_return_data` are `solana_cpi`'s, which do nothing
//! off-chain, while the harness installs its syscall stubs in `solana_sysvar::program_stubs`, backed by the bank's
//! transaction context: these route there, so native runs (the paper-trading bank, the native test tier) see the same
//! return data as SBF runs.
//!
//! Why not Anchor's helpers on SBF either: `get_return_data` reads into a zeroed 1 KiB stack buffer and copies it into
//! a vector, and a handler's Anchor return value is Borsh-encoded into a growing vector; byte copies are software
//! loops on this codegen (~2k compute units for a 0.7 KiB book report each way). A Pod value's bytes go straight
//! from the callee's memory to the caller's here.
use anchor_lang::prelude::*;

/// Sets this instruction's return data (at most 1,024 bytes).
pub fn set(data: &[u8]) {
    #[cfg(target_os = "solana")]
    anchor_lang::solana_program::program::set_return_data(data);
    #[cfg(not(target_os = "solana"))]
    anchor_lang::compat::solana_sysvar::program_stubs::sol_set_return_data(data);
}

/// `value`, also set as the instruction's return data in native runs: for handlers whose Anchor return value the
/// generated code sets on SBF only.
pub fn natively<T: AnchorSerialize>(value: T) -> T {
    #[cfg(not(target_os = "solana"))]
    {
        let mut data = Vec::new();
        // Serialising into a vector cannot fail.
        if value.serialize(&mut data).is_ok() {
            set(&data);
        }
    }
    value
}

/// Reads the return data of the last instruction invoked in this transaction into `buf` (its first `buf.len()`
/// bytes) and returns the program that set it with the data's full length. The runtime resets the return data to
/// (callee, nothing) at every invocation, so right after a CPI this is the callee's, or nothing.
pub fn read(buf: &mut [u8]) -> (Pubkey, usize) {
    #[cfg(target_os = "solana")]
    {
        let mut program = Pubkey::default();
        // SAFETY: the syscall writes at most `buf.len()` bytes into `buf` and 32 bytes into `program`, both valid
        // for writes of those lengths.
        let len = unsafe {
            solana_define_syscall::definitions::sol_get_return_data(
                buf.as_mut_ptr(),
                u64::try_from(buf.len()).unwrap_or(u64::MAX),
                std::ptr::addr_of_mut!(program).cast::<u8>(),
            )
        };
        (program, usize::try_from(len).unwrap_or(usize::MAX))
    }
    #[cfg(not(target_os = "solana"))]
    {
        let (program, data) =
            anchor_lang::compat::solana_sysvar::program_stubs::sol_get_return_data().unwrap_or_default();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        (program, data.len())
    }
}
