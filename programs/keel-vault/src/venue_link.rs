//! The vault's link to keel-venue: the accounts every venue-touching instruction needs, the checks that they are
//! this vault's, the oracle read with the circuit breaker, and the CPIs (signed by the vault PDA as the margin
//! account's owner).
use crate::error::VaultError;
use crate::portfolio::find_hinted;
use crate::state::{BreakerConfig, Vault, VaultSigner};
use anchor_lang::prelude::*;
use anchor_lang::InstructionData;
use fixed::types::I80F48;
use keel_math::SafeMath;
use keel_venue::oracle::{read_price, OraclePrice};
use keel_venue::program::KeelVenue;
use keel_venue::state::{keys_eq, load_in_place, MarginAccount, Underlying, Venue as VenueState};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

/// `require_keys_eq!(actual, expected, VenueAccountMismatch)` compared by words ([`keys_eq`]; a 32-byte `==` is a
/// ~0.2k-unit byte-by-byte `memcmp` on SBF), logging both keys on a mismatch as Anchor's macro does.
pub fn require_venue_key(actual: &Pubkey, expected: &Pubkey) -> Result<()> {
    if keys_eq(actual, expected) {
        return Ok(());
    }
    msg!("Left: {}", actual);
    msg!("Right: {}", expected);
    err!(VaultError::VenueAccountMismatch)
}

#[derive(Accounts)]
pub struct VenueLink<'info> {
    pub venue_program: Program<'info, KeelVenue>,
    #[account(mut)]
    pub venue: AccountLoader<'info, VenueState>,
    /// CHECK: must be the vault's margin account (`check`); owner and layout are verified where it is read.
    #[account(mut)]
    pub margin_account: UncheckedAccount<'info>,
    pub underlying: AccountLoader<'info, Underlying>,
    pub price_update: Box<Account<'info, PriceUpdateV2>>,
}

impl<'info> VenueLink<'info> {
    /// The venue, underlying and margin account are the ones recorded in the vault.
    pub fn check(&self, vault: &Vault) -> Result<()> {
        require_venue_key(AsRef::<AccountInfo>::as_ref(&self.venue).key, &vault.venue)?;
        require_venue_key(AsRef::<AccountInfo>::as_ref(&self.underlying).key, &vault.underlying)?;
        require_venue_key(self.margin_account.key, &vault.margin_account)
    }

    /// The vault's holdings on the venue, read to price shares (the LP stake's value alone; see `Holdings::load`).
    pub fn holdings(
        &self,
        vault: &Vault,
        markets: &'info [AccountInfo<'info>],
        now: i64,
    ) -> Result<crate::portfolio::Holdings> {
        let venue = &*self.venue.load()?;
        crate::portfolio::Holdings::load(
            vault,
            venue,
            &self.margin_account,
            markets,
            now,
            crate::portfolio::LpRead::Value,
        )
    }

    /// The underlying's oracle price (feed id and verification checked) and whether the breaker is tripped.
    pub fn price(&self, breaker: &BreakerConfig) -> Result<(OraclePrice, bool)> {
        let p = read_price(&self.price_update, &self.underlying.load()?.config.feed_id)?;
        Ok((p, tripped(&p, breaker)?))
    }

    /// Markets of the margin account's open positions in slot order, except `except`, from `markets`.
    pub fn position_markets<'a>(
        &self,
        markets: &'a [AccountInfo<'info>],
        except: Option<&Pubkey>,
    ) -> Result<Vec<&'a AccountInfo<'info>>> {
        let acct = load_in_place::<MarginAccount>(&self.margin_account)?;
        let mut out = Vec::with_capacity(keel_venue::state::MAX_POSITIONS);
        for (i, p) in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
            if !except.is_some_and(|e| keys_eq(e, &p.market)) {
                out.push(find_hinted(markets, &p.market, i)?);
            }
        }
        Ok(out)
    }

    /// Venue `trade` for the vault's margin account.
    pub fn trade(
        &self,
        vault: &VaultSigner<'info>,
        market: &AccountInfo<'info>,
        markets: &[AccountInfo<'info>],
        size: i64,
        limit_price: i128,
    ) -> Result<()> {
        let others = self.position_markets(markets, Some(market.key))?;
        let accounts = keel_venue::cpi::accounts::Trade {
            owner: vault.info.clone(),
            venue: self.venue.to_account_info(),
            margin_account: self.margin_account.to_account_info(),
            underlying: self.underlying.to_account_info(),
            market: market.clone(),
            price_update: self.price_update.to_account_info(),
        };
        let data = keel_venue::instruction::Trade { size, limit_price }.data();
        vault.with_signer(|signer| invoke_venue(self.venue_program.key(), accounts, &others, data, signer))
    }
}

/// The token accounts a margin flow between the vault's idle account and the venue moves through.
pub struct Collateral<'info> {
    pub mint: AccountInfo<'info>,
    pub venue_vault: AccountInfo<'info>,
    pub idle: AccountInfo<'info>,
    pub token_program: AccountInfo<'info>,
}

impl<'info> VenueLink<'info> {
    /// Venue `deposit_margin` (idle -> margin) or `withdraw_margin` (margin -> idle), signed by the vault PDA.
    pub fn margin_flow(
        &self,
        vault: &VaultSigner<'info>,
        c: &Collateral<'info>,
        amount: u64,
        deposit: bool,
        markets: &[AccountInfo<'info>],
    ) -> Result<()> {
        let accounts = keel_venue::cpi::accounts::MarginFlowAccounts {
            owner: vault.info.clone(),
            venue: self.venue.to_account_info(),
            margin_account: self.margin_account.to_account_info(),
            collateral_mint: c.mint.clone(),
            collateral_vault: c.venue_vault.clone(),
            owner_collateral: c.idle.clone(),
            token_program: c.token_program.clone(),
        };
        let others = if deposit { Vec::new() } else { self.position_markets(markets, None)? };
        let program = self.venue_program.key();
        let data = if deposit {
            keel_venue::instruction::DepositMargin { amount }.data()
        } else {
            keel_venue::instruction::WithdrawMargin { amount }.data()
        };
        vault.with_signer(|signer| invoke_venue(program, accounts, &others, data, signer))
    }
}

/// Invokes the venue instruction `data` with `accounts` (Anchor's CPI struct) followed by `extra` (the markets the
/// venue values the margin account with, flagged as they came in), signed with `seeds`. What Anchor's generated CPI
/// does, built for a book's many markets:
/// - metas and infos are built side by side with room for the markets, each market's info cloned once;
/// - the SDK's `invoke_signed` first checks every account is borrowable by searching all the infos for each meta
///   (one 32-byte comparison per pair: quadratic in a book's markets). Here the struct's own metas and infos are
///   paired directly (any other shape takes the SDK's path) and the markets are paired by construction;
/// - only writable accounts are checked, as mutably borrowable: the runtime writes back only what the callee may
///   write, so an open borrow elsewhere in the vault cannot be changed under it; a read-only account (every market
///   but a traded one) cannot change in the callee.
///
/// The runtime verifies the accounts and signatures either way.
pub(crate) fn invoke_venue<'info, T: ToAccountMetas + ToAccountInfos<'info>>(
    program_id: Pubkey,
    accounts: T,
    extra: &[&AccountInfo<'info>],
    data: Vec<u8>,
    seeds: &[&[&[u8]]],
) -> Result<()> {
    use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
    use anchor_lang::solana_program::program::{invoke_signed, invoke_signed_unchecked};
    let (mut metas, mut infos) = (accounts.to_account_metas(None), accounts.to_account_infos());
    let paired = metas.len() == infos.len() && metas.iter().zip(&infos).all(|(m, i)| keys_eq(&m.pubkey, i.key));
    metas.reserve_exact(extra.len());
    infos.reserve_exact(extra.len());
    for info in extra {
        metas.push(AccountMeta { pubkey: *info.key, is_signer: info.is_signer, is_writable: info.is_writable });
        infos.push((*info).clone());
    }
    let ix = Instruction { program_id, accounts: metas, data };
    if !paired {
        return invoke_signed(&ix, &infos, seeds).map_err(Into::into);
    }
    for (meta, info) in ix.accounts.iter().zip(&infos).filter(|(m, _)| m.is_writable) {
        debug_assert_eq!(meta.pubkey, *info.key);
        drop((info.try_borrow_mut_lamports()?, info.try_borrow_mut_data()?));
    }
    invoke_signed_unchecked(&ix, &infos, seeds).map_err(Into::into)
}

/// Price beyond its EMA by more than the limit net of confidence, or confidence beyond its limit.
pub fn tripped(p: &OraclePrice, b: &BreakerConfig) -> Result<bool> {
    let m = |e: keel_math::MathError| error!(VaultError::from(e));
    let bps = I80F48::from_num(10_000);
    let conf_out = p.conf.safe_mul(bps).map_err(m)? > p.price.safe_mul(I80F48::from_num(b.max_conf_bps)).map_err(m)?;
    let dev = p.price.safe_sub(p.ema).map_err(m)?.saturating_abs().safe_sub(p.conf).map_err(m)?.max(I80F48::ZERO);
    let dev_out = dev.safe_mul(bps).map_err(m)? > p.ema.safe_mul(I80F48::from_num(b.max_ema_dev_bps)).map_err(m)?;
    Ok(conf_out || dev_out || p.price <= I80F48::ZERO)
}
