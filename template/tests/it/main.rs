//! berth-template's integration tests: differential tests against golden
//! files produced by real Helm (see `tests/golden/regen.py`).

mod cases;
mod charts;
mod robustness;
mod support;
