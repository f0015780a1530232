//! The Rpc chain: a cluster over JSON-RPC (solana-client's nonblocking RpcClient) with account subscriptions over
//! WebSocket (PubsubClient) and a polling fallback. The keeper, the migrations and the tests use it through the
//! same [`Chain`] trait as the embedded bank.
//!
//! Sending is the execution pipeline the keeper needs on a real cluster: simulate to size the compute-unit limit
//! (with the configured margin), bid a priority fee from the recent fees paid on the transaction's writable
//! accounts, sign with a fresh blockhash, broadcast (optionally to a private endpoint), re-broadcast and poll until
//! confirmed, and when the blockhash expires unconfirmed, check once more and only then sign a new version. A
//! transaction is therefore never executed twice: a new version exists only after the old one can no longer land.
use super::{Chain, ChainError, Simulation, TableChain};
use crate::execution::ExecutionConfig;
use keel_client::lookup;
use keel_client::pyth::{localnet, PythPrice};
use solana_client::client_error::ClientError;
use solana_client::nonblocking::{pubsub_client::PubsubClient, rpc_client::RpcClient};
use solana_client::rpc_config::{RpcAccountInfoConfig, RpcSendTransactionConfig, RpcSimulateTransactionConfig};
use solana_commitment_config::CommitmentConfig;
use solana_compute_budget_interface::ComputeBudgetInstruction;
use solana_sdk::{
    account::Account,
    clock::Clock,
    hash::Hash,
    instruction::Instruction,
    message::AddressLookupTableAccount,
    pubkey::Pubkey,
    signature::{Keypair, Signature, Signer},
    transaction::{TransactionError, VersionedTransaction},
};
use std::time::Duration;
use tokio::sync::mpsc;

/// Counters an operator reads from metrics.
#[derive(Clone, Debug, Default)]
pub struct RpcStats {
    pub sent: u64,
    pub confirmed: u64,
    /// Signed versions that expired unconfirmed and were replaced.
    pub expired_versions: u64,
    pub last_cu_limit: u32,
    pub last_priority_fee: u64,
    /// Confirmed version-0 transactions that looked addresses up in a table.
    pub looked_up: u64,
}

pub struct Rpc {
    client: RpcClient,
    /// sendTransaction goes here when a private endpoint is configured.
    submit: Option<RpcClient>,
    ws_url: String,
    payer: Keypair,
    exec: ExecutionConfig,
    /// Tables transactions are compiled with (see [`TableChain::use_lookup_tables`]).
    tables: Vec<AddressLookupTableAccount>,
    pub stats: RpcStats,
}

/// The WebSocket URL a validator serves beside its JSON-RPC URL: ws(s) scheme and, for an explicit port, the port
/// plus one (the validator's convention: RPC on 8899, PubSub on 8900).
pub fn derive_ws_url(http: &str) -> Result<String, String> {
    let (scheme, rest) = if let Some(r) = http.strip_prefix("https://") {
        ("wss://", r)
    } else if let Some(r) = http.strip_prefix("http://") {
        ("ws://", r)
    } else {
        return Err(format!("RPC URL {http:?} must start with http:// or https://"));
    };
    let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
    // "[::1]" has colons but no port; "[::1]:8899" and "host:8899" have one.
    let port_part = if authority.ends_with(']') { None } else { authority.rsplit_once(':') };
    let authority = match port_part {
        Some((host, port)) => {
            let port: u16 = port.parse().map_err(|_| format!("RPC URL {http:?} has a bad port {port:?}"))?;
            let ws_port = port.checked_add(1).ok_or_else(|| format!("RPC port {port} has no next port for PubSub"))?;
            format!("{host}:{ws_port}")
        }
        _ => authority.to_string(),
    };
    Ok(if path.is_empty() { format!("{scheme}{authority}") } else { format!("{scheme}{authority}/{path}") })
}

fn classify(e: TransactionError) -> ChainError {
    ChainError::from_transaction(e, 0)
}

/// True when the caller set its own compute budget: the chain then adds none.
fn has_budget(ixs: &[Instruction]) -> bool {
    ixs.iter().any(|ix| ix.program_id == solana_sdk_ids::compute_budget::ID)
}

/// A client error is a transaction's failure when the node says so (e.g. a preflight), else the node's.
fn client_error(e: ClientError) -> ChainError {
    match e.get_transaction_error() {
        Some(te) => classify(te),
        None => ChainError::Unavailable(e.to_string()),
    }
}

/// The Clock sysvar's account data: five little-endian 64-bit fields.
fn decode_clock(data: &[u8]) -> Option<Clock> {
    let word = |i: usize| -> Option<[u8; 8]> { data.get(i * 8..i * 8 + 8)?.try_into().ok() };
    Some(Clock {
        slot: u64::from_le_bytes(word(0)?),
        epoch_start_timestamp: i64::from_le_bytes(word(1)?),
        epoch: u64::from_le_bytes(word(2)?),
        leader_schedule_epoch: u64::from_le_bytes(word(3)?),
        unix_timestamp: i64::from_le_bytes(word(4)?),
    })
}

impl Rpc {
    /// A client for `url` (`ws_url` defaults to [`derive_ws_url`]) at confirmed commitment, paying with `payer`.
    pub fn new(url: &str, ws_url: Option<String>, payer: Keypair, exec: ExecutionConfig) -> Result<Self, String> {
        exec.validate()?;
        let ws_url = match ws_url {
            Some(ws) => ws,
            None => derive_ws_url(url)?,
        };
        let confirmed = CommitmentConfig::confirmed();
        let submit = exec.private_submit_url.as_ref().map(|u| RpcClient::new_with_commitment(u.clone(), confirmed));
        Ok(Self {
            client: RpcClient::new_with_commitment(url.to_string(), confirmed),
            submit,
            ws_url,
            payer,
            exec,
            tables: Vec::new(),
            stats: RpcStats::default(),
        })
    }

    pub fn client(&self) -> &RpcClient {
        &self.client
    }

    fn sign(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        blockhash: Hash,
    ) -> Result<VersionedTransaction, ChainError> {
        lookup::signed(&self.payer, signers, ixs, &self.tables, blockhash)
    }

    async fn slot(&self) -> Result<u64, ChainError> {
        self.client.get_slot().await.map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    async fn latest_blockhash(&self) -> Result<(Hash, u64), ChainError> {
        self.client
            .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    /// The priority bid for a transaction writing `writable` (no fee history: the configured floor).
    async fn priority_fee(&self, writable: &[Pubkey]) -> u64 {
        // The node accepts at most 128 addresses; a lookup failure must not block a risk-reducing transaction.
        let keys = &writable[..writable.len().min(128)];
        match self.client.get_recent_prioritization_fees(keys).await {
            Ok(fees) => self.exec.priority_fee(&fees.iter().map(|f| f.prioritization_fee).collect::<Vec<_>>()),
            Err(_) => self.exec.min_priority_micro_lamports,
        }
    }

    /// The status of `sig` if the cluster has it: Some(Ok) landed, Some(Err) landed and failed, None unknown.
    async fn status(&self, sig: &Signature) -> Result<Option<Result<(), TransactionError>>, ChainError> {
        let statuses = self
            .client
            .get_signature_statuses_with_history(&[*sig])
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        Ok(statuses
            .value
            .into_iter()
            .next()
            .flatten()
            .and_then(|s| s.satisfies_commitment(CommitmentConfig::confirmed()).then(|| s.err.map_or(Ok(()), Err))))
    }

    /// Sends one signed version until it confirms or its blockhash expires (`None`); errors name the caller's
    /// instruction index (`prepended` budget instructions come first).
    async fn land(
        &mut self,
        tx: &VersionedTransaction,
        last_valid: u64,
        prepended: u8,
    ) -> Result<Option<Result<(), ChainError>>, ChainError> {
        let classify = |e| ChainError::from_transaction(e, prepended);
        let cfg = RpcSendTransactionConfig { skip_preflight: true, max_retries: Some(0), ..Default::default() };
        let sig = tx.signatures[0];
        let poll = Duration::from_millis(self.exec.poll_ms);
        loop {
            // Re-broadcast every poll: a dropped packet or a leader that skipped it costs one poll, not the version.
            let target = self.submit.as_ref().unwrap_or(&self.client);
            if let Err(e) = target.send_transaction_with_config(tx, cfg).await {
                if let Some(te) = e.get_transaction_error() {
                    return Ok(Some(Err(classify(te))));
                }
            }
            self.stats.sent += 1;
            tokio::time::sleep(poll).await;
            if let Some(result) = self.status(&sig).await? {
                if result.is_ok() {
                    self.stats.confirmed += 1;
                    if tx.message.address_table_lookups().is_some_and(|l| !l.is_empty()) {
                        self.stats.looked_up += 1;
                    }
                }
                return Ok(Some(result.map_err(classify)));
            }
            let height = self.client.get_block_height().await.map_err(|e| ChainError::Unavailable(e.to_string()))?;
            if height > last_valid {
                // Expired: it can no longer land, but it may have landed in the meantime.
                return Ok(self.status(&sig).await?.map(|r| r.map_err(classify)));
            }
        }
    }

    /// Watches `keys`: every change is reported on the returned channel (the key that changed). Subscribes over
    /// WebSocket; when that fails or the stream ends it falls back to polling every `poll`, so a keeper keeps
    /// working against a node without PubSub.
    pub fn watch(&self, keys: Vec<Pubkey>, poll: Duration) -> mpsc::Receiver<Pubkey> {
        let (tx, rx) = mpsc::channel(256);
        let ws = self.ws_url.clone();
        let http = self.client.url();
        tokio::spawn(async move {
            if let Err(reason) = subscribe(&ws, &keys, &tx).await {
                tracing::warn!(%reason, "account subscription unavailable; polling instead");
            }
            poll_changes(&http, &keys, poll, &tx).await;
        });
        rx
    }
}

/// Forwards account notifications until the stream ends (an error describes why it stopped).
async fn subscribe(ws: &str, keys: &[Pubkey], tx: &mpsc::Sender<Pubkey>) -> Result<(), String> {
    use futures_util::StreamExt;
    let client = PubsubClient::new(ws).await.map_err(|e| e.to_string())?;
    let cfg = RpcAccountInfoConfig { commitment: Some(CommitmentConfig::confirmed()), ..Default::default() };
    let mut streams = Vec::with_capacity(keys.len());
    for key in keys {
        let (stream, _unsubscribe) =
            client.account_subscribe(key, Some(cfg.clone())).await.map_err(|e| e.to_string())?;
        let key = *key;
        streams.push(stream.map(move |_| key));
    }
    let mut all = futures_util::stream::select_all(streams);
    while let Some(key) = all.next().await {
        if tx.send(key).await.is_err() {
            return Ok(()); // the watcher was dropped
        }
    }
    Err("the subscription stream ended".into())
}

/// Reports keys whose data or lamports changed since the last poll.
async fn poll_changes(http: &str, keys: &[Pubkey], every: Duration, tx: &mpsc::Sender<Pubkey>) {
    let client = RpcClient::new_with_commitment(http.to_string(), CommitmentConfig::confirmed());
    let mut last: Vec<Option<(u64, Vec<u8>)>> = vec![None; keys.len()];
    let mut first = true;
    loop {
        if let Ok(accounts) = client.get_multiple_accounts(keys).await {
            for (i, account) in accounts.into_iter().enumerate() {
                let now = account.map(|a| (a.lamports, a.data));
                if !first && now != last[i] && tx.send(keys[i]).await.is_err() {
                    return;
                }
                last[i] = now;
            }
            first = false;
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

impl Chain for Rpc {
    fn payer(&self) -> Pubkey {
        self.payer.pubkey()
    }

    fn lookup_tables(&self) -> &[AddressLookupTableAccount] {
        &self.tables
    }

    async fn account(&mut self, key: &Pubkey) -> Result<Option<Account>, ChainError> {
        self.client
            .get_account_with_commitment(key, CommitmentConfig::confirmed())
            .await
            .map(|r| r.value)
            .map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    async fn clock(&mut self) -> Result<Clock, ChainError> {
        let id = solana_sdk::sysvar::clock::ID;
        let acc = self.account(&id).await?.ok_or(ChainError::MissingAccount(id))?;
        decode_clock(&acc.data)
            .ok_or_else(|| ChainError::Decode(id, "the Clock sysvar is shorter than 40 bytes".into()))
    }

    async fn simulate(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<Simulation, ChainError> {
        let (blockhash, _) = self.latest_blockhash().await?;
        // Simulate under the most a transaction can buy (the default is 200k per instruction), unless the caller
        // set its own budget: the consumption measured here sizes the real limit.
        let budgeted = has_budget(ixs);
        let mut all = Vec::with_capacity(ixs.len() + 1);
        if !budgeted {
            all.push(ComputeBudgetInstruction::set_compute_unit_limit(crate::execution::MAX_COMPUTE_UNITS));
        }
        all.extend_from_slice(ixs);
        let tx = self.sign(&all, signers, blockhash)?;
        let cfg = RpcSimulateTransactionConfig {
            sig_verify: false,
            replace_recent_blockhash: true,
            commitment: Some(CommitmentConfig::confirmed()),
            ..Default::default()
        };
        let sim = self.client.simulate_transaction_with_config(&tx, cfg).await.map_err(client_error)?.value;
        let result = match sim.err {
            None => Ok(()),
            Some(e) => Err(match ChainError::from_transaction(e.into(), u8::from(!budgeted)) {
                // Not a program's own error: the log's last lines are what an operator needs to see why.
                ChainError::Transaction(what) => {
                    let logs = sim.logs.unwrap_or_default();
                    let tail = logs[logs.len().saturating_sub(6)..].join(" | ");
                    ChainError::Transaction(format!("{what}; log: {tail}"))
                }
                other => other,
            }),
        };
        Ok(Simulation { result, units_consumed: sim.units_consumed.unwrap_or(0) })
    }

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair]) -> Result<(), ChainError> {
        // 1. Simulate: a predictable rejection costs nothing, and the consumption sizes the compute budget.
        let sim = self.simulate(ixs, signers).await?;
        sim.result?;
        // 2. Compute-unit limit with margin, priority bid from the fees recently paid on our writable accounts
        //    (unless the caller set its own budget: a second limit instruction would fail the transaction).
        let mut all = Vec::with_capacity(ixs.len() + 2);
        if !has_budget(ixs) {
            let limit = self.exec.cu_limit_ceil(sim.units_consumed);
            let writable: Vec<Pubkey> =
                ixs.iter().flat_map(|ix| ix.accounts.iter().filter(|a| a.is_writable).map(|a| a.pubkey)).collect();
            let fee = self.priority_fee(&writable).await;
            self.stats.last_cu_limit = limit;
            self.stats.last_priority_fee = fee;
            all.push(ComputeBudgetInstruction::set_compute_unit_limit(limit));
            if fee > 0 {
                all.push(ComputeBudgetInstruction::set_compute_unit_price(fee));
            }
        }
        let prepended = u8::try_from(all.len()).unwrap_or(u8::MAX); // none, one or two budget instructions
        all.extend_from_slice(ixs);
        // 3. Sign, land or expire; a new version only once the previous one can no longer execute.
        for attempt in 1..=self.exec.max_attempts {
            let (blockhash, last_valid) = self.latest_blockhash().await?;
            let tx = self.sign(&all, signers, blockhash)?;
            if let Some(result) = self.land(&tx, last_valid, prepended).await? {
                return result;
            }
            self.stats.expired_versions += 1;
            tracing::warn!(attempt, signature = %tx.signatures[0], "transaction expired unconfirmed; re-signing");
        }
        Err(ChainError::Expired(self.exec.max_attempts))
    }
}

impl TableChain for Rpc {
    fn tables_mut(&mut self) -> &mut Vec<AddressLookupTableAccount> {
        &mut self.tables
    }

    /// A finalized slot: the creation is simulated on a bank that may be the confirmed one itself, whose own slot
    /// is not in its SlotHashes yet, while a finalized slot is an ancestor of every later bank.
    async fn creation_slot(&mut self) -> Result<u64, ChainError> {
        self.client
            .get_slot_with_commitment(CommitmentConfig::finalized())
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))
    }

    async fn pass_slot(&mut self, slot: u64) -> Result<(), ChainError> {
        while self.slot().await? <= slot {
            tokio::time::sleep(Duration::from_millis(self.exec.poll_ms)).await;
        }
        Ok(())
    }
}

impl super::OracleControl for Rpc {
    async fn create_oracle(&mut self, p: &PythPrice) -> Result<Pubkey, ChainError> {
        let account = Keypair::new();
        let space = pyth_solana_receiver_sdk::price_update::PriceUpdateV2::LEN;
        let lamports = self
            .client
            .get_minimum_balance_for_rent_exemption(space)
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        let me = self.payer.pubkey();
        let ixs = localnet::create_price_account_ixs(&me, &account.pubkey(), &me, lamports, p);
        self.send(&ixs, &[&account]).await?;
        Ok(account.pubkey())
    }

    async fn post_price(&mut self, address: Pubkey, p: &PythPrice) -> Result<(), ChainError> {
        let ix = localnet::write_price_ix(&address, &self.payer.pubkey(), p);
        self.send(&[ix], &[]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ws_url_follows_the_validator_convention() {
        assert_eq!(derive_ws_url("http://127.0.0.1:18899").unwrap(), "ws://127.0.0.1:18900");
        assert_eq!(derive_ws_url("https://api.devnet.solana.com").unwrap(), "wss://api.devnet.solana.com");
        assert_eq!(derive_ws_url("https://rpc.example/key").unwrap(), "wss://rpc.example/key");
        assert_eq!(derive_ws_url("http://[::1]:8899").unwrap(), "ws://[::1]:8900");
        assert_eq!(derive_ws_url("http://[::1]").unwrap(), "ws://[::1]");
        assert!(derive_ws_url("127.0.0.1:8899").unwrap_err().contains("http://"));
        assert!(derive_ws_url("http://h:65535").unwrap_err().contains("next port"));
    }

    #[test]
    fn clock_decodes_the_sysvar_layout() {
        let mut data = Vec::new();
        for v in [7i64, -5, 2, 3, 1_700_000_000] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let c = decode_clock(&data).unwrap();
        assert_eq!((c.slot, c.epoch_start_timestamp, c.epoch, c.leader_schedule_epoch), (7, -5, 2, 3));
        assert_eq!(c.unix_timestamp, 1_700_000_000);
        assert!(decode_clock(&data[..39]).is_none());
    }
}
