//! A progress bar on standard error, for terminals only (indicatif).
//!
//! The bar counts the pipeline's stages (unpack, inventory, checks,
//! standards, report) and its message follows the unpacker through the
//! containers. It stays hidden for the first moment (short scans print
//! nothing), redraws at most ten times a second, and clears itself when
//! dropped, so piped output and reports are never touched.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use fwcert::progress::Observer;
use fwcert::unpack::Chain;

const QUIET_START: Duration = Duration::from_millis(400);
/// The stages the library reports, in order.
const STAGES: [&str; 5] = ["unpack", "inventory", "checks", "standards", "report"];

pub struct StatusLine {
    started: Instant,
    bar: ProgressBar,
    state: Mutex<State>,
}

struct State {
    stage: String,
    containers: u64,
    shown: bool,
}

impl StatusLine {
    /// A progress bar if standard error is a terminal, else `None`.
    pub fn for_terminal() -> Option<StatusLine> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::with_draw_target(Some(STAGES.len() as u64), ProgressDrawTarget::hidden());
        let style = ProgressStyle::with_template("{spinner} {elapsed:>4} [{bar:20}] {pos}/{len} {wide_msg}")
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Some(StatusLine {
            started: Instant::now(),
            bar,
            state: Mutex::new(State {
                stage: STAGES[0].into(),
                containers: 0,
                shown: false,
            }),
        })
    }

    /// Shows the bar once the job has run for a moment.
    fn show_when_due(&self, state: &mut State) {
        if !state.shown && self.started.elapsed() >= QUIET_START {
            self.bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            state.shown = true;
        }
    }
}

impl Observer for StatusLine {
    fn stage(&self, name: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = name.to_string();
            let done = STAGES.iter().position(|x| *x == name).unwrap_or(0);
            self.bar.set_position(done as u64);
            self.bar.set_message(format!("{name}: {} containers", s.containers));
            self.show_when_due(&mut s);
            self.bar.tick();
        }
    }

    fn container(&self, chain: &Chain, extracted_bytes: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.containers += 1;
            self.bar.set_message(format!(
                "{}: {} containers, {:.1} MiB out, at {}",
                s.stage,
                s.containers,
                extracted_bytes as f64 / (1 << 20) as f64,
                chain.tail()
            ));
            self.show_when_due(&mut s);
            self.bar.tick();
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
