//! Operating the keeper for real: configuration, the multi-vault runner with its kill switch and alerts, the
//! metrics/health endpoint and the `run` command that ties them to a cluster.
pub mod alerts;
pub mod config;
pub mod metrics;
pub mod run;
pub mod runner;
pub mod serve;
