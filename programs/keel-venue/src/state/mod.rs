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

use fixed::types::I80F48;

/// Stored raw bits -> I80F48.
pub fn fx(raw: i128) -> I80F48 {
    I80F48::from_bits(raw)
}

/// I80F48 -> stored raw bits.
pub fn raw(x: I80F48) -> i128 {
    x.to_bits()
}
