//! The operator's configuration: a TOML file, overridden by environment variables and command-line flags (the
//! `run` command merges them). Unknown keys are refused and every range check names the key to fix, so a typo
//! cannot silently fall back to a default.
use crate::execution::ExecutionConfig;
use crate::strategist::StrategySpec;
use crate::strategy::Policy;
use crate::strategy::{Predictive, StaticBand, WhalleyWilmott};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeeperConfig {
    /// JSON-RPC endpoint (env KEEL_RPC_URL, flag --rpc-url).
    pub rpc_url: String,
    /// WebSocket endpoint for account subscriptions (default: derived from rpc_url).
    #[serde(default)]
    pub ws_url: Option<String>,
    /// Solana CLI keypair file of the keeper: pays fees and receives rewards (env KEEL_KEYPAIR, flag --keypair).
    pub keypair: PathBuf,
    /// The deployment file `keel-keeper deploy` wrote (program ids, venue, markets, oracles, vaults).
    pub deployment: PathBuf,
    /// Address of the /metrics, /health and /ready endpoint; "" disables it.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Longest wait between cycles when no oracle update arrives (seconds).
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// Plan and simulate every rebalance but send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// While this file exists the kill switch is engaged: nothing is sent (SIGUSR1 engages it too).
    #[serde(default = "default_kill_file")]
    pub kill_switch_file: PathBuf,
    /// Consecutive failed cycles (errors, refusals the prediction missed) that engage the kill switch.
    #[serde(default = "default_max_failures")]
    pub max_consecutive_failures: u32,
    /// A planned rebalance waits a uniformly random 0..jitter_secs before simulation and send, so triggers are
    /// not predictable to the slot. The plan is re-derived after the wait.
    #[serde(default)]
    pub jitter_secs: f64,
    #[serde(default)]
    pub execution: ExecutionConfig,
    #[serde(default)]
    pub alerts: AlertConfig,
    /// The vaults this keeper serves (at least one), by index in the deployment.
    pub vaults: Vec<VaultEntry>,
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    /// POST a JSON alert here as well as logging it (e.g. a Slack or PagerDuty webhook).
    #[serde(default)]
    pub webhook: Option<String>,
    /// Alert when a vault's venue health (equity / maintenance) falls below this.
    #[serde(default = "default_health_warning")]
    pub health_warning: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        Self { webhook: None, health_warning: default_health_warning() }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct VaultEntry {
    /// The vault's index in the deployment file.
    pub index: u16,
    /// The perp market (deployment index) the keeper hedges delta with.
    #[serde(default)]
    pub perp_market: u32,
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Limit price tolerance around the oracle price (bps).
    #[serde(default = "default_slippage")]
    pub slippage_bps: f64,
    /// Base + priority fee per transaction in quote units (the policies weigh it against the trade).
    #[serde(default = "default_tx_fee")]
    pub tx_fee: f64,
    /// Age of the oracle price when the decision is made (seconds).
    #[serde(default = "default_latency")]
    pub oracle_latency_secs: f64,
    /// The strategist's loop for this vault (omit it to only rebalance).
    #[serde(default)]
    pub strategy: Option<StrategyConfig>,
}

/// `[vaults.strategy]`: short strangles hedged in the perp, rolled before expiry, margin at a target health
/// (docs/keeper.md, "The strategist's loop"). Defaults are `StrategySpec::default()`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// The vault's strategist keypair (Solana CLI file): the vault refuses `allocate` from any other key.
    pub strategist_keypair: PathBuf,
    #[serde(default = "d_target_delta")]
    pub target_delta: f64,
    #[serde(default = "d_tenor")]
    pub tenor_days: f64,
    #[serde(default = "d_notional")]
    pub notional_fraction: f64,
    #[serde(default = "d_roll")]
    pub roll_hours: f64,
    #[serde(default = "d_target_health")]
    pub target_health: f64,
    #[serde(default = "d_max_health")]
    pub max_health: f64,
    /// Idle kept above the mandate's floor (fraction of NAV), the rest in the venue's LP pool; absent: no LP.
    #[serde(default)]
    pub lp_idle_buffer: Option<f64>,
    /// EWMA decay of the volatility forecast that sets the strikes, per oracle observation (0.99 ~ hourly).
    #[serde(default = "d_lambda")]
    pub ewma_lambda: f64,
}

fn d_target_delta() -> f64 {
    StrategySpec::default().target_delta
}
fn d_tenor() -> f64 {
    StrategySpec::default().tenor_days
}
fn d_notional() -> f64 {
    StrategySpec::default().notional_fraction
}
fn d_roll() -> f64 {
    StrategySpec::default().roll_hours
}
fn d_target_health() -> f64 {
    StrategySpec::default().target_health
}
fn d_max_health() -> f64 {
    StrategySpec::default().max_health
}
fn d_lambda() -> f64 {
    0.99
}

impl StrategyConfig {
    /// The strategist's parameters; limit prices use the vault entry's `slippage_bps`.
    pub fn spec(&self, slippage_bps: f64) -> StrategySpec {
        StrategySpec {
            target_delta: self.target_delta,
            tenor_days: self.tenor_days,
            notional_fraction: self.notional_fraction,
            roll_hours: self.roll_hours,
            target_health: self.target_health,
            max_health: self.max_health,
            slippage_bps,
            lp_idle_buffer: self.lp_idle_buffer,
        }
    }
}

/// The rebalance policy (strategy::policy); the same code the backtester runs.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PolicyConfig {
    Static { half_width: f64 },
    WhalleyWilmott { risk_aversion: f64, min_band: f64 },
    Predictive { risk_aversion: f64, min_band: f64 },
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig::Static { half_width: 5.0 }
    }
}

impl PolicyConfig {
    pub fn build(&self) -> Box<dyn Policy + Send> {
        match *self {
            PolicyConfig::Static { half_width } => Box::new(StaticBand { half_width }),
            PolicyConfig::WhalleyWilmott { risk_aversion, min_band } => {
                Box::new(WhalleyWilmott { risk_aversion, min_band })
            }
            PolicyConfig::Predictive { risk_aversion, min_band } => {
                Box::new(Predictive::hourly(WhalleyWilmott { risk_aversion, min_band }))
            }
        }
    }
}

fn default_listen() -> String {
    "127.0.0.1:9464".into()
}
fn default_poll() -> u64 {
    10
}
fn default_kill_file() -> PathBuf {
    "keel-keeper.stop".into()
}
fn default_max_failures() -> u32 {
    5
}
fn default_health_warning() -> f64 {
    1.5
}
fn default_slippage() -> f64 {
    100.0
}
fn default_tx_fee() -> f64 {
    0.001
}
fn default_latency() -> f64 {
    0.4
}

/// `~/x` is `$HOME/x`, as a shell would expand it (config files are not shell-expanded).
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_path_buf(),
    }
}

/// A Solana CLI keypair file (`~` expanded); the error names the flag or key and how to make one.
pub fn read_keypair(path: &Path, what: &str) -> anyhow::Result<solana_sdk::signature::Keypair> {
    let path = expand_home(path);
    solana_sdk::signer::keypair::read_keypair_file(&path).map_err(|e| {
        anyhow::anyhow!(
            "{what} {}: {e} (a Solana CLI keypair file: a JSON array of 64 bytes; create one with solana-keygen new -o <file>)",
            path.display()
        )
    })
}

impl KeeperConfig {
    pub fn parse(text: &str) -> Result<Self, String> {
        let cfg: KeeperConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Range checks, each naming its key.
    pub fn validate(&self) -> Result<(), String> {
        self.execution.validate()?;
        if self.vaults.is_empty() {
            return Err("vaults: list at least one [[vaults]] entry (index = <vault index in the deployment>)".into());
        }
        let mut seen = std::collections::BTreeSet::new();
        for v in &self.vaults {
            let at = format!("vaults (index {})", v.index);
            if !seen.insert(v.index) {
                return Err(format!("{at}: listed twice"));
            }
            if !(v.slippage_bps > 0.0 && v.slippage_bps <= 1_000.0) {
                return Err(format!("{at}: slippage_bps = {} must be within (0, 1000]", v.slippage_bps));
            }
            if !(v.tx_fee >= 0.0 && v.tx_fee.is_finite() && (0.0..=60.0).contains(&v.oracle_latency_secs)) {
                return Err(format!("{at}: tx_fee must be >= 0 and oracle_latency_secs within 0..=60"));
            }
            let ok = match v.policy {
                PolicyConfig::Static { half_width } => half_width > 0.0 && half_width.is_finite(),
                PolicyConfig::WhalleyWilmott { risk_aversion, min_band }
                | PolicyConfig::Predictive { risk_aversion, min_band } => {
                    risk_aversion > 0.0 && risk_aversion.is_finite() && min_band > 0.0 && min_band.is_finite()
                }
            };
            if !ok {
                return Err(format!("{at}: policy parameters must be positive and finite: {:?}", v.policy));
            }
            if let Some(st) = &v.strategy {
                st.spec(v.slippage_bps).validate().map_err(|e| format!("{at}: strategy.{e}"))?;
                if !(st.ewma_lambda > 0.0 && st.ewma_lambda < 1.0) {
                    return Err(format!("{at}: strategy.ewma_lambda = {} must be within (0, 1)", st.ewma_lambda));
                }
            }
        }
        if self.poll_secs == 0 || self.poll_secs > 3_600 {
            return Err(format!("poll_secs = {} must be within 1..=3600", self.poll_secs));
        }
        if self.max_consecutive_failures == 0 {
            return Err("max_consecutive_failures must be at least 1".into());
        }
        if !(0.0..=60.0).contains(&self.jitter_secs) {
            return Err(format!("jitter_secs = {} must be within 0..=60", self.jitter_secs));
        }
        if !(self.alerts.health_warning >= 1.0 && self.alerts.health_warning.is_finite()) {
            return Err(format!(
                "alerts.health_warning = {} must be >= 1 (1 = maintenance)",
                self.alerts.health_warning
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
rpc_url = "http://127.0.0.1:8899"
keypair = "~/.config/solana/id.json"
deployment = "keel-deployment.json"
[[vaults]]
index = 0
"#;

    #[test]
    fn a_minimal_config_takes_the_documented_defaults() {
        let cfg = KeeperConfig::parse(MINIMAL).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9464");
        assert_eq!((cfg.poll_secs, cfg.max_consecutive_failures, cfg.dry_run), (10, 5, false));
        assert_eq!(cfg.vaults[0].policy, PolicyConfig::Static { half_width: 5.0 });
        assert_eq!(cfg.execution, ExecutionConfig::default());
        assert_eq!(cfg.alerts.health_warning, 1.5);
    }

    #[test]
    fn policies_parse_by_kind() {
        let text = format!("{MINIMAL}policy = {{ kind = \"whalley-wilmott\", risk_aversion = 1.0, min_band = 2.0 }}\n");
        let cfg = KeeperConfig::parse(&text).unwrap();
        assert_eq!(cfg.vaults[0].policy, PolicyConfig::WhalleyWilmott { risk_aversion: 1.0, min_band: 2.0 });
        assert_eq!(cfg.vaults[0].policy.build().name(), "whalley-wilmott");
        let text = format!("{MINIMAL}policy = {{ kind = \"predictive\", risk_aversion = 1.0, min_band = 2.0 }}\n");
        assert_eq!(KeeperConfig::parse(&text).unwrap().vaults[0].policy.build().name(), "predictive");
    }

    #[test]
    fn mistakes_are_refused_naming_the_key() {
        let typo = MINIMAL.replace("deployment", "deploymnet");
        assert!(KeeperConfig::parse(&typo).unwrap_err().contains("deploymnet"));
        let none = MINIMAL.replace("[[vaults]]\nindex = 0\n", "vaults = []\n");
        assert!(KeeperConfig::parse(&none).unwrap_err().contains("at least one"));
        let twice = format!("{MINIMAL}[[vaults]]\nindex = 0\n");
        assert!(KeeperConfig::parse(&twice).unwrap_err().contains("listed twice"));
        let band = format!("{MINIMAL}policy = {{ kind = \"static\", half_width = -1.0 }}\n");
        assert!(KeeperConfig::parse(&band).unwrap_err().contains("positive"));
        let kind = format!("{MINIMAL}policy = {{ kind = \"magic\" }}\n");
        assert!(KeeperConfig::parse(&kind).unwrap_err().contains("magic"));
        let exec = format!("poll_secs = 0\n{MINIMAL}");
        assert!(KeeperConfig::parse(&exec).unwrap_err().contains("poll_secs"));
        let pct = MINIMAL.replace("[[vaults]]", "[execution]\npriority_percentile = 101.0\n[[vaults]]");
        assert!(KeeperConfig::parse(&pct).unwrap_err().contains("priority_percentile"));
        let roll = format!("{MINIMAL}[vaults.strategy]\nstrategist_keypair = \"s.json\"\nroll_hours = 200.0\n");
        assert!(KeeperConfig::parse(&roll).unwrap_err().contains("strategy.roll_hours"), "{roll}");
        let typo = format!("{MINIMAL}[vaults.strategy]\nstrategist_keypair = \"s.json\"\ntarget_detla = 0.2\n");
        assert!(KeeperConfig::parse(&typo).unwrap_err().contains("target_detla"));
        let lp = format!("{MINIMAL}[vaults.strategy]\nstrategist_keypair = \"s.json\"\nlp_idle_buffer = 1.5\n");
        assert!(KeeperConfig::parse(&lp).unwrap_err().contains("strategy.lp_idle_buffer"), "{lp}");
    }

    #[test]
    fn a_strategy_section_takes_the_documented_defaults() {
        let text =
            format!("{MINIMAL}[vaults.strategy]\nstrategist_keypair = \"~/strategist.json\"\ntenor_days = 14.0\n");
        let cfg = KeeperConfig::parse(&text).unwrap();
        let st = cfg.vaults[0].strategy.as_ref().expect("strategy");
        let spec = st.spec(100.0);
        assert_eq!(spec, StrategySpec { tenor_days: 14.0, slippage_bps: 100.0, ..StrategySpec::default() });
        assert_eq!(st.ewma_lambda, 0.99);
        let lp = format!("{MINIMAL}[vaults.strategy]\nstrategist_keypair = \"s.json\"\nlp_idle_buffer = 0.1\n");
        let cfg = KeeperConfig::parse(&lp).unwrap();
        assert_eq!(cfg.vaults[0].strategy.as_ref().unwrap().spec(100.0).lp_idle_buffer, Some(0.1));
    }

    #[test]
    fn home_is_expanded_in_paths() {
        let home = std::env::var("HOME").unwrap();
        assert_eq!(expand_home(Path::new("~/.config/x.json")), PathBuf::from(home).join(".config/x.json"));
        assert_eq!(expand_home(Path::new("/abs/x.json")), PathBuf::from("/abs/x.json"));
    }
}
