//! The chart unpacker (src/chart/archive.rs) and loader (src/chart.rs):
//! whatever bytes arrive, `unpack` and `build` refuse them or load them,
//! within the limits, never panicking.
//!
//! Three shapes of input, so that the fuzzer reaches every layer: raw
//! bytes (the gzip reader), gzipped bytes (the tar reader), and tar
//! entries it chooses — names, types, contents, packed subcharts — written
//! with valid checksums (the loader: Chart.yaml, values, subcharts).

#![no_main]

use std::io::Write;

use berth::chart::{Limits, build, unpack};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>),
    Gzipped(Vec<u8>),
    Entries(Vec<Entry>),
}

#[derive(Arbitrary, Debug)]
struct Entry {
    name: Name,
    /// The tar entry type byte ('0' regular, '2' symlink, '5' directory…).
    kind: u8,
    data: Vec<u8>,
}

#[derive(Arbitrary, Debug)]
enum Name {
    /// `c/Chart.yaml`, starting with a valid head when asked.
    ChartYaml {
        valid_head: bool,
    },
    ValuesYaml,
    RequirementsYaml,
    Template(String),
    /// `c/charts/<name>.tgz`, packed from these entries.
    Subchart(String, Vec<Entry>),
    /// Any name, written byte for byte.
    Raw(Vec<u8>),
}

const HEAD: &[u8] = b"apiVersion: v1\nname: c\nversion: 1.0.0\n";

/// Small limits: the fuzzer explores them instead of allocating.
fn limits() -> Limits {
    Limits {
        max_packed: 1 << 20,
        max_unpacked: 4 << 20,
        max_file: 1 << 20,
        max_files: 200,
        max_depth: 8,
        max_path: 256,
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for e in entries {
        let (name, data): (Vec<u8>, Vec<u8>) = match &e.name {
            Name::ChartYaml { valid_head } => {
                let mut d = if *valid_head {
                    HEAD.to_vec()
                } else {
                    Vec::new()
                };
                d.extend_from_slice(&e.data);
                (b"c/Chart.yaml".to_vec(), d)
            }
            Name::ValuesYaml => (b"c/values.yaml".to_vec(), e.data.clone()),
            Name::RequirementsYaml => (b"c/requirements.yaml".to_vec(), e.data.clone()),
            Name::Template(n) => (format!("c/templates/{n}").into_bytes(), e.data.clone()),
            Name::Subchart(n, inner) => (format!("c/charts/{n}.tgz").into_bytes(), tgz(inner)),
            Name::Raw(n) => (n.clone(), e.data.clone()),
        };
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::new(e.kind));
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        let field = &mut h.as_old_mut().name;
        let n = name.len().min(field.len());
        field[..n].copy_from_slice(&name[..n]);
        h.set_cksum();
        let _ = t.append(&h, data.as_slice());
    }
    gzip(&t.into_inner().unwrap_or_default())
}

fuzz_target!(|input: Input| {
    let bytes = match input {
        Input::Raw(b) => b,
        Input::Gzipped(b) => gzip(&b),
        Input::Entries(entries) => tgz(&entries),
    };
    let limits = limits();
    if let Ok(files) = unpack(&bytes, &limits) {
        assert!(files.len() <= limits.max_files);
        let total: usize = files.iter().map(|f| f.data.len()).sum();
        assert!(total as u64 <= limits.max_unpacked);
        if let Err(e) = build(&files, &limits) {
            // The YAML readers turn a panic into an "internal error".
            assert!(!e.to_string().contains("internal error"), "{e}");
        }
    }
});
