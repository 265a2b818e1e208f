//! How many erasures a second the local runner gets through: `n` happy-path-like
//! tickets started at once ([`crate::world::happy_path_like`]: a subject each) through
//! the real definition with every step in process, against the emulator in process on
//! a discrete-event clock (every Wait and every Genesys job take no real time). Wall time from
//! the first start to the last record, median of several batches, each in a new world.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::bail;

use crate::report::{Context, Rendered, Section, table};
use crate::stats::summarise;
use crate::world::{World, WorldOptions, happy_path_like};

pub struct Throughput {
    /// Tickets per batch, all started at once.
    pub tickets: usize,
    /// Batches (each in a new world); the median is reported.
    pub batches: usize,
}

/// One batch: wall seconds, billed transitions, Genesys calls. It runs on a runtime of
/// its own whose time is paused, under the discrete-event clock (`clock::TokioClock`):
/// time moves only when every execution waits, to the earliest deadline, so each sees
/// its own Waits and Genesys jobs take the time they take, and none of it is real.
pub async fn batch(n: usize) -> anyhow::Result<(f64, u64, usize)> {
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()?
            .block_on(simulated_batch(n))
    })
    .await?
}

async fn simulated_batch(n: usize) -> anyhow::Result<(f64, u64, usize)> {
    let (dataset, tickets) = happy_path_like(n)?;
    let world = World::start(WorldOptions {
        dataset,
        // The bench measures the runner and the steps, not Genesys's 300 requests a
        // minute (which would only move simulated time).
        rate_limit: Some(u32::MAX),
        simulated: true,
        ..WorldOptions::default()
    })
    .await?;
    let named: Vec<(String, serde_json::Value)> = tickets
        .into_iter()
        .map(|t| (t["ticket"]["id"].as_str().unwrap_or_default().to_owned(), t))
        .collect();
    let started = Instant::now();
    let outcomes = world.pipeline.run_many(named).await;
    let wall = started.elapsed().as_secs_f64();
    let mut transitions = 0;
    for o in outcomes {
        let o = o?;
        let outcome = o.record.as_ref().map(|r| r.outcome.as_str());
        if outcome != Some("COMPLETED") {
            bail!(
                "a happy-path-like ticket ended {:?}: {:?}",
                outcome,
                o.result.error()
            );
        }
        transitions += o.result.counts.state_transitions;
    }
    Ok((wall, transitions, world.emulator.request_log().len()))
}

#[async_trait::async_trait]
impl Section for Throughput {
    fn title(&self) -> String {
        "Local runner throughput".into()
    }

    async fn run(&self, _ctx: &Context) -> anyhow::Result<Rendered> {
        let mut walls = Vec::new();
        let mut last = (0, 0);
        for _ in 0..self.batches {
            let (wall, transitions, calls) = batch(self.tickets).await?;
            walls.push(wall);
            last = (transitions, calls);
        }
        let s = summarise(&walls).expect("at least one batch");
        let n = self.tickets as f64;
        let (transitions, calls) = last;
        let mut body = String::new();
        let _ = writeln!(
            body,
            "{} happy-path-like tickets started at once (each a copy of the happy path's \
             subject under a number and contact id of its own, so no two erasures touch the \
             same data), through `statemachine/erasure.asl.json` on the local runner with every \
             step in process, against the emulator in process (HTTP on 127.0.0.1, its rate limit \
             off) on one discrete-event clock (`clock::TokioClock` on paused time: time moves \
             only when every execution waits, to the earliest deadline): every Wait and every \
             Genesys job take no real time, so \
             this is the runner's and the steps' own speed on this machine. Every ticket ended \
             COMPLETED. Wall time from the first start to the last record; {} batches, each in \
             a new world.\n",
            self.tickets, self.batches
        );
        body.push_str(&table(
            &[
                "tickets",
                "wall time, median (range)",
                "erasures per second",
                "state transitions per second",
                "Genesys calls per second",
            ],
            &[vec![
                self.tickets.to_string(),
                format!("{:.2} s ({:.2}–{:.2})", s.median, s.min, s.max),
                format!("{:.0}", n / s.median),
                format!("{:.0}", transitions as f64 / s.median),
                format!("{:.0}", calls as f64 / s.median),
            ]],
        ));
        let _ = writeln!(
            body,
            "\nPer erasure: {} transitions and {} Genesys calls (jobs of the emulator's default \
             timing, minutes of virtual time).",
            transitions / self.tickets as u64,
            calls / self.tickets
        );
        Ok(Rendered {
            body,
            targets: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    /// Many executions at once on the discrete-event clock all complete (on the
    /// `VirtualClock`, where one execution's Wait passes for all, 50 did not).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_tickets_at_once_all_complete_on_simulated_time() {
        let (_wall, transitions, calls) = super::batch(50).await.expect("every ticket completes");
        assert!(transitions >= 50 * 20, "{transitions} transitions");
        assert!(calls >= 50 * 20, "{calls} Genesys calls");
    }
}
