//! Real Pyth PriceUpdateV2 accounts (Anchor discriminator + borsh, owned by the Pyth receiver program), for
//! embedded chains and tests that drive the oracle.
use anchor_lang::prelude::Pubkey;
use anchor_lang::AccountSerialize;
use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};

/// A Pyth price observation to write into a PriceUpdateV2 account (prices as mantissa x 10^exponent).
#[derive(Clone, Copy, Debug)]
pub struct PythPrice {
    pub feed_id: [u8; 32],
    pub price: i64,
    pub conf: u64,
    pub ema_price: i64,
    pub exponent: i32,
    pub publish_time: i64,
    pub fully_verified: bool,
}

impl PythPrice {
    /// A well-formed observation: `price` in whole units with exponent -8, conf 0.05%, EMA equal to the price.
    pub fn new(feed_id: [u8; 32], price: f64, publish_time: i64) -> Self {
        let mantissa = (price * 1e8).round() as i64;
        Self {
            feed_id,
            price: mantissa,
            conf: (mantissa / 2000) as u64,
            ema_price: mantissa,
            exponent: -8,
            publish_time,
            fully_verified: true,
        }
    }
}

/// The account data of a PriceUpdateV2 holding `p`; the account must be owned by [`pyth_solana_receiver_sdk::ID`].
pub fn price_update_data(p: &PythPrice) -> Vec<u8> {
    price_update_data_by(p, Pubkey::default())
}

/// [`price_update_data`] naming `write_authority` (the key allowed to post the next update to this account).
pub fn price_update_data_by(p: &PythPrice, write_authority: Pubkey) -> Vec<u8> {
    let update = PriceUpdateV2 {
        write_authority,
        verification_level: if p.fully_verified {
            VerificationLevel::Full
        } else {
            VerificationLevel::Partial { num_signatures: 5 }
        },
        price_message: PriceFeedMessage {
            feed_id: p.feed_id,
            price: p.price,
            conf: p.conf,
            exponent: p.exponent,
            publish_time: p.publish_time,
            prev_publish_time: p.publish_time - 1,
            ema_price: p.ema_price,
            ema_conf: p.conf,
        },
        posted_slot: 1,
    };
    let mut data = Vec::with_capacity(PriceUpdateV2::LEN);
    update.try_serialize(&mut data).expect("a PriceUpdateV2 always serialises");
    data
}

/// A local validator's oracle (tests/localnet-oracle, loaded at the Pyth receiver's id by scripts/validator-test):
/// the instructions that create a price account and post updates to it. Never for a real cluster.
pub mod localnet {
    use super::*;
    use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};

    /// A new price account of PriceUpdateV2's size owned by the receiver id (the `account` key signs), then its
    /// first update written by `authority`.
    pub fn create_price_account_ixs(
        payer: &Pubkey,
        account: &Pubkey,
        authority: &Pubkey,
        lamports: u64,
        p: &PythPrice,
    ) -> Vec<Instruction> {
        let space = PriceUpdateV2::LEN as u64;
        let create = solana_system_interface::instruction::create_account(
            payer,
            account,
            lamports,
            space,
            &pyth_solana_receiver_sdk::ID,
        );
        vec![create, write_price_ix(account, authority, p)]
    }

    /// The deterministic price account of underlying `index` for `base` (`keel-oracle-<index>`, owned by the
    /// receiver id): a re-run of a deployment finds the account it created before instead of making another.
    pub fn seeded_price_account(base: &Pubkey, index: u16) -> (Pubkey, String) {
        let seed = format!("keel-oracle-{index}");
        // A seed of at most 17 ASCII bytes never exceeds the 32-byte limit, and the receiver id is not a PDA marker.
        let key = Pubkey::create_with_seed(base, &seed, &pyth_solana_receiver_sdk::ID)
            .expect("a short seed under a program owner is always valid");
        (key, seed)
    }

    /// Creates [`seeded_price_account`] of `base` (who pays, signs and becomes its write authority) and posts
    /// its first update.
    pub fn create_seeded_price_account_ixs(
        base: &Pubkey,
        index: u16,
        lamports: u64,
        p: &PythPrice,
    ) -> Vec<Instruction> {
        let (account, seed) = seeded_price_account(base, index);
        let create = solana_system_interface::instruction::create_account_with_seed(
            base,
            &account,
            base,
            &seed,
            lamports,
            PriceUpdateV2::LEN as u64,
            &pyth_solana_receiver_sdk::ID,
        );
        vec![create, write_price_ix(&account, base, p)]
    }

    /// Posts `p` to `account`; `authority` must be the write authority of its current update and signs.
    pub fn write_price_ix(account: &Pubkey, authority: &Pubkey, p: &PythPrice) -> Instruction {
        Instruction {
            program_id: pyth_solana_receiver_sdk::ID,
            accounts: vec![AccountMeta::new(*account, false), AccountMeta::new_readonly(*authority, true)],
            data: price_update_data_by(p, *authority),
        }
    }
}
