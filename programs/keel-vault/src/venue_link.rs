//! The vault's link to keel-venue: the accounts every venue-touching instruction needs, the checks that they are
//! this vault's, the oracle read with the circuit breaker, and the CPIs (signed by the vault PDA as the margin
//! account's owner).
use crate::error::VaultError;
use crate::invoke::{invoke_flagged, CpiAccount};
use crate::portfolio::find_hinted;
use crate::state::{BreakerConfig, Vault, VaultSigner};
use anchor_lang::prelude::*;
use anchor_lang::InstructionData;
use fixed::types::I80F48;
use keel_math::margin::Bound;
use keel_math::SafeMath;
use keel_venue::health::BookReport;
use keel_venue::oracle::{read_price, OraclePrice};
use keel_venue::program::KeelVenue;
use keel_venue::state::{key_is, keys_eq, load_in_place, MarginAccount, Underlying, Venue as VenueState};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use std::mem::size_of;

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

    /// The vault's holdings on the venue valued at each of `bounds`, to price shares (see `venue_values`).
    pub fn values<const N: usize>(
        &self,
        vault: &Vault,
        markets: &'info [AccountInfo<'info>],
        now: i64,
        bounds: [Bound; N],
    ) -> Result<[I80F48; N]> {
        let venue = &*self.venue.load()?;
        crate::portfolio::venue_values(vault, venue, self.margin_account.as_ref(), markets, now, bounds)
    }

    /// The underlying's oracle price (feed id and verification checked) and whether the breaker is tripped.
    pub fn price(&self, breaker: &BreakerConfig) -> Result<(OraclePrice, bool)> {
        let p = self.oracle()?;
        Ok((p, tripped(&p, breaker)?))
    }

    /// The underlying's oracle price (feed id and verification checked).
    pub fn oracle(&self) -> Result<OraclePrice> {
        read_price(&self.price_update, &self.underlying.load()?.config.feed_id)
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

    /// Venue `trade` for the vault's margin account; with `report`, the venue's report of the book after it.
    pub fn trade(
        &self,
        vault: &VaultSigner<'info>,
        market: &AccountInfo<'info>,
        markets: &[AccountInfo<'info>],
        size: i64,
        limit_price: i128,
        report: bool,
    ) -> Result<Option<Box<BookReport>>> {
        let others = self.position_markets(markets, Some(market.key))?;
        let (venue, underlying, price_update) =
            (self.venue.as_ref(), self.underlying.as_ref(), (*self.price_update).as_ref());
        let accounts =
            trade_accounts([&vault.info, venue, self.margin_account.as_ref(), underlying, market, price_update]);
        let data = keel_venue::instruction::Trade { size, limit_price, report }.data();
        vault.with_signer(|signer| invoke_flagged(self.venue_program.key(), &accounts, &others, data, signer))?;
        self.report_if(report)
    }

    /// The venue's report on the vault's margin account when `asked`, from the return data of the venue instruction
    /// just invoked. The runtime resets return data to (callee, nothing) at every invocation, so data the venue set
    /// read right after its CPI is that instruction's; it must be exactly a report, and name this vault's margin
    /// account. Boxed (~0.7 KiB; handlers hold it beside two books) and read straight into its box.
    fn report_if(&self, asked: bool) -> Result<Option<Box<BookReport>>> {
        if !asked {
            return Ok(None);
        }
        let mut report = Box::<BookReport>::new(bytemuck::Zeroable::zeroed());
        let (program, len) = keel_venue::return_data::read(bytemuck::bytes_of_mut(&mut *report));
        require!(key_is(&program, keel_venue::ID) && len == size_of::<BookReport>(), VaultError::VenueAccountMismatch);
        require_venue_key(&report.margin_account, self.margin_account.key)?;
        Ok(Some(report))
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
    /// Venue `deposit_margin` (idle -> margin) or `withdraw_margin` (margin -> idle), signed by the vault PDA; a
    /// withdrawal with `report` returns the venue's report of the book after it (a deposit values nothing and
    /// returns none).
    pub fn margin_flow(
        &self,
        vault: &VaultSigner<'info>,
        c: &Collateral<'info>,
        amount: u64,
        deposit: bool,
        report: bool,
        markets: &[AccountInfo<'info>],
    ) -> Result<Option<Box<BookReport>>> {
        let accounts = margin_flow_accounts([
            &vault.info,
            self.venue.as_ref(),
            self.margin_account.as_ref(),
            &c.mint,
            &c.venue_vault,
            &c.idle,
            &c.token_program,
        ]);
        let others = if deposit { Vec::new() } else { self.position_markets(markets, None)? };
        let program = self.venue_program.key();
        let data = if deposit {
            keel_venue::instruction::DepositMargin { amount }.data()
        } else {
            keel_venue::instruction::WithdrawMargin { amount, report }.data()
        };
        vault.with_signer(|signer| invoke_flagged(program, &accounts, &others, data, signer))?;
        self.report_if(report && !deposit)
    }
}

/// The accounts of venue instructions in their order, flagged as the venue declares them: what Anchor's CPI structs
/// give (`ToAccountMetas`, `ToAccountInfos`), without their cost on SBF: they build each meta and each info through
/// a vector of its own and copy each key byte by byte (~0.45k compute units an account, measured on a trade). The
/// unit tests hold each list to the struct's metas, so a change to the venue's accounts fails them.
macro_rules! venue_accounts {
    ($($(#[$doc:meta])* $name:ident: $($flag:ident $field:ident),+;)+) => {$(
        $(#[$doc])*
        pub(crate) fn $name<'a, 'info>(
            [$($field),+]: [&'a AccountInfo<'info>; venue_accounts!(@count $($field)+)],
        ) -> [CpiAccount<'a, 'info>; venue_accounts!(@count $($field)+)] {
            [$(venue_accounts!(@flag $flag $field)),+]
        }
    )+};
    (@count $($field:ident)+) => { [$(stringify!($field)),+].len() };
    (@flag signer $info:ident) => { CpiAccount::signer($info) };
    (@flag mut $info:ident) => { CpiAccount::writable($info) };
    (@flag read $info:ident) => { CpiAccount::read($info) };
}

venue_accounts! {
    /// `trade`'s accounts.
    trade_accounts: signer owner, mut venue, mut margin_account, read underlying, mut market, read price_update;
    /// `deposit_margin`'s and `withdraw_margin`'s accounts.
    margin_flow_accounts: signer owner, mut venue, mut margin_account, read collateral_mint, mut collateral_vault,
        mut owner_collateral, read token_program;
    /// `deposit_lp`'s and `withdraw_lp`'s accounts.
    lp_flow_accounts: signer owner, mut venue, read collateral_mint, mut collateral_vault, mut lp_mint,
        mut owner_collateral, mut owner_lp, read token_program;
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

#[cfg(test)]
mod tests {
    use super::*;
    use keel_venue::cpi::accounts::{LpFlowAccounts, MarginFlowAccounts, Trade};

    /// Each list against Anchor's struct for the same instruction: the same keys in the same order with the same
    /// flags, metas and infos alike.
    fn same<'info>(ours: &[CpiAccount<'_, 'info>], anchor: &(impl ToAccountMetas + ToAccountInfos<'info>)) {
        let (metas, infos) = (anchor.to_account_metas(None), anchor.to_account_infos());
        assert_eq!(ours.len(), metas.len());
        for ((a, m), i) in ours.iter().zip(&metas).zip(&infos) {
            assert_eq!((*a.info.key, a.signer, a.writable), (m.pubkey, m.is_signer, m.is_writable));
            assert_eq!(a.info.key, i.key);
        }
    }

    #[test]
    fn venue_account_lists_match_anchors_cpi_structs() {
        // Distinct keys, none signing or writable in the transaction: each flag can only come from the lists.
        crate::invoke::with_infos(8, |infos| {
            let i: Vec<&AccountInfo> = infos.iter().collect();
            let c = |n: usize| i[n].clone();
            let trade = Trade {
                owner: c(0),
                venue: c(1),
                margin_account: c(2),
                underlying: c(3),
                market: c(4),
                price_update: c(5),
            };
            same(&trade_accounts([i[0], i[1], i[2], i[3], i[4], i[5]]), &trade);
            let margin = MarginFlowAccounts {
                owner: c(0),
                venue: c(1),
                margin_account: c(2),
                collateral_mint: c(3),
                collateral_vault: c(4),
                owner_collateral: c(5),
                token_program: c(6),
            };
            same(&margin_flow_accounts([i[0], i[1], i[2], i[3], i[4], i[5], i[6]]), &margin);
            let lp = LpFlowAccounts {
                owner: c(0),
                venue: c(1),
                collateral_mint: c(2),
                collateral_vault: c(3),
                lp_mint: c(4),
                owner_collateral: c(5),
                owner_lp: c(6),
                token_program: c(7),
            };
            same(&lp_flow_accounts([i[0], i[1], i[2], i[3], i[4], i[5], i[6], i[7]]), &lp);
        });
    }
}
