//! Go's `encoding/json` as templates observe it: `toJson` (Marshal, with
//! HTML escaping and ES6 float formatting), `toPrettyJson` (MarshalIndent),
//! `toRawJson` (no HTML escaping), and `fromJson` (Unmarshal into
//! `interface{}`: every number a float64; Go's error texts).
//!
//! Helm's `toYaml` also goes through Marshal (sigs.k8s.io/yaml converts
//! JSON to YAML), so this encoder decides how numbers look in YAML too.

use crate::gofmt;
use crate::value::{Map, Object, Value};

/// encoding/json's refusal of a cyclic value (a map or slice that holds
/// itself, as `set $d "self" $d` makes): `json: unsupported value:
/// encountered a cycle via <type>`. Sprig's `toJson` and `toYaml` turn the
/// error into "", the `must` variants and `toRawJson` fail with it. `None`
/// for a value without a cycle (shared parts are fine).
pub fn cycle_error(v: &Value) -> Option<String> {
    fn walk(
        v: &Value,
        path: &mut std::collections::HashSet<usize>,
        done: &mut std::collections::HashSet<usize>,
    ) -> Option<&'static str> {
        let id = match v {
            Value::Map(m) => std::rc::Rc::as_ptr(&m.entries) as *const () as usize,
            Value::List(l) => std::rc::Rc::as_ptr(&l.items) as *const () as usize,
            _ => return None,
        };
        if path.contains(&id) {
            return Some(v.type_name());
        }
        if done.contains(&id) {
            return None;
        }
        let _level = crate::value::DepthGuard::enter()?;
        path.insert(id);
        let found = match v {
            Value::Map(m) => m
                .entries
                .borrow()
                .values()
                .find_map(|c| walk(c, path, done)),
            Value::List(l) => l.items.iter().find_map(|c| walk(c, path, done)),
            _ => None,
        };
        path.remove(&id);
        done.insert(id);
        found
    }
    let mut path = std::collections::HashSet::new();
    let mut done = std::collections::HashSet::new();
    walk(v, &mut path, &mut done)
        .map(|ty| format!("json: unsupported value: encountered a cycle via {ty}"))
}

#[derive(Clone, Copy)]
struct Opts {
    escape_html: bool,
    indent: bool,
}

/// `json.Marshal(v)`.
pub fn marshal(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode(
        &mut out,
        v,
        Opts {
            escape_html: true,
            indent: false,
        },
        0,
    )?;
    Ok(out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn marshal_indent(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    encode(
        &mut out,
        v,
        Opts {
            escape_html: true,
            indent: true,
        },
        0,
    )?;
    Ok(out)
}

/// An Encoder with `SetEscapeHTML(false)`, without the trailing newline.
/// Sprig's `toRawJson` encodes a pointer to its value (`enc.Encode(&v)`):
/// one level more before a cycle is looked for.
pub fn marshal_raw(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    PATH.with(|p| p.borrow_mut().push((0, None)));
    let r = encode(
        &mut out,
        v,
        Opts {
            escape_html: false,
            indent: false,
        },
        0,
    );
    PATH.with(|p| p.borrow_mut().pop());
    r.map(|()| out)
}

fn newline(out: &mut String, opts: Opts, depth: usize) {
    if opts.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    }
}

fn encode(out: &mut String, v: &Value, opts: Opts, depth: usize) -> Result<(), String> {
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => out.push_str(&format_float(*f)?),
        Value::Complex(..) => return Err(format!("json: unsupported type: {}", v.type_name())),
        Value::String(s) => encode_string(out, s, opts.escape_html),
        Value::Bytes(b) => {
            out.push('"');
            out.push_str(&crate::funcs::encoding::b64encode(b));
            out.push('"');
        }
        Value::List(l) if l.nil => out.push_str("null"),
        Value::List(l) => {
            // A slice is known by its first element and its length.
            let key = (std::rc::Rc::as_ptr(&l.items) as usize, Some(l.len()));
            within(key, v, || {
                out.push('[');
                for (i, item) in l.items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, opts, depth + 1);
                    encode(out, item, opts, depth + 1)?;
                }
                if !l.is_empty() {
                    newline(out, opts, depth);
                }
                out.push(']');
                Ok(())
            })?;
        }
        Value::Map(m) => encode_map(out, m, opts, depth)?,
        Value::Object(o) => encode_object(out, o, opts, depth)?,
    }
    Ok(())
}

fn encode_map(out: &mut String, m: &Map, opts: Opts, depth: usize) -> Result<(), String> {
    if m.nil {
        out.push_str("null");
        return Ok(());
    }
    let key = (std::rc::Rc::as_ptr(&m.entries) as usize, None);
    within(key, &Value::Map(m.clone()), || {
        let pairs = m.pairs();
        encode_pairs(out, pairs.iter().map(|(k, v)| (k.as_str(), v)), opts, depth)
    })
}

/// How many maps and slices deep Go's encoder goes before it looks for
/// cycles (`startDetectingCyclesAfter`).
const CYCLES_AFTER: usize = 1000;

/// Encodes a map or slice (`v`, known as `key`: its pointer, and a slice's
/// length) with `f`, as encoding/json's `mapEncoder` and `sliceEncoder`
/// do: each counts one level (as a pointer does), and from level 1,001 on
/// it remembers what it encodes and refuses what it meets again within
/// itself, as a cycle via that value's type. A cycle is thus reported
/// via the type of what lies at level 1,001, a slice or a map.
fn within(
    key: (usize, Option<usize>),
    v: &Value,
    f: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    let cyclic = PATH.with(|p| {
        let mut p = p.borrow_mut();
        let seen = p.len() >= CYCLES_AFTER && p[CYCLES_AFTER..].contains(&key);
        p.push(key);
        seen
    });
    let r = if cyclic {
        Err(format!(
            "json: unsupported value: encountered a cycle via {}",
            v.type_name()
        ))
    } else {
        f()
    };
    PATH.with(|p| p.borrow_mut().pop());
    r
}

thread_local! {
    /// The maps and slices being encoded, outermost first (for cycle
    /// detection): a pointer, and a slice's length.
    static PATH: std::cell::RefCell<Vec<(usize, Option<usize>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn encode_pairs<'a>(
    out: &mut String,
    pairs: impl Iterator<Item = (&'a str, &'a Value)>,
    opts: Opts,
    depth: usize,
) -> Result<(), String> {
    out.push('{');
    let mut n = 0;
    for (k, v) in pairs {
        if n > 0 {
            out.push(',');
        }
        newline(out, opts, depth + 1);
        encode_string(out, k, opts.escape_html);
        out.push(':');
        if opts.indent {
            out.push(' ');
        }
        encode(out, v, opts, depth + 1)?;
        n += 1;
    }
    if n > 0 {
        newline(out, opts, depth);
    }
    out.push('}');
    Ok(())
}

/// Why a formatted time is no RFC 3339 timestamp, as Go's
/// `appendStrictRFC3339` checks it: a year of other than four digits (before
/// year 0 or after 9999), a zone hour past 23.
fn not_rfc3339(text: &str) -> Option<&'static str> {
    let b = text.as_bytes();
    if b.get(4) != Some(&b'-') {
        return Some("year outside of range [0,9999]");
    }
    if b.last() != Some(&b'Z') && b.len() >= 6 {
        let c = b[b.len() - 6];
        let hour = &b[b.len() - 5..b.len() - 3];
        let num2 = (hour[0].wrapping_sub(b'0')) as u32 * 10 + hour[1].wrapping_sub(b'0') as u32;
        if c.is_ascii_digit() || num2 >= 24 {
            return Some("timezone hour outside of range [0,23]");
        }
    }
    None
}

fn encode_object(out: &mut String, o: &Object, opts: Opts, depth: usize) -> Result<(), String> {
    let s = Value::str;
    match o {
        Object::Files(files) => {
            let vals: Vec<(String, Value)> = files
                .iter()
                .map(|(k, v)| (k.clone(), Value::bytes_of(v)))
                .collect();
            encode_pairs(out, vals.iter().map(|(k, v)| (k.as_str(), v)), opts, depth)
        }
        Object::Capabilities(c) => {
            let kube = Value::object(Object::KubeVersion(c.kube_version.clone()));
            let apis = Value::str_list(c.api_versions.clone());
            let helm = Value::object(Object::HelmVersion(c.helm_version.clone()));
            let fields = [
                ("KubeVersion", kube),
                ("APIVersions", apis),
                ("HelmVersion", helm),
            ];
            encode_pairs(out, fields.iter().map(|(k, v)| (*k, v)), opts, depth)
        }
        Object::KubeVersion(k) => {
            let fields = [
                ("Version", s(&k.version)),
                ("Major", s(&k.major)),
                ("Minor", s(&k.minor)),
            ];
            encode_pairs(out, fields.iter().map(|(k, v)| (*k, v)), opts, depth)
        }
        Object::HelmVersion(h) => {
            // BuildInfo's json tags: omitempty on all but kube_client_version.
            let mut fields = Vec::new();
            for (k, v) in [
                ("version", &h.version),
                ("git_commit", &h.git_commit),
                ("git_tree_state", &h.git_tree_state),
                ("go_version", &h.go_version),
            ] {
                if !v.is_empty() {
                    fields.push((k, s(v)));
                }
            }
            fields.push(("kube_client_version", s(&h.kube_client_version)));
            encode_pairs(out, fields.iter().map(|(k, v)| (*k, v)), opts, depth)
        }
        Object::Time(t) => {
            let text = crate::funcs::dates::format_time(t, "2006-01-02T15:04:05.999999999Z07:00");
            // Go's Time.MarshalJSON: what is not RFC 3339 is an error.
            if let Some(why) = not_rfc3339(&text) {
                return Err(format!(
                    "json: error calling MarshalJSON for type time.Time: Time.MarshalJSON: {why}"
                ));
            }
            encode_string(out, &text, opts.escape_html);
            Ok(())
        }
        Object::Semver(v) | Object::SemverValue(v) => {
            encode_string(out, &v.to_string(), opts.escape_html);
            Ok(())
        }
        // An int64 to encoding/json.
        Object::Duration(d) => {
            out.push_str(&d.to_string());
            Ok(())
        }
        // A struct of unexported fields.
        Object::Location(_) => {
            out.push_str("{}");
            Ok(())
        }
        Object::Certificate(c) => {
            let fields = [("Cert", s(&c.cert)), ("Key", s(&c.key))];
            encode_pairs(out, fields.iter().map(|(k, v)| (*k, v)), opts, depth)
        }
    }
}

/// Go's float encoding: like `%g` but with ES6 exponent cutoffs.
pub fn format_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            gofmt::format_float(f, 'g', None)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let s = gofmt::format_float(f, 'e', None);
        // Clean up e-09 to e-9.
        let b = s.as_bytes();
        let n = b.len();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            return Ok(format!("{}{}", &s[..n - 2], &s[n - 1..]));
        }
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'+' && b[n - 2] == b'0' {
            return Ok(format!("{}{}", &s[..n - 2], &s[n - 1..]));
        }
        return Ok(s);
    }
    Ok(gofmt::format_float(f, 'f', None))
}

fn encode_string(out: &mut String, s: &str, escape_html: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xF] as char);
            }
            '\u{2028}' => out.push_str("\\u2028"),
            // Invalid UTF-8 (see `value::gostr`) is replaced, as Go does.
            c if crate::value::gostr::escaped_byte(c).is_some() => out.push_str("\\ufffd"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---- decoding ----

/// `json.Unmarshal(text, &v)` with `v interface{}`.
pub fn unmarshal(text: &str) -> Result<Value, String> {
    match unmarshal_partial(text)? {
        (_, Some(e)) => Err(e),
        (v, None) => Ok(v),
    }
}

/// `json.Unmarshal(text, &v)` with `v interface{}`, keeping what it decodes
/// despite a type error: Go checks the whole text's syntax first (a syntax
/// error anywhere wins), then decodes it all, leaving nil where a number
/// does not fit a float64 and returning the first such error after.
pub fn unmarshal_partial(text: &str) -> Result<(Value, Option<String>), String> {
    // The string's bytes as Go has them (some may not be UTF-8).
    let bytes = crate::value::gostr::to_bytes(text);
    let Some(mut p) = Parser::at_value(&bytes) else {
        return Err("unexpected end of JSON input".into());
    };
    p.lenient = Some(None);
    let v = p.value()?;
    p.skip_ws();
    if p.i < p.b.len() {
        return Err(format!(
            "invalid character {} after top-level value",
            p.describe(p.i)
        ));
    }
    Ok((v, p.lenient.flatten()))
}

/// Why [`unmarshal_prefix`] stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixError {
    /// A `*json.SyntaxError`: its text and its offset (the bytes read,
    /// the offending one included); also a number too big for a float64
    /// (an `UnmarshalTypeError`), at the value's end.
    Syntax(String, usize),
    /// The text ended inside the value (`io.ErrUnexpectedEOF`).
    UnexpectedEof,
}

/// One value of a JSON stream, as `json.Decoder.Decode` reads it: the
/// value and the bytes it took (leading whitespace included). `Ok(None)`
/// when only whitespace is left.
pub fn unmarshal_prefix(text: &str) -> Result<Option<(Value, usize)>, PrefixError> {
    let Some(mut p) = Parser::at_value(text.as_bytes()) else {
        return Ok(None);
    };
    // The decoder reads the whole value before decoding it: a syntax error
    // in it wins over a number too big for a float64.
    p.lenient = Some(None);
    match p.value() {
        Ok(_) if matches!(p.lenient, Some(Some(_))) => Err(PrefixError::Syntax(
            p.lenient.flatten().unwrap_or_default(),
            p.i + 1,
        )),
        Ok(v) => Ok(Some((v, p.i))),
        Err(_) if p.i >= p.b.len() => Err(PrefixError::UnexpectedEof),
        Err(e) => Err(PrefixError::Syntax(e, p.i + 1)),
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    /// `Some` when a number that does not fit a float64 decodes as nil
    /// (then holds the first such error) rather than stopping the parse.
    lenient: Option<Option<String>>,
}

impl Parser<'_> {
    /// A parser at the first value of `text`; `None` if there is none.
    fn at_value(b: &[u8]) -> Option<Parser<'_>> {
        let mut p = Parser {
            b,
            i: 0,
            depth: 0,
            lenient: None,
        };
        p.skip_ws();
        (p.i < p.b.len()).then_some(p)
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    /// Go's `quoteChar` of the byte at `i`: a byte is a rune of its own
    /// value there, so a UTF-8 lead byte shows as a Latin-1 letter (`ü`
    /// is reported as 'Ã').
    fn describe(&self, i: usize) -> String {
        match char::from(self.b[i]) {
            '\'' => "'\\''".into(),
            '"' => "'\"'".into(),
            c => {
                let q = gofmt::quote(&c.to_string());
                format!("'{}'", &q[1..q.len() - 1])
            }
        }
    }

    /// A syntax error at the current byte. At the end of the input, Go's
    /// scanner feeds itself a space: inside a number, a literal or an
    /// escape that is an invalid character too; elsewhere the input just
    /// ended.
    fn err_at(&self, context: &str) -> String {
        if self.i >= self.b.len() {
            let in_token = context.contains("numeric literal")
                || context.starts_with("in literal")
                || context.contains("escape");
            if in_token {
                return format!("invalid character ' ' {context}");
            }
            return "unexpected end of JSON input".into();
        }
        format!("invalid character {} {context}", self.describe(self.i))
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        if self.i >= self.b.len() {
            return Err("unexpected end of JSON input".into());
        }
        self.depth += 1;
        if self.depth > 10000 {
            return Err("exceeded max depth".into());
        }
        let r = match self.b[self.i] {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => self.string().map(Value::str),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Nil),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.err_at("looking for beginning of value")),
        };
        self.depth -= 1;
        r
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for expected in word.bytes() {
            if self.i >= self.b.len() || self.b[self.i] != expected {
                return Err(self.err_at(&format!(
                    "in literal {word} (expecting '{}')",
                    expected as char
                )));
            }
            self.i += 1;
        }
        Ok(v)
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.b[self.i] == b'-' {
            self.i += 1;
        }
        let digits = |p: &mut Parser| {
            let s = p.i;
            while p.i < p.b.len() && p.b[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i - s
        };
        if self.i >= self.b.len() {
            return Err(self.err_at("in numeric literal"));
        }
        if self.b[self.i] == b'0' {
            self.i += 1;
        } else if digits(self) == 0 {
            return Err(self.err_at("in numeric literal"));
        }
        if self.i < self.b.len() && self.b[self.i] == b'.' {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err_at("after decimal point in numeric literal"));
            }
        }
        if self.i < self.b.len() && matches!(self.b[self.i], b'e' | b'E') {
            self.i += 1;
            if self.i < self.b.len() && matches!(self.b[self.i], b'+' | b'-') {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err_at("in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                let e =
                    format!("json: cannot unmarshal number {text} into Go value of type float64");
                match &mut self.lenient {
                    Some(first) => {
                        first.get_or_insert(e);
                        Ok(Value::Nil)
                    }
                    None => Err(e),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            if self.i >= self.b.len() {
                return Err("unexpected end of JSON input".into());
            }
            let c = self.b[self.i];
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    if self.i >= self.b.len() {
                        return Err(self.err_at("in string escape code"));
                    }
                    let e = self.b[self.i];
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let cp = self.hex4()?;
                            let c = if (0xD800..0xDC00).contains(&cp) {
                                // A surrogate pair, if the next escape completes it.
                                if self.b.get(self.i) == Some(&b'\\')
                                    && self.b.get(self.i + 1) == Some(&b'u')
                                {
                                    let save = self.i;
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xDC00..0xE000).contains(&lo) {
                                        char::from_u32(
                                            0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00),
                                        )
                                        .unwrap_or('\u{FFFD}')
                                    } else {
                                        self.i = save;
                                        '\u{FFFD}'
                                    }
                                } else {
                                    '\u{FFFD}'
                                }
                            } else {
                                char::from_u32(cp).unwrap_or('\u{FFFD}')
                            };
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err_at("in string escape code"));
                        }
                    }
                }
                c if c < 0x20 => return Err(self.err_at("in string literal")),
                _ => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut v = 0u32;
        for _ in 0..4 {
            if self.i >= self.b.len() {
                return Err(self.err_at("in \\u hexadecimal character escape"));
            }
            let d = (self.b[self.i] as char)
                .to_digit(16)
                .ok_or_else(|| self.err_at("in \\u hexadecimal character escape"))?;
            v = v * 16 + d;
            self.i += 1;
        }
        Ok(v)
    }

    fn object(&mut self) -> Result<Value, String> {
        self.i += 1;
        let m = Map::new();
        self.skip_ws();
        if self.i < self.b.len() && self.b[self.i] == b'}' {
            self.i += 1;
            return Ok(Value::Map(m));
        }
        loop {
            self.skip_ws();
            if self.i >= self.b.len() {
                return Err("unexpected end of JSON input".into());
            }
            if self.b[self.i] != b'"' {
                return Err(self.err_at("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_ws();
            if self.i >= self.b.len() {
                return Err("unexpected end of JSON input".into());
            }
            if self.b[self.i] != b':' {
                return Err(self.err_at("after object key"));
            }
            self.i += 1;
            let v = self.value()?;
            m.insert(key, v);
            self.skip_ws();
            if self.i >= self.b.len() {
                return Err("unexpected end of JSON input".into());
            }
            match self.b[self.i] {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Ok(Value::Map(m));
                }
                _ => return Err(self.err_at("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.i < self.b.len() && self.b[self.i] == b']' {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_ws();
            if self.i >= self.b.len() {
                return Err("unexpected end of JSON input".into());
            }
            match self.b[self.i] {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.err_at("after array element")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_go() {
        assert_eq!(format_float(1000000.0).unwrap(), "1000000");
        assert_eq!(format_float(1.5).unwrap(), "1.5");
        assert_eq!(format_float(1e21).unwrap(), "1e+21");
        assert_eq!(format_float(1e-7).unwrap(), "1e-7");
        assert_eq!(format_float(0.000001).unwrap(), "0.000001");
    }

    #[test]
    fn strings_escape_html() {
        let v = Value::str("<a&b>\"\n\u{1}");
        assert_eq!(marshal(&v).unwrap(), r#""\u003ca\u0026b\u003e\"\n\u0001""#);
        assert_eq!(marshal_raw(&v).unwrap(), r#""<a&b>\"\n\u0001""#);
    }

    #[test]
    fn errors_like_go() {
        assert_eq!(unmarshal("").unwrap_err(), "unexpected end of JSON input");
        assert_eq!(
            unmarshal("{\"a\" 1}").unwrap_err(),
            "invalid character '1' after object key"
        );
        assert_eq!(
            unmarshal("x").unwrap_err(),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            unmarshal("[1,]").unwrap_err(),
            "invalid character ']' looking for beginning of value"
        );
        assert_eq!(
            unmarshal("{} x").unwrap_err(),
            "invalid character 'x' after top-level value"
        );
    }
}
