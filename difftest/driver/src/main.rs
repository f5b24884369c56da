//! The berth side of difftest/ (README.md, "Differential testing"): reads
//! one JSON request a line on stdin and answers each with one JSON line on
//! stdout, so that the Python harness renders thousands of cases without
//! starting a process for each.
//!
//! - `{"op":"render","dir":D,"values":{..},"opts":{..}}` loads the chart
//!   directory D as berthd does (`chart::load_path`, `chart::build`),
//!   processes its dependencies, coalesces the values and renders, as
//!   helm-python-sdk's `helm_render` does with Helm's engine. Answers
//!   `{"output":{path:text}}`, `{"error":msg}` (a load error as
//!   `"LOAD: "`+msg, as the Helm worker writes it), `{"hang":..}` when the
//!   render outran `timeout_ms`, or `{"panic":..}`.
//! - `{"op":"strvals","kind":"set|string|json|literal","expr":E}` parses a
//!   `--set`-family expression: `{"values":{..}}` or `{"error":msg}`.
//!
//! A panic is answered, not fatal: the driver goes on with the next line.
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use berth_template::helm::{self, ReleaseOptions, RenderError, RenderOptions};
use serde_json::{Value as J, json};

/// How long a render may run before it is cancelled and answered as a hang.
const DEFAULT_TIMEOUT_MS: u64 = 8000;

fn release_options(o: &J) -> ReleaseOptions {
    ReleaseOptions {
        name: o["name"].as_str().unwrap_or("rel").into(),
        namespace: o["namespace"].as_str().unwrap_or("ns").into(),
        revision: o["revision"].as_u64().unwrap_or(1),
        is_install: o["is_install"].as_bool().unwrap_or(true),
        is_upgrade: o["is_upgrade"].as_bool().unwrap_or(false),
    }
}

/// Sets `cancel` once `timeout` passes, unless dropped (the render ended) first.
struct Watchdog {
    _done: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(cancel: Arc<AtomicBool>, timeout: Duration) -> Watchdog {
        let (done, wait) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(timeout) {
                cancel.store(true, Ordering::Relaxed);
            }
        });
        Watchdog { _done: done }
    }
}

fn render(req: &J) -> J {
    let dir = req["dir"].as_str().unwrap_or("");
    let limits = berth::chart::Limits::default();
    let loaded = match berth::chart::load_path(Path::new(dir), &limits)
        .and_then(|files| berth::chart::build(&files, &limits))
    {
        Ok(l) => l,
        Err(e) => return json!({"error": format!("LOAD: {e}")}),
    };
    let user = berth::values::helm_numbers(req["values"].clone());
    let cancel = Arc::new(AtomicBool::new(false));
    let mut opts = RenderOptions::new(release_options(&req["opts"]));
    opts.strict = req["opts"]["strict"].as_bool().unwrap_or(false);
    opts.cancel = Some(cancel.clone());
    let timeout = Duration::from_millis(req["timeout_ms"].as_u64().unwrap_or(DEFAULT_TIMEOUT_MS));
    let _watchdog = Watchdog::start(cancel, timeout);
    let chart = &loaded.chart;
    let mut log = Vec::new();
    let r = berth_template::with_big_stack(|| {
        let processed =
            helm::process_dependencies(chart, &user, &mut log).map_err(|e| e.to_string())?;
        let values =
            helm::coalesce_values(&processed, &user, &mut log).map_err(|e| e.to_string())?;
        helm::render(&processed, &values, &opts).map_err(|e| match e {
            RenderError::Cancelled => format!("HANG: {e}"),
            e => e.to_string(),
        })
    });
    match r {
        Ok(Ok(out)) => json!({"output": out}),
        Ok(Err(e)) if e.starts_with("HANG: ") => json!({"hang": e}),
        Ok(Err(e)) => json!({"error": e}),
        Err(p) => json!({"panic": p}),
    }
}

fn strvals(req: &J) -> J {
    let expr = req["expr"].as_str().unwrap_or("");
    let mut values = serde_json::Map::new();
    let r = match req["kind"].as_str().unwrap_or("set") {
        "set" => berth::values::parse_into(expr, &mut values),
        "string" => berth::values::parse_string_into(expr, &mut values),
        "json" => berth::values::parse_json_into(expr, &mut values),
        "literal" => berth::values::parse_literal_into(expr, &mut values),
        k => Err(format!("difftest driver: unknown strvals kind {k:?}")),
    };
    match r {
        Ok(()) => json!({"values": J::Object(values)}),
        Err(e) => json!({"error": e}),
    }
}

fn answer(req: &J) -> J {
    match req["op"].as_str() {
        Some("render") => render(req),
        Some("strvals") => strvals(req),
        op => json!({"error": format!("difftest driver: unknown op {op:?}")}),
    }
}

fn main() {
    // The panic hook keeps the message (with its location) for the answer,
    // and keeps stderr quiet.
    let panicked: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let hook = panicked.clone();
    std::panic::set_hook(Box::new(move |info| {
        *hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(info.to_string());
    }));
    let mut stdout = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let res = match serde_json::from_str::<J>(&line) {
            Ok(req) => {
                *panicked.lock().unwrap_or_else(|e| e.into_inner()) = None;
                let res = std::panic::catch_unwind(|| answer(&req))
                    .unwrap_or_else(|_| json!({"panic": "unwound"}));
                match panicked.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    Some(p) => json!({"panic": p}),
                    None => res,
                }
            }
            Err(e) => json!({"error": format!("difftest driver: bad request: {e}")}),
        };
        if writeln!(stdout, "{res}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
}
