//! Vault accounts. Fixed-point values are stored as raw I80F48 bits (`i128`); [`fx`] converts.
pub mod config;
pub mod vault;
pub mod withdrawal;

pub use config::*;
pub use vault::*;
pub use withdrawal::*;

use fixed::types::I80F48;

pub fn fx(raw: i128) -> I80F48 {
    I80F48::from_bits(raw)
}
