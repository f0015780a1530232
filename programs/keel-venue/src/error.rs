//! keel-venue's one error enum. Every variant carries a message a client can show as is.
use anchor_lang::prelude::*;

#[error_code]
#[derive(PartialEq, Eq)]
pub enum VenueError {
    #[msg("signer is not the venue admin")]
    UnauthorizedAdmin,
    #[msg("signer is not the venue's vol authority")]
    UnauthorizedVolAuthority,
    #[msg("signer is not the venue guardian")]
    UnauthorizedGuardian,
    #[msg("this operation is paused by the guardian")]
    OperationPaused,
    #[msg("oracle limits must be positive: max age, max confidence, max EMA deviation, surface and cache max age, cache max move and settlement window > 0")]
    InvalidOracleLimits,
    #[msg("risk parameters are invalid: spot and vol ranges must be in (0, 1) and the confidence multiplier >= 0")]
    InvalidRiskGrid,
    #[msg("oracle account does not hold the feed configured for this underlying")]
    WrongOracleFeed,
    #[msg("oracle price update is not fully verified")]
    OracleNotFullyVerified,
    #[msg("oracle price is older than the underlying's max age")]
    OracleStale,
    #[msg("oracle confidence interval is too wide relative to the price")]
    OracleTooUncertain,
    #[msg("oracle price deviates from its EMA by more than allowed (net of confidence)")]
    OracleTooVolatile,
    #[msg("oracle price is zero or negative")]
    OracleNonPositive,
    #[msg("SVI parameters are invalid: need b >= 0, |rho| < 1, sigma > 0 and non-negative minimum variance")]
    InvalidSurface,
    #[msg("SVI parameters admit butterfly arbitrage on the venue's strike grid")]
    SurfaceArbitrage,
    #[msg("surface expiry must be in the future")]
    SurfaceExpired,
    #[msg("arithmetic overflow in fixed-point maths")]
    MathOverflow,
    #[msg("market terms are invalid: options need strike > 0 and a future expiry; perps need strike = expiry = 0; fee and half-spread at most 1000 bps; a positive OI cap; funding cap at most 1000 bps/day for perps and 0 for options")]
    InvalidMarketParams,
    #[msg("the surface account does not belong to this market's underlying and expiry")]
    SurfaceMismatch,
    #[msg("an option market needs its vol surface account")]
    SurfaceRequired,
    #[msg("the vol surface is older than the underlying's surface max age: the vol authority must post a fresh one")]
    SurfaceStale,
    #[msg("the market has expired: it can only be settled")]
    MarketExpired,
    #[msg("amount must be greater than zero")]
    InvalidAmount,
    #[msg("not enough LP shares in the given account")]
    InsufficientShares,
    #[msg("the amount converts to zero shares or zero collateral at the current pool price")]
    RoundsToZero,
    #[msg("pause flags contain bits that name no operation (see state::op)")]
    InvalidPauseFlags,
    #[msg("margin parameters are invalid: need IM multiplier >= 1, MM fraction in (0, 1], short-option minimum in [0, 1), liquidation fee <= 1000 bps, max close in 1..=10000 bps")]
    InvalidMarginParams,
    #[msg("a market's risk cache is too old or spot has moved too far since it was computed: call refresh_market first in the same transaction (settle_market if the option has expired)")]
    RiskCacheStale,
    #[msg("execution price is worse than the limit price")]
    LimitPriceViolated,
    #[msg("equity after this action would be below initial margin")]
    InsufficientMargin,
    #[msg("withdrawal exceeds the margin account's realised collateral")]
    InsufficientCollateral,
    #[msg("the trade would take open interest beyond the market's cap")]
    OpenInterestCap,
    #[msg("the margin account has no free position slot (16 markets at most): close a position first")]
    TooManyPositions,
    #[msg("remaining accounts must be the markets of the account's other open positions in slot order (LP flows: every venue market in index order)")]
    MarketAccountsMismatch,
    #[msg("signer is not the margin account's owner")]
    UnauthorizedOwner,
    #[msg("the margin account has no position in this market")]
    PositionNotFound,
    #[msg("account equity is at or above maintenance margin: not liquidatable")]
    NotLiquidatable,
    #[msg("this liquidation would not reduce the account's maintenance shortfall")]
    LiquidationNotImproving,
    #[msg("only option markets expire and settle")]
    NotAnOption,
    #[msg("the option has not expired yet")]
    SettleTooEarly,
    #[msg("the oracle price was not published within the settlement window after expiry")]
    SettlementPriceOutsideWindow,
    #[msg("the market is already settled")]
    AlreadySettled,
    #[msg("the market has expired and must be settled first (settle_market)")]
    MarketNotSettled,
    #[msg("the pool cannot cover this: its assets would go negative (LP capital exhausted)")]
    PoolInsolvent,
    #[msg("the pool's free collateral cannot cover this withdrawal; try a smaller amount later")]
    InsufficientPoolLiquidity,
}

/// Maps keel-math errors to the venue's, logging where in keel-math the failure happened.
impl From<keel_math::MathError> for VenueError {
    fn from(e: keel_math::MathError) -> Self {
        msg!("math error: {}", e);
        VenueError::MathOverflow
    }
}
