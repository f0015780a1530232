//! The fuzzer's seeded run in CI (the long run is `keel-fuzz`, docs/security.md): sequences of random actions on the
//! real programs with every invariant checked after every step, and proof that the sequences reach the interesting
//! places (each kind of action both accepted and refused).
use keel_tests::fuzz::run;

#[tokio::test]
async fn seeded_action_sequences_keep_every_invariant() {
    let sequences = std::env::var("KEEL_FUZZ_SEQUENCES").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let stats = match run(20_261_122, sequences, 40, |_| {}).await {
        Ok(s) => s,
        Err(f) => panic!("{f}"),
    };
    assert_eq!(stats.sequences, sequences);
    for kind in ["deposit", "request", "claim", "allocate", "rebalance", "deleverage", "oracle", "warp", "pause"] {
        assert!(stats.accepted(kind) > 0, "no {kind} was ever accepted: {stats:#?}");
    }
    for kind in ["deposit", "request", "claim", "allocate", "grief"] {
        assert!(stats.refused.keys().any(|(k, _)| *k == kind), "no {kind} was ever refused: {stats:#?}");
    }
}
