//! Venue accounts. Fixed-point values are stored as raw I80F48 bits (`i128`) so accounts stay borsh-plain;
//! [`fx`] / [`raw`] convert at the edges.
/// Defines a struct (attributes, derives and docs as written) and implements `AnchorDeserialize` for it field by
/// field, in the derive's wire format (fields in declaration order, taken from the definition itself), in a function
/// that is never inlined: its Borsh temporaries get their own stack frame. For the big nested structs whose derived
/// deserialiser, inlined into their account's, pushed that past SBF's 4 KiB. Derive `AnchorSerialize` as usual.
/// Field types are single token trees (`u64`, `Pubkey`, `[i128; N]`): a `ty` fragment would be opaque to `InitSpace`.
#[macro_export]
macro_rules! deserialize_in_own_frame {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident { $( $(#[$fmeta:meta])* $fvis:vis $field:ident : $fty:tt ),+ $(,)? }
    ) => {
        $(#[$meta])*
        $vis struct $name { $( $(#[$fmeta])* $fvis $field: $fty ),+ }

        impl anchor_lang::AnchorDeserialize for $name {
            #[inline(never)]
            fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
                Ok(Self { $( $field: anchor_lang::AnchorDeserialize::deserialize_reader(r)? ),+ })
            }
        }
    };
}

pub mod margin;
pub mod market;
pub mod surface;
pub mod underlying;
pub mod venue;

pub use margin::*;
pub use market::*;
pub use surface::*;
pub use underlying::*;
pub use venue::*;

use anchor_lang::prelude::*;
use fixed::types::I80F48;

/// Stored raw bits -> I80F48.
pub fn fx(raw: i128) -> I80F48 {
    I80F48::from_bits(raw)
}

/// I80F48 -> stored raw bits.
pub fn raw(x: I80F48) -> i128 {
    x.to_bits()
}

/// An i128 (I80F48 raw bits) stored as its 16 little-endian bytes: the same bytes as Borsh's i128, but with
/// alignment 8. Zero-copy accounts need it because SBF account data is only 8-byte aligned while i128 is 16-byte
/// aligned (on the host and on this SBF target), so a plain i128 field could not be read in place. Alignment 8,
/// not 1: the BPF backend may not load misaligned words, so at alignment 1 every read and write was sixteen byte
/// loads or stores and their shifts; at 8 it is two word loads. Every field that holds one sits at a multiple of 8
/// (the Pod derive rejects padding; the bps fields of `MarginConfig` and `OracleLimits` are u32 for it).
#[derive(
    AnchorSerialize,
    AnchorDeserialize,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    bytemuck::Pod,
    bytemuck::Zeroable,
    InitSpace,
)]
#[repr(C, align(8))]
pub struct PodI128 {
    pub le_bytes: [u8; 16],
}

impl PodI128 {
    pub const ZERO: Self = Self { le_bytes: [0; 16] };

    pub const fn new(raw: i128) -> Self {
        Self { le_bytes: raw.to_le_bytes() }
    }

    pub const fn get(self) -> i128 {
        i128::from_le_bytes(self.le_bytes)
    }

    /// As I80F48.
    pub const fn fx(self) -> I80F48 {
        I80F48::from_bits(self.get())
    }
}

impl From<i128> for PodI128 {
    fn from(raw: i128) -> Self {
        Self::new(raw)
    }
}

impl From<I80F48> for PodI128 {
    fn from(x: I80F48) -> Self {
        Self::new(x.to_bits())
    }
}

impl std::fmt::Debug for PodI128 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.get())
    }
}

/// A key as four 64-bit words, when it lies 8-byte aligned (an account's key in the runtime's input, and every key
/// stored in this program's zero-copy accounts, do).
#[inline(always)]
fn key_words(k: &Pubkey) -> Option<&[u64; 4]> {
    bytemuck::try_from_bytes::<[u64; 4]>(k.as_ref()).ok()
}

/// `a == b`, compared by 64-bit words where both keys are 8-byte aligned. `==` is a 32-byte `memcmp` whose inline
/// path reads each word unaligned, i.e. byte by byte on SBF: ~200 compute units per comparison measured here, and a
/// book's validation makes several per position (its market among the remaining accounts, the owner, the venue, the
/// open slots). Any other alignment takes [`keys_eq_unaligned`].
#[inline(always)]
pub fn keys_eq(a: &Pubkey, b: &Pubkey) -> bool {
    match (key_words(a), key_words(b)) {
        (Some(x), Some(y)) => ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0,
        _ => keys_eq_unaligned(a, b),
    }
}

/// `a == b` for keys that are not both 8-byte aligned (a key inside a byte-aligned record, such as an `AccountMeta`):
/// on SBF the runtime's `sol_memcmp_` syscall (10 units and a call) instead of the inline byte-by-byte loop; `==`
/// elsewhere. The programs' hot paths now compare aligned keys only (account infos, zero-copy accounts); the vault's
/// CPIs, which compared their metas here, build them paired by construction (keel-vault `venue_link`).
#[inline(never)]
pub fn keys_eq_unaligned(a: &Pubkey, b: &Pubkey) -> bool {
    #[cfg(target_os = "solana")]
    {
        // SAFETY: both slices are 32 bytes long, the length compared.
        unsafe { anchor_lang::solana_program::program_memory::sol_memcmp(a.as_ref(), b.as_ref(), 32) == 0 }
    }
    #[cfg(not(target_os = "solana"))]
    {
        a == b
    }
}

/// `a == known`, by words as [`keys_eq`], for a key known at compile time (a program id): its words are constants.
#[inline(always)]
pub fn key_is(a: &Pubkey, known: Pubkey) -> bool {
    let y: [u64; 4] = bytemuck::cast(known.to_bytes());
    match key_words(a) {
        Some(x) => ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0,
        None => *a == known,
    }
}

/// Whether `k` is the all-zero key (an empty slot), by words as [`keys_eq`].
#[inline(always)]
pub fn key_is_zero(k: &Pubkey) -> bool {
    match key_words(k) {
        Some(w) => (w[0] | w[1] | w[2] | w[3]) == 0,
        None => *k == Pubkey::default(),
    }
}

/// A zero-copy account of this program read in place: owner, discriminator and length checked, then borrowed, not
/// copied. Reading a remaining account by copying it (its `AccountDeserialize`) is not free on SBF, where the
/// compiler's memcpy is software: a margin account copied twice (onto the stack, then the heap) cost ~1.7k
/// compute units, a market ~1k. The borrow ends when the `Ref` drops; hold none across a CPI that passes the account.
pub fn load_in_place<'a, T: anchor_lang::ZeroCopy + anchor_lang::Owner>(
    info: &'a AccountInfo,
) -> Result<std::cell::Ref<'a, T>> {
    require!(key_is(info.owner, T::owner()), ErrorCode::AccountOwnedByWrongProgram);
    let data = info.try_borrow_data()?;
    let (disc, size) = (T::DISCRIMINATOR, std::mem::size_of::<T>());
    require!(data.len() >= disc.len(), ErrorCode::AccountDiscriminatorNotFound);
    require!(discriminator_is(&data, disc), ErrorCode::AccountDiscriminatorMismatch);
    require!(data.len() >= disc.len() + size, ErrorCode::AccountDidNotDeserialize);
    Ok(std::cell::Ref::map(data, |d| bytemuck::from_bytes(&d[disc.len()..disc.len() + size])))
}

/// Whether `data` starts with `disc`: an 8-byte discriminator at an 8-aligned start (an account's data in the
/// runtime's input is) is one word compare; a slice `==` is a `memcmp` call, and a book's validation reads ~30
/// accounts in place. `data` is at least as long as `disc` (checked before).
#[inline(always)]
fn discriminator_is(data: &[u8], disc: &[u8]) -> bool {
    match (disc.len() == 8, data.get(..8).map(bytemuck::try_from_bytes::<u64>)) {
        (true, Some(Ok(word))) => disc.try_into().is_ok_and(|d: [u8; 8]| *word == u64::from_ne_bytes(d)),
        _ => data.get(..disc.len()) == Some(disc),
    }
}

/// A Pod value filled with distinct bytes, so that a field written in the wrong place or order shows (tests of the
/// claim that a zero-copy part's stored bytes are its Borsh encoding).
#[cfg(test)]
pub(crate) fn patterned<T: bytemuck::Pod>() -> T {
    let mut v: T = bytemuck::Zeroable::zeroed();
    for (i, b) in bytemuck::bytes_of_mut(&mut v).iter_mut().enumerate() {
        *b = u8::try_from(i % 251).unwrap();
    }
    v
}

#[cfg(test)]
mod key_tests {
    use super::*;

    /// Keys placed 8-byte aligned (compared by words) and off alignment (by `keys_eq_unaligned`, which is `==` off
    /// SBF: this test covers the dispatch; its `sol_memcmp_` path runs only in SBF builds) agree with `==` when equal
    /// and when they differ in any one byte; the zero key and a program id likewise.
    #[test]
    fn keys_compare_by_words_as_by_bytes() {
        let (mut left, mut right) = ([0u64; 6], [0u64; 6]);
        let key: [u8; 32] = std::array::from_fn(|i| u8::try_from(i * 7 + 1).unwrap());
        for (lo, ro) in [(0, 0), (8, 16), (1, 0), (0, 3), (5, 13)] {
            bytemuck::bytes_of_mut(&mut left)[lo..lo + 32].copy_from_slice(&key);
            bytemuck::bytes_of_mut(&mut right)[ro..ro + 32].copy_from_slice(&key);
            let a: &Pubkey = bytemuck::from_bytes(&bytemuck::bytes_of(&left)[lo..lo + 32]);
            assert_eq!(key_words(a).is_some(), lo % 8 == 0);
            for i in 0..=32 {
                let mut r = right;
                if i < 32 {
                    bytemuck::bytes_of_mut(&mut r)[ro + i] ^= 0x80;
                }
                let b: &Pubkey = bytemuck::from_bytes(&bytemuck::bytes_of(&r)[ro..ro + 32]);
                assert_eq!(keys_eq(a, b), a == b, "offsets {lo}/{ro}, byte {i}");
                assert_eq!(keys_eq(a, b), i == 32);
                assert_eq!(key_is(b, *a), i == 32);
            }
            assert!(!key_is_zero(a));
            let zero = [0u64; 6];
            let z: &Pubkey = bytemuck::from_bytes(&bytemuck::bytes_of(&zero)[lo..lo + 32]);
            assert!(key_is_zero(z) && *z == Pubkey::default());
            assert!(key_is(&crate::ID, crate::ID) && !key_is(a, crate::ID));
        }
    }

    /// A discriminator at an aligned start (compared as one word) and off alignment (compared as bytes) matches
    /// exactly when the bytes are equal: equal, and differing in each of its bytes; a short or longer `disc` too.
    #[test]
    fn discriminators_compare_by_word_as_by_bytes() {
        let disc: [u8; 8] = std::array::from_fn(|i| u8::try_from(i * 31 + 3).unwrap());
        for offset in [0, 8, 1, 3] {
            for changed in 0..=8 {
                let mut buf = [0u64; 4];
                let bytes = &mut bytemuck::bytes_of_mut(&mut buf)[offset..offset + 16];
                bytes[..8].copy_from_slice(&disc);
                if changed < 8 {
                    bytes[changed] ^= 0x40;
                }
                let data = &bytemuck::bytes_of(&buf)[offset..offset + 16];
                assert_eq!(discriminator_is(data, &disc), changed == 8, "offset {offset}, byte {changed}");
                assert_eq!(discriminator_is(data, &disc[..4]), changed >= 4, "offset {offset}, 4 bytes");
                assert!(discriminator_is(data, &data[..12]), "offset {offset}, 12 bytes");
            }
        }
    }
}
