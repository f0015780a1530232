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
            self.margin_account.as_ref(),
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
        let (venue, underlying, price_update) =
            (self.venue.as_ref(), self.underlying.as_ref(), (*self.price_update).as_ref());
        let accounts =
            trade_accounts([&vault.info, venue, self.margin_account.as_ref(), underlying, market, price_update]);
        let data = keel_venue::instruction::Trade { size, limit_price }.data();
        vault.with_signer(|signer| invoke_venue(self.venue_program.key(), &accounts, &others, data, signer))
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
            keel_venue::instruction::WithdrawMargin { amount }.data()
        };
        vault.with_signer(|signer| invoke_venue(program, &accounts, &others, data, signer))
    }
}

/// One account of a venue instruction, with its flags there.
#[derive(Clone, Copy)]
pub(crate) struct CpiAccount<'a, 'info> {
    info: &'a AccountInfo<'info>,
    signer: bool,
    writable: bool,
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
    (@flag signer $info:ident) => { CpiAccount { info: $info, signer: true, writable: false } };
    (@flag mut $info:ident) => { CpiAccount { info: $info, signer: false, writable: true } };
    (@flag read $info:ident) => { CpiAccount { info: $info, signer: false, writable: false } };
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

/// Invokes the venue instruction `data` with `accounts` (its own, from the lists above) followed by `extra` (the
/// markets the venue values the margin account with, flagged as they came in), signed with `seeds`. What Anchor's
/// generated CPI does, built for a book's many markets:
/// - metas and infos are built side by side in vectors sized once, each info cloned once and each meta written
///   with [`push_meta`];
/// - the SDK's `invoke_signed` first checks every account is borrowable by searching all the infos for each meta
///   (one 32-byte comparison per pair: quadratic in a book's markets). Here metas and infos are paired by
///   construction, and only writable accounts are checked, as mutably borrowable: the runtime writes back only what
///   the callee may write, so an open borrow elsewhere in the vault cannot be changed under it; a read-only account
///   (every market but a traded one) cannot change in the callee.
///
/// The runtime verifies the accounts, their privileges and the signatures.
pub(crate) fn invoke_venue<'info>(
    program_id: Pubkey,
    accounts: &[CpiAccount<'_, 'info>],
    extra: &[&AccountInfo<'info>],
    data: Vec<u8>,
    seeds: &[&[&[u8]]],
) -> Result<()> {
    use anchor_lang::solana_program::instruction::Instruction;
    use anchor_lang::solana_program::program::invoke_signed_unchecked;
    let n = accounts.len() + extra.len();
    let (mut metas, mut infos) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for a in accounts {
        push_meta(&mut metas, a.info.key, a.signer, a.writable);
        infos.push(a.info.clone());
    }
    for info in extra {
        push_meta(&mut metas, info.key, info.is_signer, info.is_writable);
        infos.push((*info).clone());
    }
    let ix = Instruction { program_id, accounts: metas, data };
    for (_, info) in ix.accounts.iter().zip(&infos).filter(|(m, _)| m.is_writable) {
        drop((info.try_borrow_mut_lamports()?, info.try_borrow_mut_data()?));
    }
    invoke_signed_unchecked(&ix, &infos, seeds).map_err(Into::into)
}

/// `metas.push(AccountMeta { pubkey: *key, is_signer, is_writable })`, the key copied by the runtime's memory
/// syscall. A meta is a 34-byte record aligned to one byte, so the compiler copies a key into it byte by byte through
/// the stack (~0.2k compute units a meta on SBF, measured in a 16-market trade); the syscall costs ~10 and a call.
pub(crate) fn push_meta(
    metas: &mut Vec<anchor_lang::solana_program::instruction::AccountMeta>,
    key: &Pubkey,
    is_signer: bool,
    is_writable: bool,
) {
    use anchor_lang::solana_program::program_memory::sol_memmove;
    metas.reserve(1);
    let slot = metas.spare_capacity_mut()[0].as_mut_ptr();
    // SAFETY: `slot` is the first element past the vector's length, within its capacity (reserved above); its three
    // fields are written (the key's 32 bytes from a distinct live key) before the length grows to cover it.
    unsafe {
        sol_memmove(std::ptr::addr_of_mut!((*slot).pubkey).cast::<u8>(), key.as_ref().as_ptr(), 32);
        std::ptr::addr_of_mut!((*slot).is_signer).write(is_signer);
        std::ptr::addr_of_mut!((*slot).is_writable).write(is_writable);
        metas.set_len(metas.len() + 1);
    }
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

    /// Distinct keys with storage for `n` account infos; none signs or is writable in the transaction, so each flag
    /// below can only come from the lists.
    fn accounts(n: usize) -> (Vec<Pubkey>, Vec<u64>, Vec<Vec<u8>>) {
        ((0..n).map(|_| Pubkey::new_unique()).collect(), vec![0; n], vec![Vec::new(); n])
    }

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
        let (keys, mut lamports, mut data) = accounts(8);
        let owner = Pubkey::default();
        let infos: Vec<AccountInfo> = keys
            .iter()
            .zip(lamports.iter_mut())
            .zip(data.iter_mut())
            .map(|((k, l), d)| AccountInfo::new(k, false, false, l, d, &owner, false))
            .collect();
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
    }

    /// A meta written in place is the meta `AccountMeta` builds, after metas already there and with no room left.
    #[test]
    fn push_meta_writes_the_meta() {
        use anchor_lang::solana_program::instruction::AccountMeta;
        let (a, b) = (Pubkey::new_unique(), Pubkey::new_unique());
        let mut metas = vec![AccountMeta::new(a, true)];
        metas.shrink_to_fit();
        push_meta(&mut metas, &b, false, true);
        push_meta(&mut metas, &a, true, false);
        assert_eq!(
            metas,
            vec![AccountMeta::new(a, true), AccountMeta::new(b, false), AccountMeta::new_readonly(a, true)]
        );
    }
}
