//! The `indicatif` implementation of [`Reporter`]: one overall bar per
//! stage and one bar per download on a terminal; when stderr is not a
//! terminal (CI logs), one line per finished stage that took a while, with
//! its count and time, and for long stages a line every so often saying
//! how far they are, instead. `--no-progress` hides both. Warnings are
//! always printed (unless `-q`).

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use vendor::progress::{Reporter, TaskId};

pub struct TerminalReporter {
    multi: MultiProgress,
    stage: Mutex<Option<ProgressBar>>,
    /// The spinner of the running activity.
    activity: Mutex<Option<ProgressBar>>,
    tasks: Mutex<HashMap<TaskId, ProgressBar>>,
    quiet: bool,
    /// Print a line per finished stage (stderr is not a terminal).
    log_stages: bool,
    /// The running stage, for those lines.
    stage_log: Mutex<Option<StageLog>>,
}

/// A stage as the log lines show it.
struct StageLog {
    stage: String,
    total: u64,
    done: u64,
    started: Instant,
    /// When a line about this stage was last printed.
    last_line: Instant,
}

/// How long a stage runs silently in a log before a line says how far it is
/// (a CI log showing nothing for minutes looks hung).
const HEARTBEAT: Duration = Duration::from_secs(10);

impl TerminalReporter {
    pub fn new(show_progress: bool, quiet: bool) -> Self {
        let terminal = std::io::stderr().is_terminal();
        let target = if show_progress && terminal {
            ProgressDrawTarget::stderr_with_hz(10)
        } else {
            ProgressDrawTarget::hidden()
        };
        Self {
            multi: MultiProgress::with_draw_target(target),
            stage: Mutex::new(None),
            activity: Mutex::new(None),
            tasks: Mutex::new(HashMap::new()),
            quiet,
            log_stages: show_progress && !terminal && !quiet,
            stage_log: Mutex::new(None),
        }
    }

    /// Print a line above the bars.
    pub fn println(&self, line: &str) {
        if self.multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = self.multi.println(line);
        }
    }
}

impl Reporter for TerminalReporter {
    fn activity_started(&self, message: &str) {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        if let Some(previous) = self.activity.lock().expect("reporter lock").replace(bar) {
            previous.finish_and_clear();
        }
    }

    fn activity_finished(&self) {
        if let Some(bar) = self.activity.lock().expect("reporter lock").take() {
            bar.finish_and_clear();
        }
    }

    fn stage_started(&self, stage: &str, total: u64) {
        let bar = self.multi.add(ProgressBar::new(total));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {wide_msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(stage.to_string());
        *self.stage.lock().expect("reporter lock") = Some(bar);
        if self.log_stages {
            *self.stage_log.lock().expect("reporter lock") = Some(StageLog {
                stage: stage.to_string(),
                total,
                done: 0,
                started: Instant::now(),
                last_line: Instant::now(),
            });
        }
    }

    fn stage_advanced(&self, label: &str) {
        if let Some(bar) = self.stage.lock().expect("reporter lock").as_ref() {
            bar.set_message(label.to_string());
            bar.inc(1);
        }
        if let Some(log) = self.stage_log.lock().expect("reporter lock").as_mut() {
            log.done += 1;
            if log.last_line.elapsed() >= HEARTBEAT {
                log.last_line = Instant::now();
                eprintln!(
                    "{:>12} {}/{}: {label} done after {:.0} s",
                    log.stage,
                    log.done,
                    log.total,
                    log.started.elapsed().as_secs_f64()
                );
            }
        }
    }

    fn stage_finished(&self) {
        if let Some(bar) = self.stage.lock().expect("reporter lock").take() {
            bar.finish_and_clear();
        }
        if let Some(log) = self.stage_log.lock().expect("reporter lock").take() {
            // A stage that found everything done (all cached) is not news.
            let seconds = log.started.elapsed().as_secs_f64();
            if seconds >= 0.01 {
                eprintln!("{:>12} {} in {seconds:.2} s", log.stage, log.total);
            }
        }
    }

    fn task_started(&self, id: TaskId, label: &str, total_bytes: Option<u64>) {
        let bar = self.multi.add(ProgressBar::new(total_bytes.unwrap_or(0)));
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} {wide_msg} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12}",
            )
            .expect("valid template"),
        );
        bar.set_prefix("downloading");
        bar.set_message(label.to_string());
        self.tasks.lock().expect("reporter lock").insert(id, bar);
    }

    fn task_progress(&self, id: TaskId, done_bytes: u64) {
        if let Some(bar) = self.tasks.lock().expect("reporter lock").get(&id) {
            bar.set_position(done_bytes);
        }
    }

    fn task_finished(&self, id: TaskId) {
        if let Some(bar) = self.tasks.lock().expect("reporter lock").remove(&id) {
            bar.finish_and_clear();
        }
    }

    fn warn(&self, message: &str) {
        if !self.quiet {
            self.println(&format!("warning: {message}"));
        }
    }
}
