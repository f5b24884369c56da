//! Helm's `--set` family (src/values/strvals.rs, literal.rs): any text
//! must parse or fail with an error, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Into an empty map, and into one the expression may collide with
    // (`--set a=1 --set a.b=2`).
    let seeded = || -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("a".into(), Value::from(1));
        m.insert("b".into(), serde_json::json!({"c": [1, {"d": "e"}]}));
        m
    };
    for mut dest in [Map::new(), seeded()] {
        let _ = berth::values::parse_into(text, &mut dest.clone());
        let _ = berth::values::parse_string_into(text, &mut dest.clone());
        let _ = berth::values::parse_json_into(text, &mut dest.clone());
        let _ = berth::values::parse_literal_into(text, &mut dest);
    }
});
