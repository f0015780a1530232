//! Venue accounts. Fixed-point values are stored as raw I80F48 bits (`i128`) so accounts stay borsh-plain;
//! [`fx`] / [`raw`] convert at the edges.
/// Implements `AnchorDeserialize` for a struct field by field (the derive's wire format: fields in declaration
/// order) in a function that is never inlined, so its Borsh temporaries get their own stack frame. Used for the
/// big nested structs whose derived deserialiser, inlined into their account's, pushed that past SBF's 4 KiB.
#[macro_export]
macro_rules! deserialize_in_own_frame {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        impl anchor_lang::AnchorDeserialize for $ty {
            #[inline(never)]
            fn deserialize_reader<R: std::io::Read>(r: &mut R) -> std::io::Result<Self> {
                Ok(Self { $($field: anchor_lang::AnchorDeserialize::deserialize_reader(r)?),+ })
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
