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
    // `cargo run`/`cargo test` set CARGO_MANIFEST_DIR at run time; it beats the compile-time path, which is stale
    // when a shared target cache holds a binary built from another checkout.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into());
    PathBuf::from(manifest).join("../../shared/data")
}

/// Errors from loading data files, with the file named.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: malformed row {row}: {message}")]
    Malformed { path: String, row: usize, message: String },
}

/// Reads every row of a CSV file with a header into `T`; a row that does not parse is an error naming the file
/// and the row (never skipped).
pub(crate) fn read_csv<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<Vec<T>, DataError> {
    let p = path.display().to_string();
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| DataError::Io { path: p.clone(), source: std::io::Error::other(e.to_string()) })?;
    rdr.deserialize::<T>()
        .enumerate()
        .map(|(i, row)| row.map_err(|e| DataError::Malformed { path: p.clone(), row: i + 2, message: e.to_string() }))
        .collect()
}
