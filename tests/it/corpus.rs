//! The malicious corpus: hostile or malformed chart bundles, upload streams,
//! values and chart directories, generated here (never stored as blobs),
//! each sent to one running agent with small limits. Every one must be
//! refused with an error that names the problem, the agent must keep
//! serving (a good install afterwards succeeds), and neither the journal
//! nor the cluster may change.
//!
//! What the CLI itself would refuse to send (unsafe archives, broken
//! streams, invalid Chart.yaml…) goes over gRPC directly, as a hostile
//! client would send it; what a user can produce (chart directories with
//! bad templates, big values files…) goes through the CLI.

use berth::chart::BufferedFile;
use berth::proto::{self, UpgradeHeader, UpgradeMode, UpgradeRequest, upgrade_request::Msg};
use tar::EntryType;

use crate::common::{Env, path, refusal_of};

const MAX_PACKED: u64 = 256 << 10;
const MAX_UNPACKED: u64 = 1 << 20;
const MAX_FILE: u64 = 128 << 10;
const MAX_FILES: usize = 64;
const MAX_DEPTH: usize = 8;
const MAX_PATH: usize = 200;
const MAX_VALUES: usize = 64 << 10;
const MAX_OBJECTS: usize = 20;

const CHART_YAML: &str = "apiVersion: v2\nname: bad\nversion: 0.1.0\n";
const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  message: {{ .Values.message | quote }}\n";

/// Nine levels of ten aliases: 10^9 nodes if expanded, under `indent`.
fn billion_laughs(indent: &str) -> String {
    let mut y = format!("{indent}a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        y.push_str(&format!("{indent}a{i}: &a{i} [{refs}]\n"));
    }
    y
}

fn file(name: &str, data: impl Into<Vec<u8>>) -> BufferedFile {
    BufferedFile {
        name: name.into(),
        data: data.into().into(),
    }
}

/// A good chart `bad` (one ConfigMap) with `changes` applied: a file
/// replaced or added, or removed when its data is None.
fn chart_with(changes: Vec<(&str, Option<Vec<u8>>)>) -> Vec<BufferedFile> {
    let mut files = vec![
        file("Chart.yaml", CHART_YAML),
        file("values.yaml", "message: hi\n"),
        file("templates/cm.yaml", CONFIGMAP),
    ];
    for (name, data) in changes {
        files.retain(|f| f.name != name);
        if let Some(data) = data {
            files.push(file(name, data));
        }
    }
    files
}

/// The chart packed as the CLI packs it.
fn bundle(files: &[BufferedFile]) -> Vec<u8> {
    berth::chart::pack(files, "bad").unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A raw tar entry: its name is written byte for byte into the header,
/// whatever it is.
fn raw_header(name: &[u8], kind: EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.as_old_mut().name[..name.len()].copy_from_slice(name);
    if matches!(kind, EntryType::Symlink | EntryType::Link) {
        h.as_old_mut().linkname[..11].copy_from_slice(b"/etc/passwd");
    }
    h.set_cksum();
    h
}

/// A gzip tar of the good chart's files followed by hostile raw entries.
fn tgz_with(raw: &[(&[u8], EntryType, &[u8])]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for f in chart_with(vec![]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(f.data.len() as u64);
        h.set_mode(0o644);
        t.append_data(&mut h, format!("bad/{}", f.name), &f.data[..])
            .unwrap();
    }
    for (name, kind, data) in raw {
        t.append(&raw_header(name, *kind, data.len() as u64), *data)
            .unwrap();
    }
    gzip(&t.into_inner().unwrap())
}

/// A gzip tar of these files (names through tar's own encoding, so long
/// names get GNU long-name entries).
fn tgz_files(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut t = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        t.append_data(&mut h, name, data.as_slice()).unwrap();
    }
    gzip(&t.into_inner().unwrap())
}

/// The good chart's files as (archive name, data), plus `extra`.
fn chart_entries(extra: Vec<(String, Vec<u8>)>) -> Vec<(String, Vec<u8>)> {
    chart_with(vec![])
        .into_iter()
        .map(|f| (format!("bad/{}", f.name), f.data.to_vec()))
        .chain(extra)
        .collect()
}

/// A gzip bomb inside a GNU long-name entry, which tar readers buffer whole.
fn long_name_bomb() -> Vec<u8> {
    let mut raw = Vec::new();
    raw.extend_from_slice(raw_header(b"././@LongLink", EntryType::GNULongName, 8 << 20).as_bytes());
    raw.resize(raw.len() + (8 << 20), b'a');
    gzip(&raw)
}

/// A chart `name` whose charts/ holds `sub` packed.
fn with_packed_subchart(name: &str, sub: Option<(&str, Vec<u8>)>) -> Vec<BufferedFile> {
    let mut files = vec![file(
        "Chart.yaml",
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
    )];
    if let Some((sub_name, bytes)) = sub {
        files.push(file(&format!("charts/{sub_name}.tgz"), bytes));
    }
    files
}

fn nested_subcharts(levels: usize) -> Vec<u8> {
    let mut chart = with_packed_subchart("c0", None);
    for i in 1..=levels {
        let packed = berth::chart::pack(&chart, &format!("c{}", i - 1)).unwrap();
        chart = with_packed_subchart(&format!("c{i}"), Some((&format!("c{}", i - 1), packed)));
    }
    chart[0].data = CHART_YAML.into();
    bundle(&chart)
}

fn header(bytes: &[u8]) -> UpgradeHeader {
    UpgradeHeader {
        release: String::new(),
        namespace: "default".into(),
        mode: UpgradeMode::Install as i32,
        values_json: "{}".into(),
        chart_digest: berth::chart::sha256_hex(bytes),
        chart_size: bytes.len() as u64,
        options: Some(proto::OperationOptions::default()),
        client: None,
        // These cases send chunks.
        chart_connection: false,
        remote_schemas: Default::default(),
    }
}

fn msg(m: Msg) -> UpgradeRequest {
    UpgradeRequest { msg: Some(m) }
}

fn chunks(bytes: &[u8]) -> Vec<UpgradeRequest> {
    bytes
        .chunks(proto::CHUNK_SIZE)
        .map(|c| msg(Msg::Chunk(c.to_vec().into())))
        .collect()
}

fn trailer(sent: u64) -> UpgradeRequest {
    msg(Msg::Trailer(proto::UpgradeTrailer { sent_bytes: sent }))
}

/// A whole, well-formed upload of `bytes` with this header.
fn upload(h: UpgradeHeader, bytes: &[u8]) -> Vec<UpgradeRequest> {
    let mut m = vec![msg(Msg::Header(h))];
    m.extend(chunks(bytes));
    m.push(trailer(bytes.len() as u64));
    m
}

/// How a case reaches the agent.
enum Input {
    /// A chart bundle, uploaded whole with its true digest and size.
    Bundle(Vec<u8>),
    /// The good chart with these user values (JSON, as the CLI sends them).
    Values(String),
    /// A hand-made upload stream.
    Stream(Vec<UpgradeRequest>),
    /// `berth install NAME` with these arguments (a chart directory, -f…),
    /// for what a user can produce.
    Cli(Vec<String>),
}

struct Case {
    what: &'static str,
    input: Input,
    /// Part of the error that names the problem.
    expect: String,
}

fn case(what: &'static str, input: Input, expect: impl Into<String>) -> Case {
    Case {
        what,
        input,
        expect: expect.into(),
    }
}

/// Send an upload stream as a hostile client would; return the agent's
/// refusal in its own words.
async fn refusal(env: &Env, mut messages: Vec<UpgradeRequest>, release: &str) -> String {
    for m in &mut messages {
        if let Some(Msg::Header(h)) = &mut m.msg {
            h.release = release.to_string();
        }
    }
    let mut client = berth_cli::connect::connect(&env.target())
        .await
        .expect("the agent is serving");
    match client.upgrade(futures::stream::iter(messages)).await {
        Err(status) => status.message().to_string(),
        Ok(r) => refusal_of(r.into_inner()).await,
    }
}

/// A chart directory written from the good chart with `changes`.
fn chart_dir(env: &Env, name: &str, changes: Vec<(&str, Option<Vec<u8>>)>) -> String {
    let dir = env.dir.path().join("charts").join(name);
    for f in chart_with(changes) {
        let p = dir.join(&f.name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f.data).unwrap();
    }
    path(&dir)
}

fn text_file(env: &Env, name: &str, text: &str) -> String {
    let p = env.dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    path(&p)
}

fn t(s: &str) -> Option<Vec<u8>> {
    Some(s.as_bytes().to_vec())
}

fn archive_cases() -> Vec<Case> {
    use EntryType as T;
    let many_files: Vec<(String, Vec<u8>)> = (0..2000)
        .map(|i| (format!("bad/files/f{i}.txt"), b"x".to_vec()))
        .collect();
    let zeros = vec![0u8; 100 << 10];
    let names: Vec<String> = (0..20).map(|i| format!("bad/zeros{i}.bin")).collect();
    let bomb: Vec<(&[u8], T, &[u8])> = names
        .iter()
        .map(|n| (n.as_bytes(), T::Regular, zeros.as_slice()))
        .collect();
    let good = bundle(&chart_with(vec![]));
    let mut corrupt = good.clone();
    corrupt[10] = 0x07; // first deflate block: reserved type 3
    let mut random = Vec::new();
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        random.push(x as u8);
    }
    let plain_tar = {
        let mut t = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(CHART_YAML.len() as u64);
        t.append_data(&mut h, "bad/Chart.yaml", CHART_YAML.as_bytes())
            .unwrap();
        t.into_inner().unwrap()
    };
    let mut sub = with_packed_subchart("sub", None);
    for i in 0..10 {
        sub.push(file(&format!("data{i}.txt"), vec![b's'; 120 << 10]));
    }
    let sub_bomb = bundle(&chart_with(vec![(
        "charts/sub.tgz",
        Some(berth::chart::pack(&sub, "sub").unwrap()),
    )]));
    let limit = |what: &str, limit: &str| format!("chart: {what} exceeds the limit of {limit}");
    vec![
        case(
            "path traversal",
            Input::Bundle(tgz_with(&[(b"bad/../../etc/passwd", T::Regular, b"x")])),
            "bad/../../etc/passwd: chart illegally references parent directory",
        ),
        case(
            "traversal inside the chart",
            Input::Bundle(tgz_with(&[(b"bad/templates/../../../x", T::Regular, b"x")])),
            "chart illegally references parent directory",
        ),
        case(
            "absolute path",
            Input::Bundle(tgz_with(&[(b"/etc/cron.d/evil", T::Regular, b"x")])),
            "/etc/cron.d/evil: chart illegally contains absolute paths",
        ),
        case(
            "symbolic link",
            Input::Bundle(tgz_with(&[(b"bad/templates/link.yaml", T::Symlink, b"")])),
            "bad/templates/link.yaml: a symbolic link is not allowed",
        ),
        case(
            "hard link",
            Input::Bundle(tgz_with(&[(b"bad/hard", T::Link, b"")])),
            "bad/hard: a hard link is not allowed",
        ),
        case(
            "character device",
            Input::Bundle(tgz_with(&[(b"bad/null", T::Char, b"")])),
            "bad/null: a device is not allowed",
        ),
        case(
            "block device",
            Input::Bundle(tgz_with(&[(b"bad/sda", T::Block, b"")])),
            "bad/sda: a device is not allowed",
        ),
        case(
            "FIFO",
            Input::Bundle(tgz_with(&[(b"bad/pipe", T::Fifo, b"")])),
            "bad/pipe: a FIFO is not allowed",
        ),
        case(
            "duplicate entry",
            Input::Bundle(tgz_with(&[(
                b"bad/values.yaml",
                T::Regular,
                b"message: again\n",
            )])),
            "bad/values.yaml: the archive holds this file twice",
        ),
        case(
            "duplicate through ./",
            Input::Bundle(tgz_with(&[(
                b"bad/./Chart.yaml",
                T::Regular,
                CHART_YAML.as_bytes(),
            )])),
            "the archive holds this file twice",
        ),
        case(
            "gzip bomb: 2 MiB of zeros in 2 KiB",
            Input::Bundle(tgz_with(&bomb)),
            limit("unpacked chart size", &format!("{MAX_UNPACKED} bytes")),
        ),
        case(
            "gzip bomb in a long-name header",
            Input::Bundle(long_name_bomb()),
            limit("unpacked chart size", &format!("{MAX_UNPACKED} bytes")),
        ),
        case(
            "2000 files",
            Input::Bundle(tgz_files(&chart_entries(many_files))),
            limit("the number of files", &MAX_FILES.to_string()),
        ),
        case(
            "deep path",
            Input::Bundle(tgz_with(&[(b"bad/a/b/c/d/e/f/g/h.yaml", T::Regular, b"x")])),
            limit(
                "the path depth of bad/a/b/c/d/e/f/g/h.yaml (9)",
                &MAX_DEPTH.to_string(),
            ),
        ),
        case(
            "long path",
            Input::Bundle(tgz_files(&chart_entries(vec![(
                format!("bad/templates/{}.yaml", "x".repeat(250)),
                b"x".to_vec(),
            )]))),
            format!("(269 bytes) exceeds the limit of {MAX_PATH} bytes"),
        ),
        case(
            "oversize file",
            Input::Bundle(tgz_with(&[(
                b"bad/big.bin",
                T::Regular,
                &vec![b'b'; 200 << 10],
            )])),
            limit(
                "file bad/big.bin (204800 bytes)",
                &format!("{MAX_FILE} bytes per file"),
            ),
        ),
        case(
            "corrupt gzip",
            Input::Bundle(corrupt),
            "chart archive: cannot read the gzip tar: corrupt deflate stream",
        ),
        case(
            "not gzip at all",
            Input::Bundle(b"PK\x03\x04 this is a zip file".to_vec()),
            "chart archive: not gzip-compressed (a chart bundle is a .tgz)",
        ),
        case(
            "an uncompressed tar",
            Input::Bundle(plain_tar),
            "chart archive: not gzip-compressed",
        ),
        case(
            "gzip of random bytes",
            Input::Bundle(gzip(&random)),
            "chart archive: cannot read the gzip tar: numeric field did not have utf-8 text",
        ),
        case(
            "empty archive",
            Input::Bundle(gzip(&[])),
            "chart archive: no files in chart archive",
        ),
        case(
            "truncated bundle",
            Input::Bundle(good[..good.len() / 2].to_vec()),
            "chart archive: cannot read the gzip tar: incomplete deflate stream",
        ),
        case(
            "entry name not UTF-8",
            Input::Bundle(tgz_with(&[(b"bad/\xff\xfe.yaml", T::Regular, b"x")])),
            "chart archive: an entry's name is not valid UTF-8",
        ),
        case(
            "file outside the chart's directory",
            Input::Bundle(tgz_with(&[(b"evil.yaml", T::Regular, b"x")])),
            "evil.yaml: chart files must live under the chart's directory",
        ),
        case(
            "bomb in a packed subchart",
            Input::Bundle(sub_bomb),
            format!(
                "error unpacking subchart sub.tgz in bad: chart: unpacked chart size exceeds the limit of {MAX_UNPACKED} bytes"
            ),
        ),
        case(
            "subcharts nested 9 deep",
            Input::Bundle(nested_subcharts(MAX_DEPTH + 1)),
            limit("the nesting of subcharts", &MAX_DEPTH.to_string()),
        ),
    ]
}

fn chart_content_cases() -> Vec<Case> {
    let chart = |changes| Input::Bundle(bundle(&chart_with(changes)));
    let v1 = "apiVersion: v1\nname: bad\nversion: 0.1.0\n";
    vec![
        case(
            "Chart.yaml not YAML",
            chart(vec![("Chart.yaml", t("name: [unclosed\n"))]),
            "cannot load Chart.yaml: error converting YAML to JSON: yaml: line 1: did not find expected ',' or ']'",
        ),
        case(
            "Chart.yaml billion laughs",
            chart(vec![(
                "Chart.yaml",
                t(&format!("{CHART_YAML}{}", billion_laughs(""))),
            )]),
            "cannot load Chart.yaml: error converting YAML to JSON: yaml: document contains excessive aliasing",
        ),
        case(
            "Chart.yaml not UTF-8",
            chart(vec![("Chart.yaml", Some(b"name: \xff\xfe\n".to_vec()))]),
            "cannot load Chart.yaml: error converting YAML to JSON: yaml: invalid leading UTF-8 octet",
        ),
        case(
            "Chart.yaml a list",
            chart(vec![("Chart.yaml", t("- name\n- bad\n"))]),
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type v2.Metadata",
        ),
        case(
            "Chart.yaml kubeVersion a list",
            chart(vec![(
                "Chart.yaml",
                t("apiVersion: v2\nname: bad\nversion: 1.0.0\nkubeVersion: ['>= 99']\n"),
            )]),
            "cannot load Chart.yaml: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go struct field Metadata.kubeVersion of type string",
        ),
        case(
            "Chart.yaml dependency alias with a dot",
            chart(vec![(
                "Chart.yaml",
                t(
                    "apiVersion: v2\nname: bad\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: a.b\n",
                ),
            )]),
            "validation: dependency \"a\" has disallowed characters in the alias",
        ),
        case(
            "no Chart.yaml",
            chart(vec![("Chart.yaml", None)]),
            "Chart.yaml file is missing",
        ),
        case(
            "Chart.yaml without a version",
            chart(vec![("Chart.yaml", t("apiVersion: v2\nname: bad\n"))]),
            "validation: chart.metadata.version is required",
        ),
        case(
            "chart name with a slash",
            chart(vec![(
                "Chart.yaml",
                t("apiVersion: v2\nname: ../bad\nversion: 1.0.0\n"),
            )]),
            "validation: chart.metadata.name \"../bad\" is invalid",
        ),
        case(
            "values.yaml billion laughs",
            chart(vec![("values.yaml", t(&billion_laughs("")))]),
            "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: document contains excessive aliasing",
        ),
        case(
            "values.yaml not UTF-8",
            chart(vec![("values.yaml", Some(b"message: \xc3\x28\n".to_vec()))]),
            "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: invalid trailing UTF-8 octet",
        ),
        case(
            "values.yaml a list",
            chart(vec![("values.yaml", t("- a\n- b\n"))]),
            "cannot load values.yaml: cannot unmarshal yaml document: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}",
        ),
        case(
            "values.yaml not YAML",
            chart(vec![("values.yaml", t("a: b: c\n"))]),
            "cannot load values.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: mapping values are not allowed in this context",
        ),
        case(
            "requirements.yaml billion laughs",
            chart(vec![
                ("Chart.yaml", t(v1)),
                ("requirements.yaml", t(&billion_laughs(""))),
            ]),
            "cannot load requirements.yaml: error converting YAML to JSON: yaml: document contains excessive aliasing",
        ),
    ]
}

fn stream_cases() -> Vec<Case> {
    let good = bundle(&chart_with(vec![(
        "templates/cm.yaml",
        t(&CONFIGMAP.replace("-cm", "-stream")),
    )]));
    let other = bundle(&chart_with(vec![("values.yaml", t("message: other\n"))]));
    let n = good.len() as u64;
    let h = || header(&good);
    let with = |f: &dyn Fn(&mut UpgradeHeader)| {
        let mut x = h();
        f(&mut x);
        x
    };
    let mut truncated = vec![msg(Msg::Header(h()))];
    truncated.extend(chunks(&good[..good.len() / 2]));
    let mut second_header = vec![msg(Msg::Header(h()))];
    second_header.extend(chunks(&good));
    second_header.push(msg(Msg::Header(h())));
    let mut more = upload(h(), &good);
    more.insert(2, msg(Msg::Chunk(vec![0; 16].into())));
    let mut bad_trailer = upload(h(), &good);
    *bad_trailer.last_mut().unwrap() = trailer(n + 1);
    vec![
        case(
            "digest mismatch",
            Input::Stream(upload(
                with(&|x| x.chart_digest = header(&other).chart_digest),
                &good,
            )),
            format!("header said {}", header(&other).chart_digest),
        ),
        case(
            "size larger than sent",
            Input::Stream({
                let mut m = vec![msg(Msg::Header(with(&|x| x.chart_size = n + 10)))];
                m.extend(chunks(&good));
                m.push(trailer(n));
                m
            }),
            format!("chart upload: received {n} bytes, header said {}", n + 10),
        ),
        case(
            "more bytes than declared",
            Input::Stream(more),
            format!("chart upload is larger than the declared {n} bytes"),
        ),
        case(
            "truncated stream: no trailer",
            Input::Stream(truncated),
            "chart upload ended before its trailer",
        ),
        case(
            "trailer disagrees with what arrived",
            Input::Stream(bad_trailer),
            format!("chart upload: the client sent {} bytes, {n} arrived", n + 1),
        ),
        case(
            "declared size over the limit",
            Input::Stream(upload(with(&|x| x.chart_size = MAX_PACKED + 1), &good)),
            format!(
                "chart: the packed chart ({} bytes) exceeds the limit of {MAX_PACKED} bytes",
                MAX_PACKED + 1
            ),
        ),
        case(
            "declared empty",
            Input::Stream(upload(with(&|x| x.chart_size = 0), &good)),
            "chart: the header declares an empty chart",
        ),
        case(
            "more schema documents than the limit",
            Input::Stream(upload(
                with(&|x| {
                    x.remote_schemas = (0..=100)
                        .map(|i| (format!("https://example.com/{i}.json"), Default::default()))
                        .collect()
                }),
                &good,
            )),
            "values.schema.json: 101 documents read for its references (",
        ),
        case(
            "digest not sha256 hex",
            Input::Stream(upload(
                with(&|x| x.chart_digest = "../../etc".into()),
                &good,
            )),
            "chart digest \"../../etc\" is not a lower-case sha256 hex string",
        ),
        case(
            "a second header",
            Input::Stream(second_header),
            "a second header in one upload",
        ),
        case(
            "chunks before the header",
            Input::Stream(chunks(&good)),
            "the first message of an upgrade must be its header",
        ),
    ]
}

fn values_cases() -> Vec<Case> {
    // A values file nests at most 1000 levels (the YAML reader's limit).
    let nested = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    let big = format!("{{\"blob\":\"{}\"}}", "v".repeat(MAX_VALUES));
    let huge = format!("{{\"blob\":\"{}\"}}", "v".repeat(6 << 20));
    let big_len = big.len();
    vec![
        case(
            "values over the limit",
            Input::Values(big),
            format!("values: {big_len} bytes (as JSON) exceed the limit of {MAX_VALUES} bytes"),
        ),
        case(
            "values over the message limit",
            Input::Values(huge),
            "message length too large",
        ),
        case(
            "values not JSON",
            Input::Values("{message: hi}".into()),
            "values: key must be a string at line 1 column 2",
        ),
        case(
            "values a list",
            Input::Values("[1, 2]".into()),
            "values: must be a map",
        ),
        case(
            "values nested 1001 deep",
            Input::Values(nested(1001)),
            "values: nested more than 1000 levels deep (at byte 5000)",
        ),
        case(
            "values nested 10 000 deep",
            Input::Values(nested(10_000)),
            "values: nested more than 1000 levels deep (at byte 5000)",
        ),
    ]
}

/// What a user can produce: chart directories and values files, through the CLI.
fn cli_cases(env: &Env) -> Vec<Case> {
    let dir = |name: &str, changes| chart_dir(env, name, changes);
    let cli = |args: Vec<String>| Input::Cli(args);
    let many: Vec<String> = (0..MAX_FILES).map(|i| format!("files/f{i}.txt")).collect();
    let fifo_chart = dir("fifo", vec![]);
    let status = std::process::Command::new("mkfifo")
        .arg(format!("{fifo_chart}/templates/pipe.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let bomb_doc = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n{}",
        billion_laughs("  ")
    );
    vec![
        case(
            "template parse error",
            cli(vec![dir(
                "parse",
                vec![("templates/cm.yaml", t("{{ if }}\n"))],
            )]),
            "parse error at (bad/templates/cm.yaml:1): missing value for if",
        ),
        case(
            "template calls an unknown function",
            cli(vec![dir(
                "func",
                vec![("templates/cm.yaml", t("{{ nosuch 1 }}\n"))],
            )]),
            "function \"nosuch\" not defined",
        ),
        case(
            "template execution error",
            cli(vec![dir(
                "exec",
                vec![
                    ("values.yaml", t("list: [1]\n")),
                    ("templates/cm.yaml", t("{{ index .Values.list 5 }}\n")),
                ],
            )]),
            "index out of range: 5",
        ),
        case(
            "fromYaml of a billion laughs",
            cli(vec![dir(
                "fromyaml",
                vec![
                    ("bomb.yaml", t(&billion_laughs(""))),
                    (
                        "templates/cm.yaml",
                        t("{{ $v := fromYaml (.Files.Get \"bomb.yaml\") }}{{ fail $v.Error }}\n"),
                    ),
                ],
            )]),
            "document contains excessive aliasing",
        ),
        case(
            "fromYamlArray of a billion laughs",
            cli(vec![dir(
                "fromyamlarray",
                vec![
                    (
                        "bomb.yaml",
                        t(&format!(
                            "- x\n- {{{}}}",
                            billion_laughs("")
                                .replace('\n', ", ")
                                .trim_end_matches(", ")
                        )),
                    ),
                    (
                        "templates/cm.yaml",
                        t(
                            "{{ $v := fromYamlArray (.Files.Get \"bomb.yaml\") }}{{ fail (first $v) }}\n",
                        ),
                    ),
                ],
            )]),
            "document contains excessive aliasing",
        ),
        case(
            "rendered manifest not YAML",
            cli(vec![dir(
                "badyaml",
                vec![("templates/cm.yaml", t("a: [unclosed\n"))],
            )]),
            "YAML parse error on bad/templates/cm.yaml",
        ),
        case(
            "rendered billion laughs",
            cli(vec![dir(
                "laughs",
                vec![("templates/cm.yaml", t(&bomb_doc))],
            )]),
            "YAML parse error on bad/templates/cm.yaml: error converting YAML to JSON: yaml: document contains excessive aliasing",
        ),
        case(
            "rendered document not a mapping",
            cli(vec![dir(
                "list",
                vec![("templates/cm.yaml", t("- a\n- b\n"))],
            )]),
            "bad/templates/cm.yaml",
        ),
        case(
            "rendered object without a kind",
            cli(vec![dir(
                "nokind",
                vec![(
                    "templates/cm.yaml",
                    t("apiVersion: v1\nmetadata:\n  name: x\n"),
                )],
            )]),
            "bad/templates/cm.yaml: object has no kind",
        ),
        case(
            "too many objects",
            cli(vec![dir(
                "many",
                vec![(
                    "templates/cm.yaml",
                    t(
                        "{{ range until 21 }}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{{ . }}\n{{ end }}",
                    ),
                )],
            )]),
            format!(
                "renders 21 objects (21 resources, 0 hooks, 0 CRDs), more than the limit of {MAX_OBJECTS}"
            ),
        ),
        case(
            "library chart",
            cli(vec![dir(
                "library",
                vec![("Chart.yaml", t(&format!("{CHART_YAML}type: library\n")))],
            )]),
            "library charts are not installable",
        ),
        case(
            "file over the agent's limit",
            cli(vec![dir(
                "bigfile",
                vec![("big.txt", Some(vec![b'b'; 200 << 10]))],
            )]),
            format!(
                "chart: file bad/big.txt (204800 bytes) exceeds the limit of {MAX_FILE} bytes per file"
            ),
        ),
        case(
            "more files than the agent's limit",
            cli(vec![dir(
                "manyfiles",
                many.iter().map(|n| (n.as_str(), t("x"))).collect(),
            )]),
            format!("chart: the number of files exceeds the limit of {MAX_FILES}"),
        ),
        case(
            "values file over the agent's limit",
            cli(vec![
                dir("bigvalues", vec![]),
                "-f".into(),
                text_file(
                    env,
                    "big-values.yaml",
                    &format!("blob: {}\n", "v".repeat(MAX_VALUES)),
                ),
            ]),
            format!("exceed the limit of {MAX_VALUES} bytes"),
        ),
        case(
            "values file billion laughs (refused by the CLI)",
            cli(vec![
                dir("valuesbomb", vec![]),
                "-f".into(),
                text_file(env, "laughs.yaml", &billion_laughs("")),
            ]),
            "laughs.yaml: cannot unmarshal yaml document: error converting YAML to JSON: yaml: document contains excessive aliasing",
        ),
        case(
            "values file a list (refused by the CLI)",
            cli(vec![
                dir("valueslist", vec![]),
                "-f".into(),
                text_file(env, "list.yaml", "- a\n- b\n"),
            ]),
            "list.yaml: cannot unmarshal yaml document: error unmarshaling JSON",
        ),
        case(
            "FIFO in a chart directory (refused by the CLI)",
            cli(vec![fifo_chart]),
            "fifo/templates/pipe.yaml as it has file mode type bits set",
        ),
    ]
}

/// Objects berth labels as a release's, anywhere in the cluster.
async fn labelled_objects(env: &Env) -> Vec<String> {
    use k8s_openapi::api::{apps::v1::Deployment, core::v1 as core};
    use kube::api::{Api, ListParams};
    let client = env.kube().await;
    let lp = ListParams::default().labels("berth.dev/release");
    let mut found = Vec::new();
    macro_rules! list {
        ($k:ty) => {
            for o in Api::<$k>::all(client.clone()).list(&lp).await.unwrap() {
                found.push(format!(
                    "{}/{}",
                    stringify!($k),
                    o.metadata.name.unwrap_or_default()
                ));
            }
        };
    }
    list!(core::ConfigMap);
    list!(core::Secret);
    list!(core::Service);
    list!(core::Pod);
    list!(Deployment);
    found
}

#[tokio::test]
async fn every_malicious_or_malformed_input_is_refused_and_changes_nothing() {
    let env = Env::start_with(|s| {
        s.limits = berth::chart::Limits {
            max_packed: MAX_PACKED,
            max_unpacked: MAX_UNPACKED,
            max_file: MAX_FILE,
            max_files: MAX_FILES,
            max_depth: MAX_DEPTH,
            max_path: MAX_PATH,
        };
        s.max_values = MAX_VALUES;
        s.max_objects = MAX_OBJECTS;
    })
    .await;
    let releases = env
        .berth(&["list", "-A", "-a", "-o", "json"])
        .await
        .ok()
        .json();
    assert_eq!(releases, serde_json::json!([]));
    let good = bundle(&chart_with(vec![]));
    let mut cases = archive_cases();
    cases.extend(chart_content_cases());
    cases.extend(stream_cases());
    cases.extend(values_cases());
    cases.extend(cli_cases(&env));
    assert!(cases.len() >= 40, "{} cases", cases.len());

    let journal = &env.agent.as_ref().unwrap().agent.journal;
    let mut failures = Vec::new();
    for (i, c) in cases.into_iter().enumerate() {
        let release = format!("c{i}");
        let (message, digest) = match c.input {
            Input::Bundle(bytes) => {
                assert!(
                    bytes.len() as u64 <= MAX_PACKED,
                    "{}: {} bytes packed",
                    c.what,
                    bytes.len()
                );
                let digest = berth::chart::sha256_hex(&bytes);
                (
                    refusal(&env, upload(header(&bytes), &bytes), &release).await,
                    Some(digest),
                )
            }
            Input::Values(json) => {
                let h = UpgradeHeader {
                    values_json: json,
                    ..header(&good)
                };
                (refusal(&env, upload(h, &good), &release).await, None)
            }
            Input::Stream(messages) => (refusal(&env, messages, &release).await, None),
            Input::Cli(args) => {
                let mut full = vec!["install".to_string(), release.clone()];
                full.extend(args);
                let full: Vec<&str> = full.iter().map(String::as_str).collect();
                let out = env.berth(&full).await;
                assert_ne!(out.code, 0, "{}: accepted:\n{}", c.what, out.stdout);
                assert_eq!(
                    out.stderr.trim().lines().count(),
                    1,
                    "{}: one line:\n{}",
                    c.what,
                    out.stderr
                );
                (out.stderr, None)
            }
        };
        if !message.contains(&c.expect) {
            failures.push(format!(
                "{i} {}:\n  want: {}\n  got:  {}",
                c.what,
                c.expect,
                message.trim()
            ));
        }
        assert!(
            !message.trim().contains(char::is_control),
            "{}: one line of text: {message:?}",
            c.what
        );
        if let Some(d) = digest {
            assert!(
                !journal.has_blob(&d).unwrap(),
                "{}: the journal keeps no refused chart",
                c.what
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases not refused as expected:\n{}",
        failures.len(),
        failures.join("\n")
    );

    assert!(
        journal.heads().unwrap().is_empty(),
        "no release was recorded"
    );
    assert_eq!(
        env.berth(&["list", "-A", "-a", "-o", "json"])
            .await
            .ok()
            .json(),
        serde_json::json!([])
    );
    assert_eq!(
        labelled_objects(&env).await,
        Vec::<String>::new(),
        "no object was applied"
    );

    // The agent still serves: a good install of the same kind of chart works.
    env.berth(&["install", "good", &env.chart("1.0.0"), "--wait"])
        .await
        .ok();
    assert!(!labelled_objects(&env).await.is_empty());
}
