//! Showing an operation's events as they arrive: one plain, timestamped
//! line per event. (Live TTY widgets build on the same event stream.)

use std::io::Write;

use berth::proto::{self, ApplyAction, PlanAction, ReleaseStatus, event::Kind};
use futures::StreamExt;

use crate::CliError;

/// How an operation ended, as the last event said.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed {
        revision: u64,
        status: ReleaseStatus,
        description: String,
        notes: String,
        /// A dry run's rendered release (Helm prints it after one).
        manifest: String,
        hooks_manifest: String,
        /// How many test hooks the revision has.
        test_hooks: u32,
        /// A dry run's values (JSON), for --debug.
        values_json: String,
        computed_values_json: String,
        /// The operation, as the agent accepted it (`upgrade --install`
        /// may install).
        operation: proto::Operation,
        /// What an uninstall left (`helm.sh/resource-policy: keep`), as
        /// Helm lists it: `[Kind] name`, in uninstall order.
        kept: Vec<String>,
    },
    Failed {
        revision: u64,
        reason: String,
        message: String,
        /// As accepted (Unspecified: refused before that).
        operation: proto::Operation,
    },
}

fn human_bytes(n: u64) -> String {
    if n >= 1024 * 1024 {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    } else if n >= 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{n} B")
    }
}

fn left(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 60 {
        format!("{}m{}s left", s / 60, s % 60)
    } else {
        format!("{s}s left")
    }
}

/// The text of one event, or None for events not worth a line.
pub fn describe(ev: &proto::Event) -> Option<String> {
    let obj = |o: &Option<proto::ObjectRef>| o.as_ref().map(|o| o.display()).unwrap_or_default();
    Some(match ev.kind.as_ref()? {
        Kind::Accepted(a) if a.operation == proto::Operation::Test as i32 => format!(
            "testing {} revision {} (by {})",
            ev.release, ev.revision, a.identity
        ),
        Kind::Accepted(a) => {
            let op = proto::Operation::try_from(a.operation)
                .unwrap_or(proto::Operation::Unspecified)
                .verb();
            format!(
                "{op} of {} accepted as revision {} (by {})",
                ev.release, ev.revision, a.identity
            )
        }
        Kind::ChartReceived(c) => {
            let how = if c.cached {
                "already held by the agent, upload skipped".to_string()
            } else {
                format!("{} uploaded", human_bytes(c.size))
            };
            format!(
                "chart {}-{} ({how}, sha256:{})",
                c.chart_name,
                c.chart_version,
                &c.digest[..c.digest.len().min(12)]
            )
        }
        Kind::Rendered(r) => {
            let mut line = format!("rendered {} objects, {} hooks", r.objects, r.hooks);
            for w in &r.warnings {
                line.push_str(&format!("\n  {w}"));
            }
            line
        }
        Kind::Planned(p) => {
            let count = |a: PlanAction| p.changes.iter().filter(|c| c.action == a as i32).count();
            format!(
                "plan: {} to create, {} to update, {} unchanged, {} to delete",
                count(PlanAction::Create),
                count(PlanAction::Update),
                count(PlanAction::Unchanged),
                count(PlanAction::Delete)
            )
        }
        Kind::Phase(p) if p.time_left_ms > 0 => format!("{} ({})", p.name, left(p.time_left_ms)),
        Kind::Phase(p) => p.name.clone(),
        Kind::ResourceApplied(r) => {
            let action = ApplyAction::try_from(r.action)
                .unwrap_or(ApplyAction::Unspecified)
                .word();
            format!("  {} {action}", obj(&r.object))
        }
        Kind::ResourceProgress(r) => format!("  {}: {}", obj(&r.object), r.message),
        Kind::PostRender(_) => {
            "  the rendered documents went to the client's post-renderer".to_string()
        }
        Kind::EventsLimited(l) => format!(
            "the agent keeps at most {} events per operation: progress is not shown until the operation ends",
            l.limit
        ),
        Kind::ResourceReady(r) => {
            let mut text = format!("  {} ready ({})", obj(&r.object), r.message);
            if !r.log_lines.is_empty() {
                text.push_str("\n    output:");
                for l in &r.log_lines {
                    text.push_str(&format!("\n      {l}"));
                }
            }
            text
        }
        Kind::ResourceDiff(d) => crate::diff::resource(d, 3, false).trim_end().to_string(),
        Kind::ResourceFailed(r) => {
            let mut text = format!("  {} failed: {}: {}", obj(&r.object), r.reason, r.message);
            if !r.pod.is_empty() {
                text.push_str(&format!("\n    pod {}", r.pod));
            }
            for e in &r.recent_events {
                text.push_str(&format!("\n    event: {e}"));
            }
            if !r.log_tail.is_empty() {
                text.push_str("\n    last log lines:");
                for l in &r.log_tail {
                    text.push_str(&format!("\n      {l}"));
                }
            }
            text
        }
        Kind::Completed(c) => {
            let st = ReleaseStatus::try_from(c.status)
                .unwrap_or(ReleaseStatus::Unknown)
                .helm_name();
            format!(
                "{} revision {}: {st} ({})",
                ev.release, ev.revision, c.description
            )
        }
        // No status: the operation was refused before it recorded anything.
        Kind::Failed(f) if f.status == ReleaseStatus::Unspecified as i32 => {
            format!("{} refused, nothing changed: {}", ev.release, f.message)
        }
        Kind::Failed(f) => format!(
            "{} revision {} failed: {}",
            ev.release, ev.revision, f.message
        ),
    })
}

/// How an operation's progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One timestamped line per event (no terminal, or a pipe).
    Lines,
    /// Nothing but the result (`-q`).
    Quiet,
    /// Every event as a JSON line (`--events ndjson`).
    Ndjson,
    /// On a terminal: a live line per resource with a spinner, a bar for
    /// workloads with replicas, and the other events as lines above.
    Live,
}

impl Style {
    /// The style for a command's flags and where its output goes.
    pub fn choose(
        io: &crate::Io,
        g: &crate::Global,
        quiet: bool,
        output: crate::output::Format,
    ) -> Style {
        if g.events.is_some() {
            Style::Ndjson
        } else if quiet {
            Style::Quiet
        } else if io.tty && output == crate::output::Format::Table {
            Style::Live
        } else {
            Style::Lines
        }
    }
}

/// Follow an operation as a command does: progress on stdout (on stderr
/// when stdout carries `-o json|yaml`), in the style the flags ask for.
pub async fn follow_io<S>(
    stream: S,
    io: &mut crate::Io,
    g: &crate::Global,
    quiet: bool,
    output: crate::output::Format,
) -> Result<Outcome, CliError>
where
    S: futures::Stream<Item = Result<proto::Event, tonic::Status>> + Unpin,
{
    let style = Style::choose(io, g, quiet, output);
    let out: &mut (dyn Write + Send) =
        if style == Style::Lines && output != crate::output::Format::Table {
            &mut *io.err
        } else {
            &mut *io.out
        };
    let live = (style == Style::Live).then(|| Live::new(io.color));
    follow(stream, out, style, None, live).await
}

/// An event's time of day, in the local zone as every time berth shows.
fn stamp(ms: i64) -> String {
    crate::output::go_layout(ms, "15:04:05")
}

pub use live::Live;

/// Print events until the terminal one; return how the operation ended.
/// `cluster` labels ndjson lines in fleet runs; `live` is the display of
/// [`Style::Live`].
pub async fn follow<S>(
    mut stream: S,
    out: &mut (dyn Write + Send),
    style: Style,
    cluster: Option<&str>,
    mut live: Option<Live>,
) -> Result<Outcome, CliError>
where
    S: futures::Stream<Item = Result<proto::Event, tonic::Status>> + Unpin,
{
    let mut release = String::new();
    let mut operation = proto::Operation::Unspecified;
    let mut kept = Vec::new();
    while let Some(item) = stream.next().await {
        let ev = match item {
            Ok(ev) => ev,
            Err(s) => {
                if let Some(l) = live.as_mut() {
                    l.finish(None);
                }
                return Err(lost(s, &release));
            }
        };
        release.clone_from(&ev.release);
        if let Some(Kind::Accepted(a)) = &ev.kind {
            operation = a.operation();
        }
        if let Some(Kind::ResourceApplied(r)) = &ev.kind
            && r.action() == ApplyAction::Kept
            && let Some(o) = &r.object
        {
            kept.push(format!("[{}] {}", o.kind, o.name));
        }
        match style {
            Style::Quiet => {}
            Style::Ndjson => writeln!(out, "{}", crate::ndjson::event(&ev, cluster))?,
            Style::Lines => {
                if let Some(line) = describe(&ev) {
                    writeln!(out, "{} {line}", stamp(ev.time_unix_ms))?;
                }
            }
            Style::Live => {
                if let Some(l) = live.as_mut() {
                    l.event(&ev, stamp(ev.time_unix_ms));
                }
            }
        }
        let end = match ev.kind {
            Some(Kind::Completed(c)) => Some(Outcome::Completed {
                revision: ev.revision,
                status: ReleaseStatus::try_from(c.status).unwrap_or(ReleaseStatus::Unknown),
                description: c.description,
                notes: c.notes,
                manifest: c.manifest,
                hooks_manifest: c.hooks_manifest,
                test_hooks: c.test_hooks,
                values_json: c.values_json,
                computed_values_json: c.computed_values_json,
                operation,
                kept: std::mem::take(&mut kept),
            }),
            Some(Kind::Failed(f)) => {
                let recorded = f.status != ReleaseStatus::Unspecified as i32;
                Some(Outcome::Failed {
                    // 0: refused before a revision was recorded.
                    revision: if recorded { ev.revision } else { 0 },
                    reason: f.reason,
                    message: f.message,
                    operation,
                })
            }
            _ => None,
        };
        if let Some(end) = end {
            if let Some(l) = live.as_mut() {
                l.finish(Some(&end));
            }
            return Ok(end);
        }
    }
    if let Some(l) = live.as_mut() {
        l.finish(None);
    }
    Err(CliError::Connect(format!(
        "the agent closed the event stream before the operation ended; `berth watch {release}` re-attaches, `berth status {release}` shows the outcome"
    )))
}

/// A failure in the middle of an operation's event stream. Once events
/// flowed, a transport failure means the connection broke: the operation
/// may go on (or was interrupted if the agent stopped).
fn lost(s: tonic::Status, release: &str) -> CliError {
    use std::error::Error;
    let transport = matches!(
        s.code(),
        tonic::Code::Unknown | tonic::Code::Unavailable | tonic::Code::Internal
    ) && s.source().is_some();
    if release.is_empty() || !transport {
        return crate::connect::status_error(s);
    }
    CliError::Connect(format!(
        "lost the connection to the agent during the operation ({}); it may still be running, or was interrupted if the agent stopped: `berth watch {release}` re-attaches, `berth status {release}` shows the outcome",
        crate::connect::root_cause(&s)
    ))
}

mod live {
    //! The terminal display: indicatif bars under a MultiProgress drawing
    //! to stdout; lines for other events are printed above the bars.

    use std::collections::HashMap;
    use std::time::Duration;

    use berth::proto::{self, ApplyAction, event::Kind};
    use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

    pub struct Live {
        multi: MultiProgress,
        bars: HashMap<String, ProgressBar>,
        color: bool,
        group: Option<Group>,
    }

    /// One cluster's block in a fleet display: a header line with the
    /// cluster's name and current phase, its resources below it.
    struct Group {
        header: ProgressBar,
        last: ProgressBar,
    }

    fn style(template: &str) -> ProgressStyle {
        ProgressStyle::with_template(template)
            .expect("a valid template")
            .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ")
            .progress_chars("=> ")
    }

    fn key(o: &Option<proto::ObjectRef>) -> (String, String) {
        match o {
            Some(o) => (
                format!("{}/{}/{}/{}", o.api_version, o.kind, o.namespace, o.name),
                o.display(),
            ),
            None => (String::new(), String::new()),
        }
    }

    impl Live {
        /// A display of its own, drawn on stdout.
        pub fn new(color: bool) -> Live {
            Live {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(15)),
                bars: HashMap::new(),
                color,
                group: None,
            }
        }

        /// The display all clusters of a fleet run share.
        pub fn shared() -> MultiProgress {
            MultiProgress::with_draw_target(ProgressDrawTarget::stdout_with_hz(15))
        }

        /// One cluster's block in a shared display.
        pub fn group(multi: &MultiProgress, name: &str, color: bool) -> Live {
            let header = multi.add(ProgressBar::new_spinner());
            header.set_style(style(if color {
                "{spinner:.cyan} {prefix:.bold} {msg}"
            } else {
                "{spinner} {prefix} {msg}"
            }));
            header.set_prefix(format!("[{name}]"));
            header.set_message("connecting");
            header.enable_steady_tick(Duration::from_millis(100));
            Live {
                multi: multi.clone(),
                bars: HashMap::new(),
                color,
                group: Some(Group {
                    last: header.clone(),
                    header,
                }),
            }
        }

        fn paint(&self, plain: &str, colored: &str) -> ProgressStyle {
            style(if self.color { colored } else { plain })
        }

        fn bar(&mut self, o: &Option<proto::ObjectRef>) -> ProgressBar {
            let (k, label) = key(o);
            if let Some(b) = self.bars.get(&k) {
                return b.clone();
            }
            let b = match &mut self.group {
                Some(g) => {
                    let b = self.multi.insert_after(&g.last, ProgressBar::new_spinner());
                    g.last = b.clone();
                    b
                }
                None => self.multi.add(ProgressBar::new_spinner()),
            };
            b.set_style(self.paint(
                "  {spinner} {prefix} {msg}",
                "  {spinner:.cyan} {prefix:.bold} {msg}",
            ));
            b.set_prefix(label);
            b.enable_steady_tick(Duration::from_millis(100));
            self.bars.insert(k, b.clone());
            b
        }

        /// A line for an event without a resource: above the display, or
        /// in a fleet run as the cluster's header (its current phase).
        fn line(&self, text: String) {
            match &self.group {
                Some(g) => g.header.set_message(text),
                None => {
                    let _ = self.multi.println(text);
                }
            }
        }

        pub fn event(&mut self, ev: &proto::Event, stamp: String) {
            match ev.kind.as_ref() {
                Some(Kind::ResourceApplied(r)) => {
                    let b = self.bar(&r.object);
                    let action = ApplyAction::try_from(r.action)
                        .unwrap_or(ApplyAction::Unspecified)
                        .word();
                    b.set_message(action.to_string());
                }
                Some(Kind::ResourceProgress(r)) => {
                    let b = self.bar(&r.object);
                    if r.desired > 0 {
                        b.set_style(self.paint(
                            "  {spinner} {prefix} [{bar:20}] {pos}/{len} ready {msg}",
                            "  {spinner:.cyan} {prefix:.bold} [{bar:20.cyan/blue}] {pos}/{len} ready {msg}",
                        ));
                        b.set_length(r.desired as u64);
                        b.set_position(r.ready as u64);
                    }
                    b.set_message(r.message.clone());
                }
                Some(Kind::ResourceReady(r)) => {
                    let b = self.bar(&r.object);
                    b.set_style(self.paint("  ✓ {prefix} {msg}", "  {prefix:.green} {msg}"));
                    if self.color {
                        b.set_prefix(format!("✓ {}", key(&r.object).1));
                    }
                    b.finish_with_message(format!("ready ({})", r.message));
                    for l in &r.log_lines {
                        self.line(format!("      {l}"));
                    }
                }
                Some(Kind::ResourceFailed(r)) => {
                    let b = self.bar(&r.object);
                    b.set_style(self.paint("  ✗ {prefix} {msg}", "  {prefix:.red} {msg}"));
                    if self.color {
                        b.set_prefix(format!("✗ {}", key(&r.object).1));
                    }
                    b.abandon_with_message(format!("{}: {}", r.reason, r.message));
                    if let Some(text) = super::describe(ev) {
                        // The details (pod, events, log tail) below the header line.
                        for l in text.lines().skip(1) {
                            self.line(l.to_string());
                        }
                    }
                }
                _ => {
                    if let Some(text) = super::describe(ev) {
                        if self.group.is_some() {
                            self.line(text);
                        } else {
                            self.line(format!("{stamp} {text}"));
                        }
                    }
                }
            }
        }

        /// Stop the spinners of objects that never reported ready (kinds
        /// without readiness, or an operation that ended first); in a fleet
        /// run, end the cluster's header with the outcome.
        pub fn finish(&mut self, end: Option<&super::Outcome>) {
            for b in self.bars.values() {
                if !b.is_finished() {
                    b.finish();
                }
            }
            if let Some(g) = &self.group {
                let (ok, text) = match end {
                    Some(super::Outcome::Completed {
                        revision, status, ..
                    }) => (true, format!("revision {revision}: {}", status.helm_name())),
                    Some(super::Outcome::Failed {
                        reason, message, ..
                    }) => (false, format!("{reason}: {message}")),
                    None => (false, "the event stream ended early".to_string()),
                };
                let mark = if ok { "✓" } else { "✗" };
                g.header.set_style(match (self.color, ok) {
                    (true, true) => style("{prefix:.green.bold} {msg}"),
                    (true, false) => style("{prefix:.red.bold} {msg}"),
                    (false, _) => style("{prefix} {msg}"),
                });
                g.header.set_prefix(format!("{mark} {}", g.header.prefix()));
                g.header.finish_with_message(text);
            }
        }
    }
}
