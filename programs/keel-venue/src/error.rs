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
    #[msg("oracle limits must be positive: max age, max confidence, max EMA deviation and surface max age > 0")]
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
    #[msg("market terms are invalid: options need strike > 0 and a future expiry; perps need strike = expiry = 0; fee and half-spread at most 1000 bps; a positive OI cap")]
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
}

/// Maps keel-math errors to the venue's, logging where in keel-math the failure happened.
impl From<keel_math::MathError> for VenueError {
    fn from(e: keel_math::MathError) -> Self {
        msg!("math error: {}", e);
        VenueError::MathOverflow
    }
}
