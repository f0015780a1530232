//! The one error type of keel-math: a kind plus the caller's source location.
//!
//! Programs map every [`MathError`] to their own Anchor error code and log `location` so an on-chain failure points
//! at the line that overflowed (the SafeMath pattern of mango-v4/drift/marginfi, via `#[track_caller]`).
use core::fmt;
use core::panic::Location;

/// What went wrong. Each variant names a class of bad input or an arithmetic limit; none is ever a panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MathErrorKind {
    /// A result does not fit the number type (I80F48: |x| < 2^79; u64/u128 amounts).
    Overflow,
    /// Division (or reciprocal) by zero.
    DivisionByZero,
    /// An argument lies outside the function's documented domain (e.g. `ln` of a non-positive number).
    OutOfDomain,
    /// A model parameter is invalid (e.g. negative volatility, SVI with |rho| >= 1).
    InvalidParameter,
    /// A caller-supplied buffer or grid has the wrong shape.
    ShapeMismatch,
}

/// A [`MathErrorKind`] and where in the source it was raised.
#[derive(Clone, Copy, Debug)]
pub struct MathError {
    pub kind: MathErrorKind,
    pub location: &'static Location<'static>,
}

impl MathError {
    /// Creates an error located at the caller of the function that is `#[track_caller]` up the chain.
    #[track_caller]
    #[inline]
    pub fn new(kind: MathErrorKind) -> Self {
        Self { kind, location: Location::caller() }
    }

    /// Human-readable message for logs and client errors.
    pub fn message(&self) -> &'static str {
        match self.kind {
            MathErrorKind::Overflow => "arithmetic overflow: a value exceeded the fixed-point range",
            MathErrorKind::DivisionByZero => "division by zero",
            MathErrorKind::OutOfDomain => "argument outside the function's domain",
            MathErrorKind::InvalidParameter => "invalid model parameter",
            MathErrorKind::ShapeMismatch => "buffer length does not match the scenario grid",
        }
    }
}

/// Errors compare by kind only: the location is diagnostic, not identity.
impl PartialEq for MathError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}
impl Eq for MathError {}

impl PartialEq<MathErrorKind> for MathError {
    fn eq(&self, other: &MathErrorKind) -> bool {
        self.kind == *other
    }
}

impl fmt::Display for MathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:?}) at {}:{}", self.message(), self.kind, self.location.file(), self.location.line())
    }
}

impl std::error::Error for MathError {}

/// Result alias used throughout the crate.
pub type MathResult<T> = Result<T, MathError>;
