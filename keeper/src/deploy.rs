//! `keel-keeper deploy`: applies a migrations spec (migrations/specs/*.toml) to a cluster over JSON-RPC with the
//! keeper's Rpc chain, so every transaction is simulated, budgeted, bid and confirmed (docs/deploy.md).
//!
//! What a spec cannot hold comes from flags: the payer/admin keypair file, the vol authority, guardian and
//! strategist, and each underlying's oracle account. Oracles resolve, per underlying, from `--oracle INDEX=ADDRESS`,
//! else the Pyth push-oracle feed account of the spec's feed id (shard `--pyth-shard`), else, with
//! `--localnet-oracles`, a price account this command creates on a local validator running tests/localnet-oracle.
//! Every oracle is checked (owner, layout, feed id) before the first transaction, as migrations check the spec.
use crate::chain::{Chain, Rpc, TableChain};
use crate::execution::ExecutionConfig;
use crate::ops::config::read_keypair;
use anchor_lang::AccountDeserialize;
use keel_client::pyth::{localnet, PythPrice};
use pyth_solana_receiver_sdk::price_update::PriceUpdateV2;
use serde::{Deserialize, Serialize};
use solana_sdk::{pubkey::Pubkey, signature::Keypair, signer::Signer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct DeployArgs {
    /// The migrations spec (TOML; migrations/specs/demo.toml is the demo's).
    #[arg(long)]
    pub spec: PathBuf,
    /// JSON-RPC endpoint of the cluster, e.g. http://127.0.0.1:8899 or https://api.devnet.solana.com.
    #[arg(long, env = "KEEL_RPC_URL")]
    pub rpc_url: String,
    /// WebSocket endpoint (default: derived from --rpc-url).
    #[arg(long)]
    pub ws_url: Option<String>,
    /// Solana CLI keypair file of the payer, which becomes the venue's admin and the vaults' curator.
    #[arg(long, env = "KEEL_KEYPAIR")]
    pub keypair: PathBuf,
    /// Keypair file of the venue's vol authority (signs surface posts). Default: the payer.
    #[arg(long)]
    pub vol_authority: Option<PathBuf>,
    /// The guardian (pause, breaker reset, config veto). Default: the payer.
    #[arg(long)]
    pub guardian: Option<Pubkey>,
    /// The vaults' strategist (allocates, opens books). Default: the payer.
    #[arg(long)]
    pub strategist: Option<Pubkey>,
    /// An underlying's oracle account, as INDEX=ADDRESS (repeatable); overrides the derived Pyth feed account.
    #[arg(long = "oracle", value_parser = parse_oracle)]
    pub oracles: Vec<(u16, Pubkey)>,
    /// Shard of the Pyth push-oracle feed accounts derived from the spec's feed ids.
    #[arg(long, default_value_t = 0)]
    pub pyth_shard: u16,
    /// Local validator only: create each missing oracle as a price account of tests/localnet-oracle and post the
    /// spec's reference price at the validator's time (on every run: a local validator has no price service).
    #[arg(long)]
    pub localnet_oracles: bool,
    /// Creates the collateral mint from this keypair file when the spec names none (generated and saved there
    /// if the file does not exist; a re-run reads it back and finds the mint).
    #[arg(long)]
    pub mint_keypair: Option<PathBuf>,
    /// The payer's collateral token account that funds the spec's LP liquidity (default: a new account; the
    /// amount is minted into it when the payer is the mint authority).
    #[arg(long)]
    pub lp_source: Option<Pubkey>,
    /// Where to write the deployment (addresses of everything, JSON).
    #[arg(long, default_value = "keel-deployment.json")]
    pub out: PathBuf,
    /// Priority-fee floor in micro-lamports per compute unit.
    #[arg(long, default_value_t = 0)]
    pub priority_floor: u64,
    /// Also keep an address lookup table (owned by the payer) of the deployment's accounts, so a keeper sends
    /// version-0 transactions and a vault's large book fits one packet. A re-run extends the table the --out file
    /// names with what it lacks, or creates one.
    #[arg(long)]
    pub lookup_table: bool,
}

fn parse_oracle(s: &str) -> Result<(u16, Pubkey), String> {
    let (index, address) =
        s.split_once('=').ok_or_else(|| format!("{s:?}: expected INDEX=ADDRESS, e.g. 0=7UVim..."))?;
    let index = index.trim().parse::<u16>().map_err(|e| format!("{s:?}: underlying index: {e}"))?;
    let address = address.trim().parse::<Pubkey>().map_err(|e| format!("{s:?}: address: {e}"))?;
    Ok((index, address))
}

/// The Pyth push-oracle price feed account of `feed_id` in `shard` (the receiver SDK's derivation: seeds
/// `[shard u16 LE, feed id]` under the push-oracle program).
pub fn pyth_feed_account(shard: u16, feed_id: &[u8; 32]) -> Pubkey {
    let seeds: [&[u8]; 2] = [&shard.to_le_bytes(), feed_id];
    Pubkey::find_program_address(&seeds, &pyth_solana_receiver_sdk::PYTH_PUSH_ORACLE_ID).0
}

/// The mint keypair at `path`, generated and saved there (owner-only permissions) if the file is absent.
fn mint_keypair(path: &Path) -> anyhow::Result<Keypair> {
    if path.exists() {
        return read_keypair(path, "--mint-keypair");
    }
    let kp = Keypair::new();
    solana_sdk::signer::keypair::write_keypair_file(&kp, path)
        .map_err(|e| anyhow::anyhow!("--mint-keypair {}: cannot write a new keypair: {e}", path.display()))?;
    println!("deploy: new mint keypair {} saved to {}", kp.pubkey(), path.display());
    Ok(kp)
}

/// Checks that `address` holds a PriceUpdateV2 of `feed_id` owned by the Pyth receiver.
async fn check_oracle(chain: &mut Rpc, index: u16, address: &Pubkey, feed_id: &[u8; 32]) -> anyhow::Result<()> {
    let Some(account) = chain.account(address).await? else {
        anyhow::bail!(
            "underlying {index}: no oracle account at {address} on this cluster: pass --oracle {index}=<PriceUpdateV2 \
             account>, or --localnet-oracles on a local validator"
        );
    };
    anyhow::ensure!(
        account.owner == pyth_solana_receiver_sdk::ID,
        "underlying {index}: {address} is owned by {}, not the Pyth receiver {}",
        account.owner,
        pyth_solana_receiver_sdk::ID
    );
    let update = PriceUpdateV2::try_deserialize(&mut &account.data[..])
        .map_err(|e| anyhow::anyhow!("underlying {index}: {address} is not a PriceUpdateV2 account: {e}"))?;
    anyhow::ensure!(
        &update.price_message.feed_id == feed_id,
        "underlying {index}: {address} carries feed {}, the spec says {}",
        hex(&update.price_message.feed_id),
        hex(feed_id)
    );
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Resolves every underlying's oracle (creating local ones when asked) and checks each.
async fn oracles(
    chain: &mut Rpc,
    spec: &keel_migrations::Spec,
    args: &DeployArgs,
) -> anyhow::Result<BTreeMap<u16, Pubkey>> {
    let given: BTreeMap<u16, Pubkey> = args.oracles.iter().copied().collect();
    if let Some(extra) = given.keys().find(|i| !spec.underlyings.iter().any(|u| u.index == **i)) {
        anyhow::bail!("--oracle {extra}=...: the spec has no underlying {extra}");
    }
    let me = chain.payer();
    let mut out = BTreeMap::new();
    for u in &spec.underlyings {
        let feed = u.feed_id_bytes().map_err(|e| anyhow::anyhow!("spec: {e}"))?;
        let address = match given.get(&u.index) {
            Some(a) => *a,
            None if args.localnet_oracles => {
                let (address, _) = localnet::seeded_price_account(&me, u.index);
                let now = chain.clock().await?.unix_timestamp;
                let price = PythPrice::new(feed, u.reference_spot, now);
                if chain.account(&address).await?.is_none() {
                    let rent = chain.client().get_minimum_balance_for_rent_exemption(PriceUpdateV2::LEN).await?;
                    chain.send(&localnet::create_seeded_price_account_ixs(&me, u.index, rent, &price), &[]).await?;
                    println!("deploy: localnet oracle for underlying {} created at {address}", u.index);
                } else {
                    chain.send(&[localnet::write_price_ix(&address, &me, &price)], &[]).await?;
                }
                address
            }
            None => pyth_feed_account(args.pyth_shard, &feed),
        };
        check_oracle(chain, u.index, &address, &feed).await?;
        out.insert(u.index, address);
    }
    Ok(out)
}

/// Everything before the first migration transaction: the programs are deployed and the payer can pay.
async fn preflight(chain: &mut Rpc) -> anyhow::Result<()> {
    for (name, id) in
        [("keel-venue", keel_migrations::VENUE_PROGRAM_ID), ("keel-vault", keel_migrations::VAULT_PROGRAM_ID)]
    {
        let deployed = chain.account(&id).await?.is_some_and(|a| a.executable);
        anyhow::ensure!(
            deployed,
            "{name} is not deployed at {id} on this cluster: deploy the SBF build first (docs/deploy.md, step 2)"
        );
    }
    let me = chain.payer();
    let lamports = chain.account(&me).await?.map(|a| a.lamports).unwrap_or(0);
    anyhow::ensure!(
        lamports >= 1_000_000_000,
        "payer {me} holds {lamports} lamports: a deployment needs about 1 SOL for rent and fees (fund it with \
         `solana airdrop` on devnet/localnet or a transfer)"
    );
    Ok(())
}

/// Runs the command: resolve and check, apply the spec, print every step and write the deployment file.
pub async fn run(args: DeployArgs) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&args.spec).map_err(|e| anyhow::anyhow!("--spec {}: {e}", args.spec.display()))?;
    let spec = keel_migrations::Spec::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", args.spec.display()))?;
    spec.validate().map_err(|e| anyhow::anyhow!("{}: {e}", args.spec.display()))?;
    let payer = read_keypair(&args.keypair, "--keypair")?;
    let vol_authority = match &args.vol_authority {
        Some(path) => read_keypair(path, "--vol-authority")?,
        None => payer.insecure_clone(),
    };
    let mint = match (&spec.collateral.mint, &args.mint_keypair) {
        (None, Some(path)) => Some(mint_keypair(path)?),
        (None, None) => anyhow::bail!(
            "the spec names no collateral.mint: set it to an existing mint, or pass --mint-keypair <file> to create one"
        ),
        (Some(m), Some(_)) => anyhow::bail!("the spec names collateral.mint {m}: drop --mint-keypair"),
        (Some(_), None) => None,
    };
    let exec = ExecutionConfig { min_priority_micro_lamports: args.priority_floor, ..ExecutionConfig::default() };
    let me = payer.pubkey();
    let mut chain = Rpc::new(&args.rpc_url, args.ws_url.clone(), payer, exec).map_err(|e| anyhow::anyhow!(e))?;
    preflight(&mut chain).await?;
    let oracles = oracles(&mut chain, &spec, &args).await?;
    let ctx = keel_migrations::Context {
        vol_authority: &vol_authority,
        guardian: args.guardian.unwrap_or(me),
        strategist: args.strategist.unwrap_or(me),
        oracles: oracles.clone(),
        new_mint: mint.as_ref(),
        lp_source: args.lp_source,
        lp_shares: None,
    };
    let deployed = keel_migrations::apply(&mut chain, &spec, &ctx).await?;
    for (i, s) in deployed.steps.iter().enumerate() {
        let state = if s.created { "created" } else { "already present" };
        println!("deploy: {:>2}. {:<28} {:<44} {state}", i + 1, s.what, s.address.to_string());
    }
    let created = deployed.created();
    let sent = chain.stats.confirmed;
    let plural = if sent == 1 { "" } else { "s" };
    println!(
        "deploy: {created} created, {} already present ({sent} transaction{plural} confirmed)",
        deployed.steps.len() - created
    );
    let mut file = Deployment::new(&deployed, &oracles, &args.rpc_url);
    if args.lookup_table {
        // The table the previous deployment file names for this cluster, if any: a re-run extends it rather than
        // make another.
        let previous =
            Deployment::load(&args.out).ok().filter(|d| d.cluster == args.rpc_url).and_then(|d| d.lookup_table);
        let change = chain.ensure_lookup_table(previous, &file.table_addresses()).await?;
        let state = match (change.created, change.added) {
            (true, _) => "created".to_string(),
            (false, 0) => "already present".to_string(),
            (false, n) => format!("extended by {n}"),
        };
        println!("deploy: lookup table {} ({} addresses) {state}", change.table, change.holds);
        file.lookup_table = Some(change.table);
    }
    std::fs::write(&args.out, serde_json::to_string_pretty(&file)?)
        .map_err(|e| anyhow::anyhow!("--out {}: {e}", args.out.display()))?;
    println!("deployment: {}", args.out.display());
    Ok(())
}

/// The deployment file: every address a keeper or integrator needs, keyed by the spec's indices (base58 strings
/// in JSON). `keel-keeper deploy` writes it; `keel-keeper run` reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub cluster: String,
    #[serde(with = "b58")]
    pub venue_program: Pubkey,
    #[serde(with = "b58")]
    pub vault_program: Pubkey,
    #[serde(with = "b58")]
    pub mint: Pubkey,
    #[serde(with = "b58")]
    pub venue: Pubkey,
    #[serde(with = "b58_map")]
    pub underlyings: BTreeMap<u16, Pubkey>,
    #[serde(with = "b58_map")]
    pub oracles: BTreeMap<u16, Pubkey>,
    #[serde(with = "b58_map")]
    pub markets: BTreeMap<u32, Pubkey>,
    #[serde(with = "b58_map")]
    pub vaults: BTreeMap<u16, Pubkey>,
    /// The address lookup table of these accounts (`deploy --lookup-table`); `keel-keeper run` compiles its
    /// transactions with it.
    #[serde(default, with = "b58_opt", skip_serializing_if = "Option::is_none")]
    pub lookup_table: Option<Pubkey>,
}

impl Deployment {
    pub fn new(d: &keel_migrations::Deployed, oracles: &BTreeMap<u16, Pubkey>, cluster: &str) -> Self {
        Self {
            cluster: cluster.into(),
            venue_program: keel_migrations::VENUE_PROGRAM_ID,
            vault_program: keel_migrations::VAULT_PROGRAM_ID,
            mint: d.mint,
            venue: d.venue,
            underlyings: d.underlyings.clone(),
            oracles: oracles.clone(),
            markets: d.markets.clone(),
            vaults: d.vaults.clone(),
            lookup_table: None,
        }
    }

    /// What the lookup table holds: every account of the deployment a keeper's or strategist's transaction passes
    /// (the venue's, each vault's and its PDAs, the markets, oracles and mint), not the programs they invoke.
    pub fn table_addresses(&self) -> Vec<Pubkey> {
        use keel_client::{vault, venue};
        let mut keys = vec![
            self.venue,
            self.mint,
            venue::collateral_vault_pda(&self.venue),
            venue::lp_mint_pda(&self.venue),
            keel_client::token::SPL_TOKEN_ID,
        ];
        keys.extend(self.underlyings.values().chain(self.oracles.values()).chain(self.markets.values()));
        for v in self.vaults.values() {
            let (margin, idle, shares) = (venue::margin_pda(&self.venue, v), vault::idle_pda(v), vault::shares_pda(v));
            keys.extend([*v, margin, idle, shares, vault::escrow_pda(v), vault::lp_pda(v)]);
        }
        keel_client::lookup::missing(&[], &keys)
    }

    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            anyhow::anyhow!("deployment {}: {e} (write one with `keel-keeper deploy ... --out <file>`)", path.display())
        })?;
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("deployment {}: {e}", path.display()))
    }
}

mod b58 {
    use serde::{Deserialize, Deserializer, Serializer};
    use solana_sdk::pubkey::Pubkey;

    pub fn serialize<S: Serializer>(k: &Pubkey, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&k.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Pubkey, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e| serde::de::Error::custom(format!("{text:?} is not a base58 address: {e}")))
    }
}

mod b58_opt {
    use serde::{Deserialize, Deserializer, Serializer};
    use solana_sdk::pubkey::Pubkey;

    pub fn serialize<S: Serializer>(k: &Option<Pubkey>, s: S) -> Result<S::Ok, S::Error> {
        match k {
            Some(k) => super::b58::serialize(k, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pubkey>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| t.parse().map_err(|e| serde::de::Error::custom(format!("{t:?} is not a base58 address: {e}"))))
            .transpose()
    }
}

mod b58_map {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use solana_sdk::pubkey::Pubkey;
    use std::collections::BTreeMap;

    pub fn serialize<K: Serialize + Ord, S: Serializer>(m: &BTreeMap<K, Pubkey>, s: S) -> Result<S::Ok, S::Error> {
        let strings: BTreeMap<&K, String> = m.iter().map(|(k, v)| (k, v.to_string())).collect();
        strings.serialize(s)
    }

    pub fn deserialize<'de, K, D>(d: D) -> Result<BTreeMap<K, Pubkey>, D::Error>
    where
        K: Deserialize<'de> + Ord,
        D: Deserializer<'de>,
    {
        let strings = BTreeMap::<K, String>::deserialize(d)?;
        strings
            .into_iter()
            .map(|(k, v)| {
                let key =
                    v.parse().map_err(|e| serde::de::Error::custom(format!("{v:?} is not a base58 address: {e}")))?;
                Ok((k, key))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_derived_pyth_feed_account_is_the_published_sol_usd_account() {
        // SOL/USD (Pyth feed id ef0d8b6f...) and its sponsored feed account in shard 0, as Pyth publishes them for
        // mainnet and devnet.
        let hex = "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d";
        let feed: [u8; 32] = std::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap());
        let expected: Pubkey = "7UVimffxr9ow1uXYxsr4LHAcV58mLzhmwaeKvJ1pjLiE".parse().unwrap();
        assert_eq!(pyth_feed_account(0, &feed), expected);
        assert_ne!(pyth_feed_account(1, &feed), expected, "another shard is another account");
    }

    #[test]
    fn the_deployment_file_round_trips_with_base58_addresses() {
        let key = Pubkey::new_unique();
        let d = Deployment {
            cluster: "http://127.0.0.1:8899".into(),
            venue_program: keel_migrations::VENUE_PROGRAM_ID,
            vault_program: keel_migrations::VAULT_PROGRAM_ID,
            mint: key,
            venue: key,
            underlyings: [(0, key)].into(),
            oracles: [(0, key)].into(),
            markets: [(0, key), (1, key)].into(),
            vaults: [(3, key)].into(),
            lookup_table: None,
        };
        let json = serde_json::to_string(&d).unwrap();
        assert!(json.contains(&format!("\"vaults\":{{\"3\":\"{key}\"}}")), "{json}");
        assert!(!json.contains("lookup_table"), "a deployment without a table writes none: {json}");
        assert_eq!(serde_json::from_str::<Deployment>(&json).unwrap(), d);
        let bad = json.replace(&format!("\"3\":\"{key}\""), "\"3\":\"nope\"");
        assert!(serde_json::from_str::<Deployment>(&bad).unwrap_err().to_string().contains("base58"));
        // With a table: written in base58 and read back; a bad one is refused like any address.
        let table = Pubkey::new_unique();
        let with = Deployment { lookup_table: Some(table), ..d };
        let json = serde_json::to_string(&with).unwrap();
        assert!(json.contains(&format!("\"lookup_table\":\"{table}\"")), "{json}");
        assert_eq!(serde_json::from_str::<Deployment>(&json).unwrap(), with);
        let bad = json.replace(&table.to_string(), "nope");
        assert!(serde_json::from_str::<Deployment>(&bad).unwrap_err().to_string().contains("base58"));
    }

    #[test]
    fn the_table_holds_each_account_once_and_every_vault_pda() {
        let (venue, vault) = (Pubkey::new_unique(), Pubkey::new_unique());
        let market = Pubkey::new_unique();
        let d = Deployment {
            cluster: String::new(),
            venue_program: keel_migrations::VENUE_PROGRAM_ID,
            vault_program: keel_migrations::VAULT_PROGRAM_ID,
            mint: Pubkey::new_unique(),
            venue,
            underlyings: [(0, Pubkey::new_unique())].into(),
            oracles: [(0, Pubkey::new_unique())].into(),
            markets: [(0, market), (1, market)].into(),
            vaults: [(0, vault)].into(),
            lookup_table: None,
        };
        let keys = d.table_addresses();
        assert_eq!(keys.iter().filter(|k| **k == market).count(), 1, "a repeated market is listed once");
        for k in [keel_client::venue::margin_pda(&venue, &vault), keel_client::vault::idle_pda(&vault), vault, venue] {
            assert!(keys.contains(&k), "{k} missing");
        }
        assert!(!keys.contains(&keel_vault::ID) && !keys.contains(&keel_venue::ID), "programs stay in the message");
        assert_eq!(keys.len(), 5 + 3 + 6, "venue group, underlying, oracle, one market, the vault and its five PDAs");
    }

    #[test]
    fn oracle_flags_parse_or_say_what_is_wrong() {
        let key = Pubkey::new_unique();
        assert_eq!(parse_oracle(&format!("3={key}")).unwrap(), (3, key));
        assert!(parse_oracle("3").unwrap_err().contains("INDEX=ADDRESS"));
        assert!(parse_oracle(&format!("x={key}")).unwrap_err().contains("underlying index"));
        assert!(parse_oracle("0=not-a-key").unwrap_err().contains("address"));
    }

    #[test]
    fn a_missing_mint_keypair_file_is_generated_once_and_read_back() {
        let path = std::env::temp_dir().join(format!("keel-mint-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let first = mint_keypair(&path).unwrap();
        let again = mint_keypair(&path).unwrap();
        assert_eq!(first.pubkey(), again.pubkey());
        std::fs::write(&path, "[1,2,3]").unwrap();
        assert!(mint_keypair(&path).unwrap_err().to_string().contains("solana-keygen"));
        std::fs::remove_file(&path).unwrap();
    }
}
