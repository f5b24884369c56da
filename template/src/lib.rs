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
//! Other crates use [`helm::process_dependencies`], [`helm::coalesce_values`]
//! (both report [`helm::Warning`]s as Helm logs them),
//! [`helm::validate_values`], [`helm::render`], [`yaml::parse_values`] and
//! [`yaml::to_yaml`].

pub mod error;
pub mod exec;
pub mod funcs;
pub mod gofmt;
pub mod helm;
pub mod json;
pub mod jsonpath;
pub mod parse;
pub mod value;
pub mod yaml;

pub use error::GoError;
pub use value::Value;

/// Runs `f` on a large stack. Templates and values can nest deeply (Go's
/// stacks grow, Rust's do not), so work on untrusted input runs there
/// rather than on the caller's (possibly small) stack. The stack is mapped
/// for the call on the caller's thread (starting a thread for it cost more
/// than rendering a small chart); a call made where all but `NESTED_SLACK`
/// of such a stack is still free — inside [`with_big_stack`], or nested in
/// another call — runs in place, since mapping (and faulting in) a fresh
/// stack costs more than rendering a small chart too. A panic in `f` (a
/// bug) comes back as `Err`.
pub(crate) fn on_big_stack<T>(stack: usize, f: impl FnOnce() -> T) -> Result<T, String> {
    let f = std::panic::AssertUnwindSafe(f);
    stacker::maybe_grow(stack - NESTED_SLACK, stack, move || {
        std::panic::catch_unwind(f)
    })
    .map_err(|panic| {
        format!(
            "internal error: {}",
            panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )
    })
}

/// Runs `f` on the stack the engine's entry points use, so that the ones
/// it calls (dependencies, values, rendering) share it rather than each
/// mapping its own. A panic in `f` comes back as `Err`.
pub fn with_big_stack<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    on_big_stack(BIG_STACK, f)
}

/// Stack for rendering and for decoding untrusted YAML.
pub(crate) const BIG_STACK: usize = 256 << 20;

/// How much of a big stack a call may find used and still run in place.
const NESTED_SLACK: usize = 1 << 20;
