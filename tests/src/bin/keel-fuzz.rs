//! The dedicated fuzz run (docs/security.md): `cargo run --release -p keel-tests --bin keel-fuzz -- --sequences
//! 1000000 --jobs 2 --seed 1`. Each job runs its share of the sequences from its own seed (seed + job) on its own
//! bank and thread; a broken invariant stops the run with the seed, sequence and actions that broke it, and the
//! exit code is 1.
use keel_tests::fuzz::{run, Stats};
use std::time::Instant;

fn arg(args: &[String], name: &str, default: u64) -> Result<u64, String> {
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => args
            .get(i + 1)
            .and_then(|v| v.replace('_', "").parse().ok())
            .ok_or(format!("{name} needs a whole number, e.g. {name} {default}")),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let parsed = (|| {
        Ok::<_, String>((
            arg(&args, "--sequences", 10_000)?,
            arg(&args, "--jobs", 2)?.max(1),
            arg(&args, "--seed", 1)?,
            arg(&args, "--world-every", 50)?,
        ))
    })();
    let (sequences, jobs, seed, world_every) = match parsed {
        Ok(p) => p,
        Err(e) => {
            eprintln!("keel-fuzz: {e}\nusage: keel-fuzz [--sequences N] [--jobs J] [--seed S] [--world-every W]");
            std::process::exit(2);
        }
    };
    keel_keeper::chain::embedded::quiet_logs();
    let start = Instant::now();
    let handles: Vec<_> = (0..jobs)
        .map(|job| {
            let share = sequences / jobs + u64::from(job < sequences % jobs);
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                rt.block_on(run(seed + job, share, world_every, |s| {
                    if s.sequences % 10_000 == 0 {
                        eprintln!(
                            "job {job}: {} sequences, {} steps, {:.0} s",
                            s.sequences,
                            s.steps,
                            start.elapsed().as_secs_f64()
                        );
                    }
                }))
            })
        })
        .collect();
    let mut total = Stats::default();
    let mut failed = false;
    for h in handles {
        match h.join().expect("fuzz thread") {
            Ok(s) => total.merge(&s),
            Err(f) => {
                eprintln!("keel-fuzz: INVARIANT BROKEN\n{f}");
                failed = true;
            }
        }
    }
    println!(
        "keel-fuzz: {} sequences, {} steps, {} worlds, seed {seed}, {jobs} jobs, {:.0} s",
        total.sequences,
        total.steps,
        total.worlds,
        start.elapsed().as_secs_f64()
    );
    for (kind, n) in &total.accepted {
        let refused: u64 = total.refused.iter().filter(|((k, _), _)| k == kind).map(|(_, n)| n).sum();
        println!("  {kind:<10} accepted {n:>9}  refused {refused:>9}");
    }
    if failed {
        std::process::exit(1);
    }
}
