use super::VaultConfig;
use anchor_lang::prelude::*;
use keel_venue::state::PodI128;

/// One vault. PDA: ["vault", venue, id (u16 LE)]. It owns its idle collateral account, its share mint, the share
/// escrow of pending withdrawals, and a margin account on the venue.
///
/// Zero-copy: every vault instruction reads it in place instead of deserialising ~2.1 KB (Borsh cost ~20k CU per
/// instruction on SBF). `repr(C)` with fields ordered widest first so there is no padding.
#[account(zero_copy)]
#[derive(Debug, PartialEq, Eq)]
pub struct Vault {
    pub curator: Pubkey,
    pub strategist: Pubkey,
    pub guardian: Pubkey,
    /// keel-venue venue, the underlying whose oracle drives the vault, and the vault's margin account there.
    pub venue: Pubkey,
    pub underlying: Pubkey,
    pub margin_account: Pubkey,
    pub collateral_mint: Pubkey,
    pub token_program: Pubkey,
    /// PDA token accounts: idle collateral ["idle", vault] and escrowed shares ["escrow", vault].
    pub idle: Pubkey,
    pub escrow: Pubkey,
    /// Share mint ["shares", vault], authority = the vault PDA.
    pub share_mint: Pubkey,
    /// The vault's venue LP share account ["lp", vault] and the LP shares it holds by internal accounting.
    pub lp_account: Pubkey,
    pub lp_shares_held: u64,
    /// Idle collateral by internal accounting (donations to the idle account never count).
    pub idle_assets: u64,
    /// Shares outstanding including escrowed ones and fee shares accrued but not yet minted.
    pub total_shares: u64,
    /// Fee shares accrued to the fee recipient, minted on `claim_fees`.
    pub unminted_fee_shares: u64,
    pub pending_withdrawal_shares: u64,
    /// When `pending_config` may be applied (0: nothing queued).
    pub pending_eta: i64,
    /// Incremented by every rebalance/allocate/deleverage: keepers bind their transaction to it.
    pub sequence: u64,
    pub last_rebalance_ts: i64,
    /// Reward budget bookkeeping: the UTC day (unix / 86400) and what was paid in it.
    pub reward_day: i64,
    pub reward_paid_today: u64,
    /// Guardian pause: active while now < paused_until.
    pub paused_until: i64,
    pub last_fee_ts: i64,
    /// High-water mark of NAV per share (I80F48 bits) for the performance fee.
    pub high_water_mark: PodI128,
    pub config: VaultConfig,
    /// Curator change waiting for its timelock (see `pending_eta`).
    pub pending_config: VaultConfig,
    pub id: u16,
    pub bump: u8,
    pub collateral_decimals: u8,
    /// Zeroed space for fields added by later upgrades without a migration (also pads the struct to 8 bytes).
    pub reserved: [u8; 260],
}

impl Vault {
    pub const SEED: &'static [u8] = b"vault";
    pub const IDLE_SEED: &'static [u8] = b"idle";
    pub const ESCROW_SEED: &'static [u8] = b"escrow";
    pub const SHARES_SEED: &'static [u8] = b"shares";
    pub const LP_SEED: &'static [u8] = b"lp";
    /// Account size: discriminator + the struct.
    pub const SPACE: usize = 8 + std::mem::size_of::<Vault>();
    /// Share virtual offset (10^3 shares per collateral unit at launch).
    pub const SHARE_MATH: keel_math::ShareMath = keel_math::ShareMath::DEFAULT;
    pub const SHARE_EXTRA_DECIMALS: u8 = 3;

    /// The share mint's decimals (set when it was created: the collateral's plus the virtual-share digits).
    pub fn share_decimals(&self) -> u8 {
        self.collateral_decimals.saturating_add(Self::SHARE_EXTRA_DECIMALS)
    }

    pub fn is_paused(&self, now: i64) -> bool {
        now < self.paused_until
    }

    /// The vault PDA's signing identity, copied out so no borrow of the account is held across a CPI.
    pub fn signer<'info>(&self, info: AccountInfo<'info>) -> VaultSigner<'info> {
        VaultSigner { info, venue: self.venue, id: self.id.to_le_bytes(), bump: [self.bump] }
    }
}

/// The vault PDA as a CPI authority: its account and its seeds.
pub struct VaultSigner<'info> {
    pub info: AccountInfo<'info>,
    venue: Pubkey,
    id: [u8; 2],
    bump: [u8; 1],
}

impl<'info> VaultSigner<'info> {
    /// Runs `f` with the vault PDA's signer seeds.
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let seeds: [&[u8]; 4] = [Vault::SEED, self.venue.as_ref(), &self.id, &self.bump];
        f(&[&seeds])
    }
}
