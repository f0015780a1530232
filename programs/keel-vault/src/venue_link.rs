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
use keel_venue::state::{load_in_place, MarginAccount, Underlying, Venue as VenueState};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;

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
        require_keys_eq!(self.venue.key(), vault.venue, VaultError::VenueAccountMismatch);
        require_keys_eq!(self.underlying.key(), vault.underlying, VaultError::VenueAccountMismatch);
        require_keys_eq!(self.margin_account.key(), vault.margin_account, VaultError::VenueAccountMismatch);
        Ok(())
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
    pub fn position_markets(
        &self,
        markets: &[AccountInfo<'info>],
        except: Option<&Pubkey>,
    ) -> Result<Vec<AccountInfo<'info>>> {
        let acct = load_in_place::<MarginAccount>(&self.margin_account)?;
        let mut out = Vec::with_capacity(keel_venue::state::MAX_POSITIONS);
        for (i, p) in acct.positions.iter().filter(|p| p.is_open()).enumerate() {
            if Some(&p.market) != except {
                out.push(find_hinted(markets, &p.market, i)?.clone());
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
        vault.with_signer(|signer| {
            let ctx =
                CpiContext::new_with_signer(self.venue_program.key(), accounts, signer).with_remaining_accounts(others);
            invoke_venue(ctx, data)
        })
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
        vault.with_signer(|signer| {
            let ctx = CpiContext::new_with_signer(program, accounts, signer).with_remaining_accounts(others);
            invoke_venue(ctx, data)
        })
    }
}

/// Invokes the venue instruction `data` with the accounts of `ctx`, signed as `ctx` says. What Anchor's generated
/// CPI does, less a quadratic loop: the SDK's `invoke_signed` first checks that each account is borrowable as its
/// meta needs by searching all the infos for each meta, one 32-byte comparison (a syscall on SBF) per pair, and a
/// book's markets make the accounts many (~4k compute units per venue CPI at 16 positions). The metas and the infos
/// both come from `ctx`, in the same order, so the same check pairs them directly; any other shape takes the SDK's
/// path. The runtime verifies the accounts and signatures either way.
fn invoke_venue<'info, T: ToAccountMetas + ToAccountInfos<'info>>(
    ctx: CpiContext<'_, '_, '_, 'info, T>,
    data: Vec<u8>,
) -> Result<()> {
    use anchor_lang::solana_program::instruction::Instruction;
    use anchor_lang::solana_program::program::{invoke_signed, invoke_signed_unchecked};
    let (accounts, infos) = (ctx.to_account_metas(None), ctx.to_account_infos());
    let ix = Instruction { program_id: ctx.program_id, accounts, data };
    let paired = ix.accounts.len() == infos.len() && ix.accounts.iter().zip(&infos).all(|(m, i)| m.pubkey == *i.key);
    if !paired {
        return invoke_signed(&ix, &infos, ctx.signer_seeds).map_err(Into::into);
    }
    for (meta, info) in ix.accounts.iter().zip(&infos) {
        if meta.is_writable {
            drop((info.try_borrow_mut_lamports()?, info.try_borrow_mut_data()?));
        } else {
            drop((info.try_borrow_lamports()?, info.try_borrow_data()?));
        }
    }
    invoke_signed_unchecked(&ix, &infos, ctx.signer_seeds).map_err(Into::into)
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
