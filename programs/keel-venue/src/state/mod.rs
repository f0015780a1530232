//! Venue accounts. Fixed-point values are stored as raw I80F48 bits (`i128`) so accounts stay borsh-plain;
//! [`fx`] / [`raw`] convert at the edges.
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
