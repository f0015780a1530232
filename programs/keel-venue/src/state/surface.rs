use anchor_lang::prelude::*;
use keel_math::SviRaw;

/// Raw SVI parameters for one underlying and expiry, posted by the vol authority.
/// PDA: ["surface", underlying, expiry (i64 LE)].
#[account]
#[derive(InitSpace)]
pub struct VolSurface {
    pub bump: u8,
    pub underlying: Pubkey,
    /// Expiry, unix seconds.
    pub expiry: i64,
    /// a, b, rho, m, sigma as raw I80F48 bits.
    pub params: [i128; 5],
    pub posted_ts: i64,
    pub posted_slot: u64,
}

impl VolSurface {
    pub const SEED: &'static [u8] = b"surface";

    pub fn svi(&self) -> SviRaw {
        let f = super::fx;
        SviRaw {
            a: f(self.params[0]),
            b: f(self.params[1]),
            rho: f(self.params[2]),
            m: f(self.params[3]),
            sigma: f(self.params[4]),
        }
    }
}
