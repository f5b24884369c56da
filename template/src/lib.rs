//! berth-template: Go's `text/template`, Sprig and Helm's chart rendering,
//! reproducing Helm v4 byte for byte.
//!
//! Layers, bottom up:
//! * [`value`] — the runtime values (Go's types as far as templates see them);
//! * [`gofmt`], [`json`], [`yaml`] — Go's `fmt`, `encoding/json`, and the YAML
//!   Helm reads and writes;
//! * [`parse`] and [`exec`] — the template language (Go's `text/template/parse`
//!   and `exec.go`);
//! * [`funcs`] — Go's builtins, Sprig, Helm's functions;
//! * [`helm`] — charts: dependency processing, values coalescing, schema
//!   validation and `engine.Render`.
//!
//! Other crates use [`helm::process_dependencies`], [`helm::coalesce_values`],
//! [`helm::validate_values`], [`helm::render`], [`yaml::parse_values`] and
//! [`yaml::to_yaml`].

pub mod error;
pub mod exec;
pub mod funcs;
pub mod gofmt;
pub mod helm;
pub mod json;
pub mod parse;
pub mod value;
pub mod yaml;

pub use error::GoError;
pub use value::Value;

/// Runs `f` on a thread with a large stack. Templates and values can nest
/// deeply (Go's stacks grow, Rust's do not), so work on untrusted input runs
/// there rather than on the caller's (possibly small) stack. A panic in `f`
/// (a bug) comes back as `Err`; if no thread can be started, `f` runs here.
pub(crate) fn on_big_stack<T: Send>(
    stack: usize,
    f: impl FnOnce() -> T + Send,
) -> Result<T, String> {
    let job = std::sync::Mutex::new(Some(f));
    let run = || {
        let f = job.lock().ok().and_then(|mut j| j.take());
        f.map(|f| f())
    };
    let outcome = std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("berth-template".into())
            .stack_size(stack)
            .spawn_scoped(scope, run)
        {
            Ok(handle) => Some(handle.join()),
            Err(_) => None,
        }
    });
    match outcome {
        Some(Ok(Some(v))) => Ok(v),
        Some(Ok(None)) => Err("internal error: job already taken".into()),
        Some(Err(panic)) => Err(format!(
            "internal error: {}",
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )),
        None => run().ok_or_else(|| "internal error: job already taken".to_string()),
    }
}

/// Stack for rendering and for decoding untrusted YAML.
pub(crate) const BIG_STACK: usize = 256 << 20;
