//! A one-line progress display on standard error, for terminals only.
//!
//! It appears only after a job has run for a moment (short scans print
//! nothing), redraws at most ten times a second, and erases itself when
//! dropped, so piped output and reports are never touched.

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fwcert::progress::Observer;
use fwcert::unpack::Chain;

const QUIET_START: Duration = Duration::from_millis(400);
const REDRAW_EVERY: Duration = Duration::from_millis(100);
const WIDTH: usize = 100;
const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

pub struct StatusLine {
    started: Instant,
    state: Mutex<State>,
}

struct State {
    stage: String,
    containers: u64,
    last_draw: Option<Instant>,
    frame: usize,
    drawn: bool,
}

impl StatusLine {
    /// A status line if standard error is a terminal, else `None`.
    pub fn for_terminal() -> Option<StatusLine> {
        std::io::stderr().is_terminal().then(|| StatusLine {
            started: Instant::now(),
            state: Mutex::new(State {
                stage: "unpack".into(),
                containers: 0,
                last_draw: None,
                frame: 0,
                drawn: false,
            }),
        })
    }

    fn draw(&self, state: &mut State, detail: &str, force: bool) {
        let now = Instant::now();
        if now.duration_since(self.started) < QUIET_START {
            return;
        }
        if !force && state.last_draw.is_some_and(|t| now.duration_since(t) < REDRAW_EVERY) {
            return;
        }
        state.last_draw = Some(now);
        state.frame = (state.frame + 1) % SPINNER.len();
        let mut line = format!(
            "{} {:>5.1}s {}: {} containers {}",
            SPINNER[state.frame],
            now.duration_since(self.started).as_secs_f64(),
            state.stage,
            state.containers,
            detail
        );
        if line.chars().count() > WIDTH {
            line = line.chars().take(WIDTH - 1).collect::<String>() + "…";
        }
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{line}");
        let _ = err.flush();
        state.drawn = true;
    }
}

impl Observer for StatusLine {
    fn stage(&self, name: &str) {
        if let Ok(mut s) = self.state.lock() {
            s.stage = name.to_string();
            self.draw(&mut s, "", true);
        }
    }

    fn container(&self, chain: &Chain, extracted_bytes: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.containers += 1;
            let detail = format!(
                "{:.1} MiB out, at {}",
                extracted_bytes as f64 / (1 << 20) as f64,
                chain.tail()
            );
            self.draw(&mut s, &detail, false);
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        if self.state.lock().is_ok_and(|s| s.drawn) {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }
}
