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
mod stack;
pub mod value;
pub mod yaml;

pub use error::GoError;
pub(crate) use stack::{BIG_STACK, on_big_stack};
pub use value::Value;

/// Runs `f` on the stack the engine's entry points use, so that the ones
/// it calls (dependencies, values, rendering) share it rather than each
/// mapping its own. A panic in `f` comes back as `Err`.
pub fn with_big_stack<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    on_big_stack(BIG_STACK, f)
}
