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
//! * [`helm`] — charts: values coalescing and `engine.Render`.
//!
//! Other crates use [`helm::render`], [`helm::coalesce_values`],
//! [`yaml::parse_values`] and [`yaml::to_yaml`].

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
