//! Malformed and hostile templates must produce errors, never panics or
//! crashes: random token soups, deep nesting, cycles, huge counts.

use berth_template::helm::{self, Chart, File, RenderOptions};
use serde_json::json;

use crate::support;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{{- ",
    " -}}",
    "{{/*",
    "*/}}",
    "if ",
    "else ",
    "end",
    "range ",
    "with ",
    "define \"d\"",
    "template \"d\" ",
    "block \"b\" ",
    "break",
    "continue",
    ".Values.a",
    ".Values.m.k",
    ".Values.l",
    ".Release.Name",
    ".Chart",
    ".Capabilities.KubeVersion",
    ".Files.Get \"f\"",
    "$x",
    "$x := ",
    "$x = ",
    "$",
    ".",
    " ",
    "\n",
    "|",
    "(",
    ")",
    "\"str\"",
    "`raw`",
    "1",
    "-1",
    "1.5",
    "0x1F",
    "1e999",
    "'c'",
    "nil",
    "true",
    "printf \"%d %s\" ",
    "print ",
    "include \"d\" ",
    "tpl ",
    "toYaml ",
    "toJson ",
    "fromYaml ",
    "index ",
    "len ",
    "slice ",
    "dict \"a\" ",
    "list ",
    "merge ",
    "set ",
    "default ",
    "required \"r\" ",
    "fail \"f\" ",
    "and ",
    "or ",
    "not ",
    "eq ",
    "lt ",
    "add ",
    "div ",
    "mod ",
    "mul ",
    "substr ",
    "trunc ",
    "repeat ",
    "until ",
    "regexMatch ",
    "semver ",
    "semverCompare ",
    "toDate ",
    "date ",
    "now",
    "tuple ",
    "b64dec ",
    "sha256sum ",
    "indent ",
    "nindent ",
    "splitList ",
    "join ",
    "keys ",
    "deepCopy ",
    "first ",
    "rest ",
    "quote ",
    "upper ",
    "trimSuffix ",
    "ternary ",
    "coalesce ",
    "empty ",
    "int ",
    "float64 ",
    "toString ",
    "typeOf ",
    "kindOf ",
    "dig ",
    "lookup ",
    "call ",
    "html ",
    "js ",
    "urlquery ",
    "durationRound ",
    "mustRegexFind ",
    "get ",
    "hasKey ",
    "pluck ",
    "uniq ",
    "sortAlpha ",
    "abbrev ",
    "fromToml ",
    "toToml ",
    "mustToToml ",
    "toYamlPretty ",
    "decryptAES ",
    "htpasswd ",
    "buildCustomCert ",
    "genCAWithKey ",
];

fn chart(template: &str) -> Chart {
    support::chart_from_files(vec![
        File {
            name: "Chart.yaml".into(),
            data: b"apiVersion: v2\nname: fuzz\nversion: 0.1.0\n"
                .to_vec()
                .into(),
        },
        File {
            name: "values.yaml".into(),
            data: b"a: 1\nm: {k: v}\nl: [1, two, {x: y}]\n".to_vec().into(),
        },
        File {
            name: "templates/t.yaml".into(),
            data: template.as_bytes().to_vec().into(),
        },
        File {
            name: "templates/_d.tpl".into(),
            data: b"{{ define \"d\" }}[{{ . }}]{{ end }}".to_vec().into(),
        },
        File {
            name: "f".into(),
            data: b"file".to_vec().into(),
        },
    ])
}

fn render(template: &str) -> Result<String, String> {
    let c = chart(template);
    let values =
        helm::coalesce_values(&c, &json!({}), &mut Vec::new()).map_err(|e| e.to_string())?;
    let out = helm::render(&c, &values, &RenderOptions::new(support::release()));
    match out {
        Ok(m) => Ok(m.values().cloned().collect()),
        Err(e) => Err(e.to_string()),
    }
}

fn assert_no_internal_error(template: &str) {
    if let Err(e) = render(template) {
        assert!(
            !e.contains("internal error"),
            "render panicked on {template:?}: {e}"
        );
    }
}

#[test]
fn random_token_soups_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..3000 {
        let n = 1 + (rng.next() % 24) as usize;
        let mut t = String::new();
        for _ in 0..n {
            t.push_str(rng.pick(TOKENS));
        }
        assert_no_internal_error(&t);
    }
}

#[test]
fn structured_random_actions_never_panic() {
    // Well-formed actions with random functions and arguments exercise the
    // functions themselves rather than the parser.
    let funcs: Vec<&str> = TOKENS
        .iter()
        .copied()
        .filter(|t| t.ends_with(' ') && t.chars().next().is_some_and(char::is_alphabetic))
        .collect();
    let args = &[
        ".Values.a",
        ".Values.m",
        ".Values.l",
        "\"s\"",
        "1",
        "-1",
        "0",
        "2.5",
        "nil",
        "true",
        "(list 1 2)",
        "(dict \"k\" 1)",
        ".",
        "$",
        ".Values.nope",
        "\"\"",
        "100000",
    ];
    let mut rng = Rng(42);
    for _ in 0..4000 {
        let f = rng.pick(&funcs);
        let argc = (rng.next() % 4) as usize;
        let mut t = format!("{{{{ {f}");
        for _ in 0..argc {
            t.push(' ');
            t.push_str(rng.pick(args));
        }
        t.push_str(" }}");
        assert_no_internal_error(&t);
    }
}

#[test]
fn hostile_templates_fail_cleanly() {
    let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let deep_ifs = format!(
        "{}x{}",
        "{{ if true }}".repeat(3000),
        "{{ end }}".repeat(3000)
    );
    let cases = [
        deep_parens.as_str(),
        deep_ifs.as_str(),
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ toJson $d }}",
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ toYaml $d }}",
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ $d }}",
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ deepCopy $d }}",
        "{{ $d := dict }}{{ $_ := set $d \"self\" $d }}{{ merge $d $d }}",
        "{{ repeat 100000000000 \"x\" }}",
        "{{ until 100000000000 }}",
        "{{ untilStep 0 100000000000 1 }}",
        "{{ randAlphaNum 100000000000 }}",
        "{{ indent 100000000000 \"x\" }}",
        "{{ printf \"%*d\" 100000000 1 }}",
        "{{ include \"self\" . }}{{ define \"self\" }}{{ include \"self\" . }}{{ end }}",
        "{{ define \"t\" }}{{ template \"t\" . }}{{ end }}{{ template \"t\" . }}",
        "{{ tpl \"{{ tpl . . }}\" \"{{ tpl . . }}\" }}",
        "{{ substr 5 2 \"abc\" }}{{ substr -5 -9 \"abc\" }}",
        "{{ trunc -100 \"héllo\" }}{{ trunc 2 \"héllo\" }}",
        "{{ div (int64 -9223372036854775808) -1 }}{{ mod 5 0 }}",
        "{{ index \"héllo\" 2 }}{{ slice \"héllo\" 1 2 }}",
        "{{ regexMatch \"(\" \"x\" }}{{ regexSplit \"a*\" \"baaac\" -1 }}",
        "{{ fromYaml \"a: &a [*a]\" }}",
        "{{ fromYaml (repeat 2000 \"[\") }}",
        "{{ fromJson (repeat 20000 \"[\") }}",
        "{{ b64dec \"====\" }}{{ b32dec \"!!!!\" }}",
        "{{ semverCompare \"~> >= 1\" \"1.0\" }}",
        "{{ toDate \"2006-01-02\" \"9999999-99-99\" }}",
        "{{ durationRound \"9999999999999999h\" }}",
        "\u{0}{{ \"\u{0}\" }}\u{FEFF}{{ printf \"%c\" -1 }}",
        "{{ printf \"%.999999999f\" 1.5 }}",
    ];
    for t in cases {
        assert_no_internal_error(t);
    }
}

#[test]
fn deeply_nested_values_parse_or_fail_cleanly() {
    let deep = format!("a: {}1{}", "[".repeat(5000), "]".repeat(5000));
    assert!(
        berth_template::yaml::parse_values(&deep).is_err()
            || berth_template::yaml::parse_values(&deep).is_ok()
    );
    let mut nested = String::new();
    for i in 0..3000 {
        nested.push_str(&" ".repeat(i));
        nested.push_str("k:\n");
    }
    let _ = berth_template::yaml::parse_values(&nested);
}

#[test]
fn hostile_toml_and_schemas_fail_cleanly() {
    for doc in [
        "[[a]]\n[a.b]\n[[a.b]]",
        "a = [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]",
        "a = {b = {c = {d = 1}}}\n[a.b]",
        "\"\\uD800\" = 1",
        "a = \"\\U0011FFFF\"",
        "a = 1979-02-29",
        "a = 24:00:00",
        "a = 0x",
        "a = 1e99999",
        "a = -0_0",
        "a.b = 1\n[a]\nc = 2",
        "= = =",
        "[a]]",
        "'''",
        "a = \"\"\"x\\",
    ] {
        assert_no_internal_error(&format!("{{{{ fromToml {doc:?} }}}}"));
    }
    let schemas = [
        r##"{"$ref":"#"}"##,
        r##"{"properties":{"a":{"$ref":"#/properties/a"}}}"##,
        r##"{"allOf":[{"$ref":"#"}]}"##,
        r##"{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}"##,
        r##"{"type":5,"minimum":"x","pattern":"((","items":7}"##,
        r##"{"multipleOf":0,"maximum":1e999999999}"##,
        r##"{"$id":"http://x/y","$ref":"z.json"}"##,
        r##"{"$schema":"http://example.com/custom"}"##,
        r##"{"$dynamicRef":"#meta","$dynamicAnchor":"meta"}"##,
        "[]",
        "true",
        "false",
    ];
    for schema in schemas {
        let mut c = chart("{{ .Values.a }}");
        c.schema = Some(schema.as_bytes().to_vec());
        let values =
            helm::coalesce_values(&c, &json!({"a": [1, {"b": 2}]}), &mut Vec::new()).unwrap();
        let out = helm::render(&c, &values, &RenderOptions::new(support::release()));
        if let Err(e) = out {
            assert!(!e.to_string().contains("internal error"), "{schema}: {e}");
        }
    }
}

/// What a schema refers to by URL is asked for ahead of validation (the
/// CLI reads it): that walk refuses what validation refuses, and does not
/// overflow the caller's stack on a deep schema either.
#[test]
fn schema_references_are_found_without_overflowing_on_deep_schemas() {
    let n = 20_000;
    let deep = format!(
        "{}{{\"$ref\":\"https://example.com/d.json\"}}{}",
        r#"{"properties":{"a":"#.repeat(n),
        "}}".repeat(n)
    );
    let mut c = chart("{{ .Values.a }}");
    c.schema = Some(deep.into_bytes());
    assert_eq!(
        helm::unfetched_schema_reference(&c),
        None,
        "exceeded max depth"
    );

    c.schema = Some(br#"{"properties":{"a":{"$ref":"https://example.com/d.json#/x"}}}"#.to_vec());
    assert_eq!(
        helm::unfetched_schema_reference(&c).as_deref(),
        Some("https://example.com/d.json")
    );
    // Read: the next reference, here none; validation uses what was read.
    let read = helm::RemoteSchemas::from([(
        "https://example.com/d.json".to_string(),
        Ok(br#"{"x": {"type": "string"}}"#.to_vec()),
    )]);
    c.remote_schemas = std::sync::Arc::new(read);
    assert_eq!(helm::unfetched_schema_reference(&c), None);
    let e = helm::validate_values(&c, &json!({"a": 1})).unwrap_err();
    assert!(
        e.to_string().contains("- at '/a': got number, want string"),
        "{e}"
    );
}

/// `{{if 1}}` nested `n` deep around `body`, in a define and at the top.
fn nested_ifs(n: usize, body: &str) -> String {
    let nest = |b: &str| format!("{}{b}{}", "{{if 1}}".repeat(n), "{{end}}".repeat(n));
    format!(
        "{{{{define \"h\"}}}}{}{{{{end}}}}{}",
        nest(body),
        nest("{{template \"h\" .}}")
    )
}

#[test]
fn blocks_nest_ten_thousand_deep_and_deeper_fails_cleanly() {
    let out = render(&nested_ifs(10_000, "# deep")).unwrap();
    assert_eq!(out, "# deep");
    for deep in [
        nested_ifs(200_000, "x"),
        format!("{}x", "{{with 1}}".repeat(200_000)),
        format!("{{{{if 0}}}}{}{{{{end}}}}", "{{else if 0}}".repeat(200_000)),
    ] {
        let e = render(&deep).unwrap_err();
        assert!(
            e.starts_with("parse error at (fuzz/templates/t.yaml:1): max block depth exceeded"),
            "{e}"
        );
    }
}

#[test]
fn templates_within_blocks_within_templates_run_out_of_depth_cleanly() {
    // Each bound holds on its own; together they would exhaust the stack.
    let t = format!(
        "{{{{define \"r\"}}}}{}{{{{template \"r\" .}}}}{}{{{{end}}}}{{{{template \"r\" .}}}}",
        "{{if 1}}(((".repeat(2000),
        ")))}}{{end}}".repeat(2000)
    );
    let t = t.replace("(((", "").replace(")))}}", "");
    let e = render(&t).unwrap_err();
    assert!(e.contains("exceeded maximum template depth"), "{e}");
}

#[test]
fn results_and_output_are_bounded() {
    for t in [
        "{{ $x := until 100000000 }}",
        "{{ $x := untilStep 0 100000000 1 }}",
        "{{ seq 1 100000000 }}",
        "{{ range until 12000 }}{{ repeat 250000 \"x\" }}{{ end }}",
        "{{ $s := repeat 200000 \"x\" }}{{ replace \"\" $s $s }}",
        "{{ $s := repeat 200000 \"x\" }}{{ wrapWith 1 $s $s }}",
        "{{ $s := repeat 1000000 \"x\" }}{{ $l := list }}{{ range until 300 }}{{ $l = append $l $s }}{{ end }}{{ join \"\" $l }}",
    ] {
        let e = render(t).unwrap_err();
        assert!(e.contains("is too large (limit 268435456)"), "{t}: {e}");
    }
    // One big string held many times: each encoder and printer knows the
    // size before it writes any of it.
    let many = "{{ $s := repeat 1000000 \"x\" }}{{ $l := list }}{{ range until 300 }}{{ $l = append $l $s }}{{ end }}";
    for use_it in [
        "{{ $x := toJson $l }}",
        "{{ $x := toPrettyJson $l }}",
        "{{ $x := toRawJson $l }}",
        "{{ $x := toYaml $l }}",
        "{{ $x := toToml (dict \"a\" $l) }}",
        "{{ $x := cat $l }}",
        "{{ $x := quote $l }}",
        "{{ $x := print $l }}",
        "{{ $x := printf \"%v\" $l }}",
        "{{ $l }}",
        "{{ dict \"a\" $l }}",
    ] {
        let t = format!("{many}{use_it}");
        let e = render(&t).unwrap_err();
        assert!(e.contains("is too large (limit 268435456)"), "{t}: {e}");
    }
    // A map that holds itself, and nothing BurntSushi's encoder fails on
    // before: Go's never ends; berth's stops once inside it again.
    for t in [
        "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"self\" $d }}{{ $x := toToml $d }}",
        "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"l\" (list (dict \"d\" $d)) }}{{ $x := mustToToml $d }}",
        "{{ $d := dict \"a\" 1 }}{{ $_ := set $d \"l\" (list 1 (dict \"d\" $d)) }}{{ $x := toToml $d }}",
    ] {
        let e = render(t).unwrap_err();
        assert!(e.contains("is too large (limit 268435456)"), "{t}: {e}");
    }
    assert_eq!(
        render("{{ seq 3 }} {{ until 3 }}").unwrap(),
        "1 2 3 [0 1 2]"
    );
}

#[test]
fn a_cancelled_render_stops_promptly() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let c = chart("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}");
    let values = helm::coalesce_values(&c, &json!({}), &mut Vec::new()).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let mut opts = RenderOptions::new(support::release());
    opts.cancel = Some(cancel.clone());
    let setter = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        cancel.store(true, Ordering::Relaxed);
        std::time::Instant::now()
    });
    let out = helm::render(&c, &values, &opts);
    let stopped = std::time::Instant::now();
    let set = setter.join().unwrap();
    assert_eq!(out, Err(helm::RenderError::Cancelled));
    assert_eq!(
        out.unwrap_err().to_string(),
        "rendering stopped: the operation was cancelled"
    );
    assert!(stopped.duration_since(set) < std::time::Duration::from_secs(1));
}

#[test]
fn import_values_that_make_a_table_hold_itself_fail_cleanly() {
    // `exports.data` imported into `global`, then `exports` merged over it:
    // Go's shared maps make `global` (the child's `exports.data`) hold
    // itself under `data`. Helm overflows its stack; berth must refuse.
    let file = |name: &str, text: &str| File {
        name: name.into(),
        data: text.as_bytes().to_vec().into(),
    };
    let c = support::chart_from_files(vec![
        file("Chart.yaml", "apiVersion: v2\nname: par\nversion: 0.1.0\n"),
        file(
            "charts/alpha/Chart.yaml",
            "apiVersion: v2\nname: alpha\nversion: 0.1.0\ndependencies:\n- name: deep\n  import-values:\n  - child: exports.data\n    parent: global\n  - child: exports\n    parent: global\n",
        ),
        file(
            "charts/alpha/charts/deep/Chart.yaml",
            "apiVersion: v2\nname: deep\nversion: 0.1.0\n",
        ),
        file(
            "charts/alpha/charts/deep/values.yaml",
            "exports:\n  data:\n    ek: 0\n",
        ),
        file(
            "charts/alpha/charts/deep/templates/t.yaml",
            "v: {{ toJson .Values }}\n",
        ),
    ]);
    let err = helm::process_dependencies(&c, &json!({}), &mut Vec::new())
        .expect_err("a cycle")
        .to_string();
    assert_eq!(
        err,
        "import-values of chart alpha: the imported values contain themselves"
    );
}

/// Helm's `include` limit (1000 of one name) is met before berth's own
/// limit on `tpl`, so a helper that `tpl`s an include of itself fails with
/// Helm's error (difftest, templates seed 606129).
#[test]
fn a_helper_that_tpls_an_include_of_itself_fails_with_helms_error() {
    let e = render(
        r#"{{ define "d0" }}{{ tpl "{{ include \"d0\" . }}" $ }}{{ end }}{{ template "d0" $ }}"#,
    )
    .unwrap_err();
    assert!(
        e.ends_with(
            "error calling include: rendering template has a nested reference name: d0: unable to execute template"
        ),
        "{}",
        &e[e.len().saturating_sub(300)..]
    );
}
