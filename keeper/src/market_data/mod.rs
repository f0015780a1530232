//! Market data loaders. Real data is never bundled: callers pass a path (`--data`), and tests find the workplace's
//! shared data through [`shared_data_dir`].
pub mod deribit;
pub mod prices;

use std::path::PathBuf;

/// `$KEEL_DATA_DIR` if set, else `../shared/data` beside the repository (the layout CI provides).
pub fn shared_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KEEL_DATA_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
}

/// Errors from loading data files, with the file named.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: malformed row {row}: {message}")]
    Malformed { path: String, row: usize, message: String },
}
