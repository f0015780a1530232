//! keel-vault's one error enum. Every variant carries a message a client can show as is.
use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum VaultError {
    #[msg("vault configuration is invalid: positive limits, benefit ratio >= 1, at least one allowed market, positive caps, pause and timelock; management fee <= 500 bps, performance fee <= 5000 bps")]
    InvalidConfig,
    #[msg("signer is not the vault curator")]
    UnauthorizedCurator,
    #[msg("signer is not the vault strategist")]
    UnauthorizedStrategist,
    #[msg("signer is not the vault guardian")]
    UnauthorizedGuardian,
    #[msg("the vault is paused by its guardian until the pause expires")]
    VaultPaused,
    #[msg("circuit breaker: the oracle is too far from its EMA or too uncertain; only risk-reducing actions and withdrawals run")]
    CircuitBreakerTripped,
    #[msg("the guardian paused too recently (cooldown) or asked for longer than the maximum pause")]
    PauseNotAllowed,
    #[msg("amount must be greater than zero")]
    InvalidAmount,
    #[msg("deposit is below the vault's minimum")]
    DepositTooSmall,
    #[msg("the vault or your per-user cap is full: the room left is below the minimum deposit")]
    DepositCapReached,
    #[msg("the amount converts to zero shares or zero collateral at the current NAV")]
    RoundsToZero,
    #[msg("not enough shares in the given account")]
    InsufficientShares,
    #[msg("the withdrawal delay has not passed yet")]
    WithdrawalNotReady,
    #[msg("not enough idle collateral to pay this claim: the strategist or a keeper must free collateral from the venue first")]
    InsufficientIdle,
    #[msg("the vault's NAV is not positive: deposits and withdrawals are suspended until it recovers")]
    NonPositiveNav,
    #[msg("this market is not one the vault may trade: not this venue's, or its index is not in the allowed mask")]
    MarketNotAllowed,
    #[msg("remaining accounts must include the market of every open venue position and every traded market")]
    MissingMarketAccount,
    #[msg("the venue margin account, venue or underlying does not belong to this vault")]
    VenueAccountMismatch,
    #[msg("mandate: delta is outside its band")]
    DeltaOutOfBand,
    #[msg("mandate: |gamma| above its limit")]
    GammaLimit,
    #[msg("mandate: |vega| above its limit")]
    VegaLimit,
    #[msg("mandate: worst scenario loss above its share of NAV")]
    VarLimit,
    #[msg("mandate: venue health (equity / maintenance) below its minimum")]
    HealthBelowMinimum,
    #[msg("mandate: gross leverage above its limit")]
    LeverageLimit,
    #[msg("mandate: idle collateral below its minimum share of NAV")]
    IdleBelowMinimum,
    #[msg("stale sequence: another rebalance landed first; re-read the vault and price again")]
    StaleSequence,
    #[msg("the oracle moved beyond the allowed confidence multiple since the keeper priced")]
    OracleMovedSincePricing,
    #[msg("the keeper's pricing slot is too old or in the future")]
    PricingTooOld,
    #[msg("the mandate is not breached and the minimum rebalance interval has not passed")]
    RebalanceTooSoon,
    #[msg("the rebalance does not reduce the breach measure (and delta is not brought back into its band)")]
    NotRiskReducing,
    #[msg("the rebalance makes one mandate limit worse")]
    LimitWorsened,
    #[msg("the risk removed is not worth the rebalance's cost by the required margin")]
    RiskNotWorthCost,
    #[msg("deleverage needs venue health below the mandate's minimum")]
    NotUnderwater,
    #[msg("deleverage may only reduce positions")]
    NotReduceOnly,
    #[msg("no configuration change is queued")]
    NoPendingChange,
    #[msg("the queued change's timelock has not expired")]
    TimelockNotExpired,
    #[msg("arithmetic overflow in fixed-point maths")]
    MathOverflow,
    #[msg("a withdrawal request of yours is already pending: claim it (after its delay) before asking again")]
    WithdrawalAlreadyPending,
}

impl From<keel_math::MathError> for VaultError {
    fn from(e: keel_math::MathError) -> Self {
        msg!("math error: {}", e);
        VaultError::MathOverflow
    }
}
