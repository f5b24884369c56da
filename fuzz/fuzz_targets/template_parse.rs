//! The Go-template parser of berth-template: any text must parse or fail
//! with an error, never panic. It runs on a big stack, as rendering does
//! (templates nest deeply; see `berth_template::on_big_stack`).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let funcs = berth_template::funcs::all();
    stacker::grow(256 << 20, || {
        let _ =
            berth_template::parse::parse("fuzz/templates/t.yaml", text, &|f| funcs.contains_key(f));
    });
});
