//! Fixture builder for keel-venue: PDAs, instruction builders and a ready venue with one underlying.
use crate::{create_mint, now, send_with, set_pyth_price, PythPrice};
use anchor_lang::prelude::Pubkey;
use keel_venue::state::{MarginConfig, UnderlyingConfig};
use solana_program_test::ProgramTestContext;
use solana_sdk::{instruction::Instruction, signature::Keypair, signer::Signer};

pub use crate::bits;
pub use keel_client::venue::*;

pub const FEED: [u8; 32] = [7u8; 32];

pub fn default_underlying_params() -> UnderlyingConfig {
    keel_client::presets::underlying_config(FEED)
}

pub fn default_margin_config() -> MarginConfig {
    keel_client::presets::margin_config()
}

/// create_venue with [`default_margin_config`].
pub fn create_venue_ix(
    admin: &Pubkey,
    mint: &Pubkey,
    token_program: &Pubkey,
    id: u16,
    guardian: Pubkey,
    vol_authority: Pubkey,
) -> Instruction {
    keel_client::venue::create_venue_ix(
        admin,
        mint,
        token_program,
        id,
        guardian,
        vol_authority,
        default_margin_config(),
    )
}

/// A venue on a fresh 6-decimal mint with separate guardian and vol-authority keys.
#[derive(Debug)]
pub struct VenueFixture {
    pub mint: Pubkey,
    pub venue: Pubkey,
    pub guardian: Keypair,
    pub vol_authority: Keypair,
    pub oracle: Pubkey,
}

impl VenueFixture {
    /// Creates the mint and the venue (admin = context payer) and a valid oracle account for [`FEED`].
    pub async fn new(ctx: &mut ProgramTestContext, token_program: Pubkey) -> Self {
        let mint = create_mint(ctx, token_program, 6).await;
        let (guardian, vol_authority) = (Keypair::new(), Keypair::new());
        let admin = ctx.payer.pubkey();
        let ix = create_venue_ix(&admin, &mint, &token_program, 0, guardian.pubkey(), vol_authority.pubkey());
        send_with(ctx, &[ix], &[]).await.expect("create venue");
        let oracle = Pubkey::new_unique();
        let t = now(ctx).await;
        set_pyth_price(ctx, oracle, PythPrice::new(FEED, 150.0, t));
        Self { mint, venue: venue_pda(&mint, 0), guardian, vol_authority, oracle }
    }

    /// Adds underlying #0 with the default parameters.
    pub async fn with_underlying(self, ctx: &mut ProgramTestContext) -> Self {
        let admin = ctx.payer.pubkey();
        let ix = add_underlying_ix(&admin, &self.venue, 0, &self.oracle, default_underlying_params());
        send_with(ctx, &[ix], &[]).await.expect("add underlying");
        self
    }

    pub fn underlying(&self) -> Pubkey {
        underlying_pda(&self.venue, 0)
    }
}

impl Clone for VenueFixture {
    /// Test keys are cloned so several fixtures (e.g. vaults) can share one venue.
    fn clone(&self) -> Self {
        Self {
            mint: self.mint,
            venue: self.venue,
            guardian: self.guardian.insecure_clone(),
            vol_authority: self.vol_authority.insecure_clone(),
            oracle: self.oracle,
        }
    }
}
