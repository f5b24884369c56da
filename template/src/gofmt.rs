//! Go's `fmt` and `strconv` formatting, as templates observe it.
//!
//! Everything a template prints goes through Go's `fmt`: `{{ . }}` is
//! `fmt.Fprint`, `print`/`printf`/`println` are `fmt.Sprint*`, Sprig's
//! `quote` is `%q`, `toString` is `%v`. This module re-implements the parts
//! of `fmt/print.go`, `fmt/format.go` and `strconv` those paths reach:
//! verbs `v s q d x X o O b c U e E f F g G t T %`, flags `+ - # 0 space`,
//! width and precision (including `*`), argument indexes (`%[2]s`,
//! `%[1]*d`), and Go's error notation for bad verbs, missing and extra
//! arguments and bad indexes (`%!d(string=x)`, `%!s(MISSING)`,
//! `%!(EXTRA int=1)`, `%!s(BADINDEX)`).
//!
//! Complex numbers (only a template's own literals, `{{ 1i }}`) print as Go
//! prints a `complex128`: `(0+1i)`. Not supported: pointers do not occur in
//! chart data.

use crate::value::{Object, Value};

/// `fmt.Sprint(args...)`: operands joined, with a space between two operands
/// when neither is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, arg) in args.iter().enumerate() {
        let is_string = matches!(arg, Value::String(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        print_arg(&mut out, arg, 'v', &Flags::default());
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln(args...)`: operands always separated by spaces, newline appended.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        print_arg(&mut out, arg, 'v', &Flags::default());
    }
    out.push('\n');
    out
}

/// `fmt.Sprint(v)` of one value: Go's `%v`.
pub fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    print_arg(&mut out, v, 'v', &Flags::default());
    out
}

#[derive(Default, Clone)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
    /// `%+v` on structs: print field names.
    plus_v: bool,
    /// `%#v`: Go-syntax representation.
    sharp_v: bool,
    /// Printing inside a map, slice or struct (Go's depth > 0), where a
    /// pointer to a struct prints as its address, not as `&{…}`.
    nested: bool,
    /// Printing a bad verb's operand (Go's `p.erroring`): no `String` or
    /// `GoString` method is called, so a struct prints its fields.
    erroring: bool,
}

impl Flags {
    fn nested(&self) -> Flags {
        Flags {
            nested: true,
            ..self.clone()
        }
    }
}

/// The address a pointer held in a collection prints as. Go prints where
/// the value happens to live, which differs from run to run; berth prints
/// one address, the same every time.
const ADDRESS: u64 = 0xc0_0001_0000;

/// `fmt.Sprintf(format, args...)`, a port of Go's `doPrintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printf {
        out: String::new(),
        arg_num: 0,
        reordered: false,
        good_arg_num: true,
    };
    let b = format.as_bytes();
    let end = b.len();
    let mut i = 0;
    while i < end {
        p.good_arg_num = true;
        let lasti = i;
        while i < end && b[i] != b'%' {
            i += 1;
        }
        if i > lasti {
            p.out.push_str(&format[lasti..i]);
        }
        if i >= end {
            break;
        }
        i += 1; // skip '%'
        let mut f = Flags::default();
        while i < end {
            match b[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = true,
                b'+' => f.plus = true,
                b'-' => f.minus = true,
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }
        // Do we have an explicit argument index?
        let mut after_index;
        (i, after_index) = p.arg_number(format, i, args.len());
        // Do we have width?
        if i < end && b[i] == b'*' {
            i += 1;
            match p.int_from_arg(args) {
                Some(w) => {
                    if w < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.width = Some(w.unsigned_abs() as usize);
                }
                None => p.out.push_str("%!(BADWIDTH)"),
            }
            after_index = false;
        } else {
            let (n, present, next) = parse_num(b, i);
            if present {
                f.width = Some(n);
                if after_index {
                    p.good_arg_num = false;
                }
            }
            i = next;
        }
        // Do we have precision?
        if i + 1 < end && b[i] == b'.' {
            i += 1;
            if after_index {
                p.good_arg_num = false;
            }
            (i, after_index) = p.arg_number(format, i, args.len());
            if i < end && b[i] == b'*' {
                i += 1;
                match p.int_from_arg(args) {
                    Some(pr) if pr >= 0 => f.prec = Some(pr as usize),
                    Some(_) => f.prec = None,
                    None => p.out.push_str("%!(BADPREC)"),
                }
                after_index = false;
            } else {
                let (n, _, next) = parse_num(b, i);
                f.prec = Some(n);
                i = next;
            }
        }
        if !after_index {
            (i, _) = p.arg_number(format, i, args.len());
        }
        if i >= end {
            p.out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().unwrap_or('?');
        i += verb.len_utf8();
        if f.minus {
            f.zero = false;
        }
        if verb == '%' {
            p.out.push('%');
        } else if !p.good_arg_num {
            p.out.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if p.arg_num >= args.len() {
            p.out.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                f.sharp_v = f.sharp;
                f.sharp = false;
                f.plus_v = f.plus;
                f.plus = false;
            }
            print_arg(&mut p.out, &args[p.arg_num], verb, &f);
            p.arg_num += 1;
        }
    }
    // Extra arguments, unless they were accessed out of order.
    if !p.reordered && p.arg_num < args.len() {
        p.out.push_str("%!(EXTRA ");
        for (k, arg) in args[p.arg_num..].iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            if arg.is_nil() {
                p.out.push_str("<nil>");
            } else {
                p.out.push_str(arg.type_name());
                p.out.push('=');
                print_arg(&mut p.out, arg, 'v', &Flags::default());
            }
        }
        p.out.push(')');
    }
    p.out
}

struct Printf {
    out: String,
    arg_num: usize,
    reordered: bool,
    good_arg_num: bool,
}

impl Printf {
    /// Go's `argNumber`: an explicit `[n]` index at `i`, if any.
    fn arg_number(&mut self, format: &str, i: usize, num_args: usize) -> (usize, bool) {
        let b = format.as_bytes();
        if i >= b.len() || b[i] != b'[' {
            return (i, false);
        }
        self.reordered = true;
        // parseArgNumber: at least "[n]".
        let rest = &b[i..];
        if rest.len() < 3 {
            self.good_arg_num = false;
            return (i + 1, false);
        }
        for k in 1..rest.len() {
            if rest[k] == b']' {
                let (n, present, next) = parse_num(rest, 1);
                if !present || next != k {
                    self.good_arg_num = false;
                    return (i + k + 1, false);
                }
                let index = n as i64 - 1;
                if 0 <= index && (index as usize) < num_args {
                    self.arg_num = index as usize;
                    return (i + k + 1, true);
                }
                self.good_arg_num = false;
                return (i + k + 1, true);
            }
        }
        self.good_arg_num = false;
        (i + 1, false)
    }

    /// Go's `intFromArg`: the next argument as a width or precision.
    fn int_from_arg(&mut self, args: &[Value]) -> Option<i64> {
        let v = args.get(self.arg_num)?;
        self.arg_num += 1;
        int_from_arg(v).filter(|n| n.unsigned_abs() <= 1_000_000)
    }
}

/// Go's `parsenum`: a crazy long number (past 1e6 before its last digit)
/// is no number and swallows the rest of the format.
fn parse_num(bytes: &[u8], mut i: usize) -> (usize, bool, usize) {
    let mut n: usize = 0;
    let mut present = false;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        if n >= 1_000_000 {
            return (0, false, bytes.len());
        }
        n = n * 10 + (bytes[i] - b'0') as usize;
        present = true;
        i += 1;
    }
    (n, present, i)
}

fn int_from_arg(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) | Value::Int64(i) => Some(*i),
        Value::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    }
}

/// Appends `s` padded to the flags' width (counted in runes).
fn pad(out: &mut String, s: &str, f: &Flags) {
    let Some(width) = f.width else {
        out.push_str(s);
        return;
    };
    let n = s.chars().count();
    if n >= width {
        out.push_str(s);
        return;
    }
    let fill = width - n;
    if f.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        let c = if f.zero { '0' } else { ' ' };
        out.extend(std::iter::repeat_n(c, fill));
        out.push_str(s);
    }
}

/// Go's `badVerb`: `%!d(string=x)`, the value printed with `%v` under the
/// verb's flags (width, precision, `+` still apply).
fn bad_verb(out: &mut String, verb: char, v: &Value, f: &Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if v.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(v.type_name());
        out.push('=');
        // Go prints it without calling its methods (`p.erroring`): a
        // time.Duration as its integer; and at depth 0, a pointer to a
        // struct as `&{…}`.
        let f = &Flags {
            nested: false,
            erroring: true,
            ..f.clone()
        };
        match v.duration() {
            Some(d) => print_arg(out, &Value::Int64(d), 'v', f),
            None => print_arg(out, v, 'v', f),
        }
    }
    out.push(')');
}

/// An element held in an `interface{}` slot (of a `[]interface{}` or a
/// map's value): a nil one prints `<nil>` whatever the verb and flags
/// (`interface {}(nil)` for `%#v`).
fn print_elem(out: &mut String, v: &Value, verb: char, f: &Flags) {
    if matches!(v, Value::Nil | Value::Invalid) {
        // Written as is: no width or precision applies.
        out.push_str(if f.sharp_v {
            "interface {}(nil)"
        } else {
            "<nil>"
        });
        return;
    }
    print_arg(out, v, verb, &f.nested());
}

/// text/template's `printableValue` then `%v`: a pointer (`.Capabilities`)
/// is followed first, so its struct prints without the `&`.
/// [`sprint_printable`] appended to `out` (what `{{ x }}` writes).
pub fn print_printable(out: &mut String, v: &Value) {
    match v {
        Value::Object(o) if matches!(**o, Object::Capabilities(_)) => {
            out.push_str(&sprint_printable(v))
        }
        _ => print_arg(out, v, 'v', &Flags::default()),
    }
}

pub fn sprint_printable(v: &Value) -> String {
    let s = sprint_value(v);
    match v {
        Value::Object(o) if matches!(**o, Object::Capabilities(_)) => {
            s.strip_prefix('&').map(str::to_string).unwrap_or(s)
        }
        _ => s,
    }
}

fn print_arg(out: &mut String, v: &Value, verb: char, f: &Flags) {
    // Go recurses until its stack overflows on cyclic values; stop instead.
    let Some(_level) = crate::value::DepthGuard::enter() else {
        out.push_str("...");
        return;
    };
    if verb == 'T' {
        pad(out, if v.is_nil() { "<nil>" } else { v.type_name() }, f);
        return;
    }
    // printArg: `%p` of an operand (depth 0) is fmtPointer's, whatever
    // its methods.
    if verb == 'p' && !f.nested {
        match address_of(v) {
            Some(u) => fmt_address(out, u, f),
            None => bad_verb(out, verb, v, f),
        }
        return;
    }
    match v {
        Value::Invalid | Value::Nil => match verb {
            'v' => pad(out, "<nil>", f),
            _ => bad_verb(out, verb, v, f),
        },
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, if *b { "true" } else { "false" }, f),
            _ => bad_verb(out, verb, v, f),
        },
        Value::Int(i) | Value::Int64(i) => fmt_integer(out, *i < 0, i.unsigned_abs(), verb, f, v),
        // fmt0x64: `%#v` of an unsigned integer is Go syntax in hex.
        Value::Uint(u) if verb == 'v' && f.sharp_v => {
            let hex = Flags {
                sharp: true,
                ..f.clone()
            };
            fmt_integer(out, false, *u, 'x', &hex, v)
        }
        Value::Uint(u) => fmt_integer(out, false, *u, verb, f, v),
        Value::Float(x) => fmt_float_verb(out, *x, verb, f, v),
        Value::Complex(re, im) => fmt_complex(out, *re, *im, verb, f, v),
        Value::String(s) => fmt_string(out, s, verb, f, v),
        Value::Bytes(b) => match verb {
            's' | 'q' | 'x' | 'X' => {
                fmt_string(out, &crate::value::gostr::from_bytes(b), verb, f, v)
            }
            // fmtBytes: `%#v` shows each byte as 0x.., like fmt0x64, after
            // the type printArg names []byte and printValue, in a
            // collection, []uint8.
            _ if f.sharp_v => {
                out.push_str(if f.nested { "[]uint8{" } else { "[]byte{" });
                for (k, x) in b.iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&format!("{x:#x}"));
                }
                out.push('}');
            }
            _ => {
                out.push('[');
                for (k, x) in b.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    fmt_byte(out, *x, verb, f);
                }
                out.push(']');
            }
        },
        Value::List(l) if l.nil && f.sharp_v => {
            out.push_str(v.type_name());
            out.push_str("(nil)");
        }
        Value::List(l) => print_seq(out, &l.items, verb, f, v.type_name()),
        Value::Map(m) => {
            if f.sharp_v {
                out.push_str(v.type_name());
                if m.nil {
                    out.push_str("(nil)");
                    return;
                }
                out.push('{');
                for (k, (key, val)) in m.pairs().iter().enumerate() {
                    if k > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(key));
                    out.push(':');
                    print_elem(out, val, verb, f);
                }
                out.push('}');
                return;
            }
            out.push_str("map[");
            for (k, (key, val)) in m.pairs().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                print_arg(out, &Value::str(key), verb, f);
                out.push(':');
                print_elem(out, val, verb, f);
            }
            out.push(']');
        }
        Value::Object(o) => print_object(out, v, o, verb, f),
    }
}

/// One element of a `[]byte` printed with an integer or other verb: a
/// `uint8`, which is what a wrong verb names.
fn fmt_byte(out: &mut String, x: u8, verb: char, f: &Flags) {
    let v = Value::Uint(u64::from(x));
    if matches!(
        verb,
        'v' | 'd' | 'b' | 'o' | 'O' | 'x' | 'X' | 'c' | 'q' | 'U'
    ) {
        fmt_integer(out, false, u64::from(x), verb, f, &v);
        return;
    }
    out.push_str("%!");
    out.push(verb);
    out.push_str("(uint8=");
    print_arg(out, &v, 'v', f);
    out.push(')');
}

fn print_seq(out: &mut String, items: &[Value], verb: char, f: &Flags, type_name: &str) {
    if f.sharp_v {
        out.push_str(type_name);
        out.push('{');
        for (k, item) in items.iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            print_elem(out, item, verb, f);
        }
        out.push('}');
        return;
    }
    out.push('[');
    for (k, item) in items.iter().enumerate() {
        if k > 0 {
            out.push(' ');
        }
        print_elem(out, item, verb, f);
    }
    out.push(']');
}

/// `v` is the value `o` is the object of.
fn print_object(out: &mut String, v: &Value, o: &Object, verb: char, f: &Flags) {
    let s = |x: &str| Value::str(x);
    match o {
        // A map[string][]byte named engine.files.
        Object::Files(files) => {
            out.push_str(if f.sharp_v { "engine.files{" } else { "map[" });
            for (k, (name, data)) in files.iter().enumerate() {
                if k > 0 {
                    out.push_str(if f.sharp_v { ", " } else { " " });
                }
                print_arg(out, &s(name), verb, f);
                out.push(':');
                print_arg(out, &Value::bytes_of(data), verb, &f.nested());
            }
            out.push(if f.sharp_v { '}' } else { ']' });
        }
        // fmtPointer: a pointer to a struct inside a collection.
        Object::Capabilities(_) if f.nested => fmt_pointer(out, "*common.Capabilities", v, verb, f),
        Object::Capabilities(c) => {
            // A pointer at depth 0: `&` and the struct.
            out.push('&');
            let inner = f.nested();
            open_struct(out, "common.Capabilities", f);
            struct_field(out, 0, "KubeVersion", f);
            let kube = kube_fields(&c.kube_version);
            print_struct(out, "common.KubeVersion", &kube, verb, &inner);
            struct_field(out, 1, "APIVersions", f);
            let apis: Vec<Value> = c.api_versions.iter().map(|a| s(a)).collect();
            print_seq(out, &apis, verb, &inner, "common.VersionSet");
            struct_field(out, 2, "HelmVersion", f);
            let helm = helm_fields(&c.helm_version);
            print_struct(out, "version.BuildInfo", &helm, verb, &inner);
            out.push('}');
        }
        Object::KubeVersion(k) => print_struct(out, "common.KubeVersion", &kube_fields(k), verb, f),
        Object::HelmVersion(h) => print_struct(out, "version.BuildInfo", &helm_fields(h), verb, f),
        Object::Semver(ver) => print_semver(out, v, ver, true, verb, f),
        Object::SemverValue(ver) => print_semver(out, v, ver, false, verb, f),
        // time.Time is a fmt.Stringer.
        // time.Time is a fmt.GoStringer.
        Object::Time(t) if f.sharp_v && !f.erroring => pad(out, &t.go_syntax(), f),
        Object::Time(t) if !f.erroring && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
            fmt_string(out, &t.go_string(), verb, f, &Value::Invalid)
        }
        // Other verbs print the struct: {wall ext loc}.
        Object::Time(t) => {
            let inner = f.nested();
            let (wall, ext) = t.wall_ext();
            out.push('{');
            print_arg(out, &Value::Uint(wall), verb, &inner);
            out.push(' ');
            print_arg(out, &Value::Int64(ext), verb, &inner);
            out.push(' ');
            // UTC is a nil *time.Location; any other is an address.
            let utc = matches!(t.loc, crate::funcs::dates::Loc::Utc);
            match verb {
                // A bad verb's operand (`%!p(time.Time={… 0xc000010000})`).
                'v' if utc => pad(out, "<nil>", &inner),
                'v' => fmt_address(out, ADDRESS, &inner),
                'b' | 'o' | 'd' | 'x' | 'X' => {
                    let address = if utc { 0 } else { ADDRESS };
                    fmt_integer(out, false, address, verb, &inner, &Value::Invalid)
                }
                _ => {
                    out.push_str("%!");
                    out.push(verb);
                    out.push_str("(*time.Location=");
                    if utc {
                        out.push_str("<nil>");
                    } else {
                        // Go prints the location's fields (its zones and
                        // transitions), which berth does not have.
                        out.push_str("&{");
                        out.push_str(t.loc.name());
                        out.push('}');
                    }
                    out.push(')');
                }
            }
            out.push('}');
        }
        // time.Duration is a fmt.Stringer for the verbs that take strings
        // (and not a GoStringer); an int64 to the others.
        Object::Duration(d) if !f.sharp_v && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
            fmt_string(
                out,
                &crate::funcs::dates::duration_string(*d),
                verb,
                f,
                &Value::Invalid,
            )
        }
        // *time.Location is a fmt.Stringer (its address, which other
        // verbs print, is not reproducible: they get the name too).
        Object::Location(l) => fmt_string(out, l.name(), verb, f, &Value::Invalid),
        Object::Duration(d) => fmt_integer(
            out,
            *d < 0,
            d.unsigned_abs(),
            verb,
            f,
            &Value::object(Object::Duration(*d)),
        ),
        Object::Certificate(c) => {
            let fields = [("Cert", s(&c.cert)), ("Key", s(&c.key))];
            print_struct(out, "sprig.certificate", &fields, verb, f);
        }
    }
}

/// A `*semver.Version` (`pointer`, what `semver` returns) or a
/// `semver.Version` (what `IncMajor` & co. return) `v`: a fmt.Stringer (its
/// `String` has a value receiver) for the verbs that take strings, unless
/// `%#v`; otherwise Go prints the struct, its unexported fields and all
/// (`&semver.Version{major:0x1, …, original:"1.2"}` for `%#v`).
fn print_semver(
    out: &mut String,
    v: &Value,
    ver: &crate::funcs::semver::Version,
    pointer: bool,
    verb: char,
    f: &Flags,
) {
    if !f.erroring && !f.sharp_v && matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') {
        fmt_string(out, &ver.to_string(), verb, f, &Value::Invalid);
        return;
    }
    if pointer {
        if f.nested {
            fmt_pointer(out, "*semver.Version", v, verb, f);
            return;
        }
        out.push('&');
    }
    let fields = [
        ("major", Value::Uint(ver.major)),
        ("minor", Value::Uint(ver.minor)),
        ("patch", Value::Uint(ver.patch)),
        ("pre", Value::str(&ver.pre)),
        ("metadata", Value::str(&ver.metadata)),
        ("original", Value::str(&ver.original)),
    ];
    // The fields are unexported: printed without their methods.
    let raw = Flags {
        erroring: true,
        ..f.clone()
    };
    print_struct(out, "semver.Version", &fields, verb, &raw);
}

/// Go's `fmtPointer` of a pointer `v` of type `type_name` held in a
/// collection (depth > 0), where it is not followed: its address.
fn fmt_pointer(out: &mut String, type_name: &str, v: &Value, verb: char, f: &Flags) {
    match verb {
        'v' if f.sharp_v => out.push_str(&format!("({type_name})({ADDRESS:#x})")),
        'v' | 'p' => fmt_address(out, ADDRESS, f),
        'b' | 'o' | 'd' | 'x' | 'X' => fmt_integer(out, false, ADDRESS, verb, f, v),
        _ => bad_verb(out, verb, v, f),
    }
}

/// The address `%p` prints for `v`, when Go holds it in a slice, map or
/// pointer (0 for a nil one); a struct, string or number has none.
fn address_of(v: &Value) -> Option<u64> {
    let nil = match v {
        Value::List(l) => l.nil,
        Value::Map(m) => m.nil,
        Value::Bytes(_) => false,
        Value::Object(o) => match **o {
            Object::Files(_)
            | Object::Capabilities(_)
            | Object::Semver(_)
            | Object::Location(_) => false,
            _ => return None,
        },
        _ => return None,
    };
    Some(if nil { 0 } else { ADDRESS })
}

/// Go's `fmt0x64(u, !p.fmt.sharp)`: an address in hex, `0x` first unless
/// the `#` flag asks for none.
fn fmt_address(out: &mut String, u: u64, f: &Flags) {
    let hex = Flags {
        sharp: !f.sharp,
        ..f.clone()
    };
    fmt_integer(out, false, u, 'x', &hex, &Value::Invalid)
}

fn kube_fields(k: &crate::value::KubeVersion) -> Vec<(&'static str, Value)> {
    string_fields([
        ("Version", &k.version),
        ("normalizedVersion", &k.normalized),
        ("Major", &k.major),
        ("Minor", &k.minor),
    ])
}

fn helm_fields(h: &crate::value::HelmVersion) -> Vec<(&'static str, Value)> {
    string_fields([
        ("Version", &h.version),
        ("GitCommit", &h.git_commit),
        ("GitTreeState", &h.git_tree_state),
        ("GoVersion", &h.go_version),
        ("KubeClientVersion", &h.kube_client_version),
    ])
}

/// A struct's string fields, named, as [`print_struct`] takes them.
fn string_fields<const N: usize>(
    fields: [(&'static str, &String); N],
) -> Vec<(&'static str, Value)> {
    fields
        .into_iter()
        .map(|(name, v)| (name, Value::str(v)))
        .collect()
}

/// A struct's opening: `{`, after its type for `%#v`.
fn open_struct(out: &mut String, type_name: &str, f: &Flags) {
    if f.sharp_v {
        out.push_str(type_name);
    }
    out.push('{');
}

/// Before a struct's field `k`: the separator, and its name for `%+v` and
/// `%#v`.
fn struct_field(out: &mut String, k: usize, name: &str, f: &Flags) {
    if k > 0 {
        out.push_str(if f.sharp_v { ", " } else { " " });
    }
    if f.sharp_v || f.plus_v {
        out.push_str(name);
        out.push(':');
    }
}

/// Go's printValue of a struct: `{a b}`, `{A:a B:b}` (`%+v`),
/// `pkg.T{A:"a", B:"b"}` (`%#v`).
fn print_struct(
    out: &mut String,
    type_name: &str,
    fields: &[(&str, Value)],
    verb: char,
    f: &Flags,
) {
    let inner = f.nested();
    open_struct(out, type_name, f);
    for (k, (name, v)) in fields.iter().enumerate() {
        struct_field(out, k, name, f);
        print_arg(out, v, verb, &inner);
    }
    out.push('}');
}

fn fmt_string(out: &mut String, s: &str, verb: char, f: &Flags, v: &Value) {
    match verb {
        'v' | 's' => {
            if f.sharp_v {
                pad(out, &quote(s), f);
                return;
            }
            let s = truncate_runes(s, f.prec);
            pad(out, s, f);
        }
        'q' => {
            let s = truncate_runes(s, f.prec);
            if f.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                pad(out, &format!("`{s}`"), f);
            } else if f.plus {
                pad(out, &quote_ascii(s), f);
            } else {
                pad(out, &quote(s), f);
            }
        }
        'x' | 'X' => {
            let all = crate::value::gostr::to_bytes(s);
            let bytes: &[u8] = match f.prec {
                Some(p) if p < all.len() => &all[..p],
                _ => &all,
            };
            let mut h = String::new();
            for (k, b) in bytes.iter().enumerate() {
                if f.space && k > 0 {
                    h.push(' ');
                }
                if f.sharp && (f.space || k == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, f);
        }
        _ => bad_verb(out, verb, v, f),
    }
}

fn truncate_runes(s: &str, prec: Option<usize>) -> &str {
    match prec {
        Some(p) => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        None => s,
    }
}

fn fmt_integer(out: &mut String, neg: bool, mag: u64, verb: char, f: &Flags, v: &Value) {
    let (base, upper) = match verb {
        'v' | 'd' => (10, false),
        'b' => (2, false),
        'o' | 'O' => (8, false),
        'x' => (16, false),
        'X' => (16, true),
        'c' => {
            let c = char::from_u32(mag as u32)
                .filter(|_| !neg && mag <= 0x10FFFF)
                .unwrap_or('\u{FFFD}');
            pad(out, &c.to_string(), f);
            return;
        }
        'q' => {
            let c = char::from_u32(mag as u32)
                .filter(|_| !neg && mag <= 0x10FFFF)
                .unwrap_or('\u{FFFD}');
            pad(out, &quote_rune_with(c, f.plus), f);
            return;
        }
        'U' => {
            // Go formats the integer's bits as a uint64 (-1 is U+FFFFFFFFFFFFFFFF).
            let mag = if neg { mag.wrapping_neg() } else { mag };
            let mut s = format!("U+{mag:04X}");
            if f.sharp
                && let Some(c) = char::from_u32(mag as u32)
                && is_print(c)
            {
                s.push_str(&format!(" '{c}'"));
            }
            // fmtUnicode pads with spaces, whatever the 0 flag.
            let spaces = Flags {
                zero: false,
                ..f.clone()
            };
            pad(out, &s, &spaces);
            return;
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' => {
            // Go formats integers with float verbs as bad verbs.
            bad_verb(out, verb, v, f);
            return;
        }
        _ => {
            bad_verb(out, verb, v, f);
            return;
        }
    };
    let mut digits = match base {
        2 => format!("{mag:b}"),
        8 => format!("{mag:o}"),
        16 if upper => format!("{mag:X}"),
        16 => format!("{mag:x}"),
        _ => mag.to_string(),
    };
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    // Two ways to ask for leading zeros: a precision, or the 0 flag with
    // a width (no precision), which Go counts as the digits' own
    // precision, less one for a sign: the prefix comes on top
    // (`%#08x` of 255 is 0x000000ff).
    let zeros = match (f.prec, f.width) {
        (Some(p), _) => p,
        (None, Some(w)) if f.zero && !f.minus => w.saturating_sub(usize::from(!sign.is_empty())),
        _ => 0,
    };
    if f.prec == Some(0) && mag == 0 {
        // Nothing but the width's spaces: no sign, no prefix.
        let spaces = Flags {
            zero: false,
            ..f.clone()
        };
        pad(out, "", &spaces);
        return;
    }
    if digits.len() < zeros {
        digits.insert_str(0, &"0".repeat(zeros - digits.len()));
    }
    let mut prefix = String::new();
    if f.sharp || verb == 'O' {
        match (base, verb) {
            (8, 'O') => prefix.push_str("0o"),
            (8, _) if !digits.starts_with('0') => prefix.push('0'),
            (16, _) => prefix.push_str(if upper { "0X" } else { "0x" }),
            (2, _) => prefix.push_str("0b"),
            _ => {}
        }
    }
    let s = format!("{sign}{prefix}{digits}");
    let mut nf = f.clone();
    nf.zero = false;
    pad(out, &s, &nf);
}

/// Go's `fmtFloat` (pp and fmt): the verb's conversion and default
/// precision, the sign, `#` (keep the point and trailing zeros — counting
/// the `x` of `%#x` as a digit, as Go does), and zero padding after the sign.
/// Go's `fmtComplex`: `(real+imagi)`, each part a float64 with the verb and
/// flags (width and precision apply to each), the imaginary part always
/// signed.
fn fmt_complex(out: &mut String, re: f64, im: f64, verb: char, f: &Flags, v: &Value) {
    if !matches!(
        verb,
        'v' | 'b' | 'g' | 'G' | 'x' | 'X' | 'f' | 'F' | 'e' | 'E'
    ) {
        bad_verb(out, verb, v, f);
        return;
    }
    out.push('(');
    fmt_float_verb(out, re, verb, f, v);
    let signed = Flags {
        plus: true,
        ..f.clone()
    };
    fmt_float_verb(out, im, verb, &signed, v);
    out.push_str("i)");
}

fn fmt_float_verb(out: &mut String, x: f64, verb: char, f: &Flags, v: &Value) {
    let (conv, default_prec): (char, Option<usize>) = match verb {
        'v' => ('g', None),
        'b' | 'g' | 'G' | 'x' | 'X' if f.sharp_v => ('g', None),
        'b' | 'g' | 'G' | 'x' | 'X' => (verb, None),
        'f' | 'e' | 'E' | 'F' if f.sharp_v => ('g', None),
        'f' | 'F' => ('f', Some(6)),
        'e' | 'E' => (verb, Some(6)),
        _ => {
            bad_verb(out, verb, v, f);
            return;
        }
    };
    let prec = f.prec.or(default_prec);
    let raw = format_float(x, conv, prec);
    let mut num: Vec<char> = raw.chars().collect();
    if num.first().is_some_and(|c| *c == '-' || *c == '+') {
    } else {
        num.insert(0, '+');
    }
    if f.space && num[0] == '+' && !f.plus {
        num[0] = ' ';
    }
    if num.get(1).is_some_and(|c| *c == 'I' || *c == 'N') {
        if num[1] == 'N' && !f.space && !f.plus {
            num.remove(0);
        }
        let mut nf = f.clone();
        nf.zero = false;
        pad(out, &num.iter().collect::<String>(), &nf);
        return;
    }
    if f.sharp && conv != 'b' {
        let mut digits: i64 = match conv {
            'g' | 'G' | 'x' => prec.map_or(6, |p| p as i64),
            _ => 0,
        };
        let mut tail: Vec<char> = Vec::new();
        let mut has_point = false;
        let mut saw_nonzero = false;
        let mut i = 1;
        while i < num.len() {
            match num[i] {
                '.' => has_point = true,
                'p' | 'P' => {
                    tail = num.split_off(i);
                    break;
                }
                'e' | 'E' if conv != 'x' && conv != 'X' => {
                    tail = num.split_off(i);
                    break;
                }
                c => {
                    if c != '0' {
                        saw_nonzero = true;
                    }
                    if saw_nonzero {
                        digits -= 1;
                    }
                }
            }
            i += 1;
        }
        if !has_point {
            if num.len() == 2 && num[1] == '0' {
                digits -= 1;
            }
            num.push('.');
        }
        while digits > 0 {
            num.push('0');
            digits -= 1;
        }
        num.extend(tail);
    }
    if f.plus || num[0] != '+' {
        if f.zero
            && !f.minus
            && let Some(w) = f.width
            && w > num.len()
        {
            out.push(num[0]);
            out.extend(std::iter::repeat_n('0', w - num.len()));
            out.extend(&num[1..]);
            return;
        }
        pad(out, &num.iter().collect::<String>(), f);
        return;
    }
    pad(out, &num[1..].iter().collect::<String>(), f);
}

/// `strconv.FormatFloat(x, 'b' | 'x' | 'X', prec, 64)`.
fn format_float_binary(x: f64, fmt: char, prec: Option<usize>) -> String {
    let bits = x.to_bits();
    let neg = bits >> 63 != 0;
    let mut exp = ((bits >> 52) & 0x7FF) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 {
        exp += 1;
    } else {
        mant |= 1 << 52;
    }
    exp -= 1023;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if fmt == 'b' {
        let e = exp - 52;
        out.push_str(&format!("{mant}p{}{}", if e >= 0 { "+" } else { "" }, e));
        return out;
    }
    // %x: -0x1.yyyyp±dd
    if mant == 0 {
        exp = 0;
    }
    mant <<= 60 - 52;
    while mant != 0 && mant & (1 << 60) == 0 {
        mant <<= 1;
        exp -= 1;
    }
    if let Some(p) = prec.filter(|p| *p < 15) {
        let shift = (p * 4) as u32;
        let extra = (mant << shift) & ((1u64 << 60) - 1);
        mant >>= 60 - shift;
        if extra | (mant & 1) > 1 << 59 {
            mant += 1;
        }
        mant <<= 60 - shift;
        if mant & (1 << 61) != 0 {
            mant >>= 1;
            exp += 1;
        }
    }
    let hex: &[u8; 16] = if fmt == 'X' {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    out.push('0');
    out.push(fmt);
    out.push((b'0' + ((mant >> 60) & 1) as u8) as char);
    mant <<= 4;
    match prec {
        None if mant != 0 => {
            out.push('.');
            while mant != 0 {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        Some(p) if p > 0 => {
            out.push('.');
            for _ in 0..p {
                out.push(hex[((mant >> 60) & 15) as usize] as char);
                mant <<= 4;
            }
        }
        _ => {}
    }
    out.push(if fmt == 'X' { 'P' } else { 'p' });
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// `strconv.FormatFloat(x, fmt, prec, 64)` for `fmt` in `e E f F g G`;
/// `prec = None` is Go's `-1` (shortest representation that round-trips).
pub fn format_float(x: f64, fmt: char, prec: Option<usize>) -> String {
    if matches!(fmt, 'b' | 'x' | 'X') && x.is_finite() {
        return format_float_binary(x, fmt, prec);
    }
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let neg = x.is_sign_negative();
    let a = x.abs();
    // Decimal digits and the position of the decimal point (digits * 10^(dp - nd)).
    let (digits, dp) = match (fmt, prec) {
        (_, None) => shortest_digits(a),
        ('e' | 'E', Some(p)) => rounded_digits(a, p + 1),
        ('g' | 'G', Some(p)) => {
            let (d, dp) = rounded_digits(a, p.max(1));
            // %g drops trailing zeros.
            let t = d.trim_end_matches('0');
            (
                if t.is_empty() {
                    "0".to_string()
                } else {
                    t.to_string()
                },
                dp,
            )
        }
        _ => (String::new(), 0), // %f handled below
    };
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    match fmt {
        'f' | 'F' => match prec {
            Some(p) => s.push_str(&format!("{a:.p$}")),
            None => {
                let decimals = (digits.len() as i32 - dp).max(0) as usize;
                push_fixed(&mut s, &digits, dp, decimals);
            }
        },
        'e' | 'E' => {
            let p = match prec {
                Some(p) => p,
                None => digits.len().saturating_sub(1),
            };
            push_exp(&mut s, &digits, dp, p, fmt);
        }
        _ => {
            // 'g' / 'G'
            let nd = digits.len() as i32;
            let mut eprec = match prec {
                None => 6,
                Some(p) => {
                    let p = p.max(1) as i32;
                    if p > nd && nd >= dp { nd } else { p }
                }
            };
            if prec.is_none() {
                eprec = 6;
            }
            let exp = dp - 1;
            let e = if fmt == 'g' { 'e' } else { 'E' };
            if exp < -4 || exp >= eprec {
                push_exp(&mut s, &digits, dp, digits.len().saturating_sub(1), e);
            } else {
                // %f with exactly the significant digits.
                let decimals = (nd - dp).max(0) as usize;
                push_fixed(&mut s, &digits, dp, decimals);
            }
        }
    }
    s
}

fn push_exp(s: &mut String, digits: &str, dp: i32, prec: usize, e: char) {
    let mut d = digits.chars();
    s.push(d.next().unwrap_or('0'));
    if prec > 0 {
        s.push('.');
        let rest: String = d.collect();
        s.push_str(&rest);
        for _ in rest.len()..prec {
            s.push('0');
        }
    }
    let exp = if digits == "0" { 0 } else { dp - 1 };
    s.push(e);
    s.push(if exp < 0 { '-' } else { '+' });
    let ea = exp.unsigned_abs();
    if ea < 10 {
        s.push('0');
    }
    s.push_str(&ea.to_string());
}

fn push_fixed(s: &mut String, digits: &str, dp: i32, decimals: usize) {
    let b = digits.as_bytes();
    // Integer part.
    if dp <= 0 {
        s.push('0');
    } else {
        for i in 0..dp as usize {
            s.push(*b.get(i).unwrap_or(&b'0') as char);
        }
    }
    if decimals > 0 {
        s.push('.');
        for i in 0..decimals as i32 {
            let idx = dp + i;
            let c = if idx < 0 {
                b'0'
            } else {
                *b.get(idx as usize).unwrap_or(&b'0')
            };
            s.push(c as char);
        }
    }
}

/// Shortest round-tripping decimal digits of a non-negative finite float,
/// and the decimal point position.
fn shortest_digits(a: f64) -> (String, i32) {
    if a == 0.0 {
        return ("0".into(), 1);
    }
    // Rust's `{:e}` prints the shortest round-trip representation, like Go's.
    split_exp(&format!("{a:e}"))
}

/// `n` significant digits, correctly rounded.
fn rounded_digits(a: f64, n: usize) -> (String, i32) {
    if a == 0.0 {
        return ("0".repeat(n.max(1)), 1);
    }
    split_exp(&format!("{:.*e}", n.saturating_sub(1), a))
}

fn split_exp(s: &str) -> (String, i32) {
    let (mant, exp) = s.split_once('e').unwrap_or((s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp + 1)
}

/// Go's `unicode.IsPrint` (approximated: Rust has no category tables; format
/// characters and unusual spaces are treated as non-printable).
pub fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !matches!(u,
        0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x180E | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF | 0xFFFE | 0xFFFF | 0x110BD | 0x1D173..=0x1D17A | 0xE0001 | 0xE0020..=0xE007F)
}

fn push_escaped_rune(out: &mut String, c: char, quote_char: char, ascii_only: bool) {
    // A byte of invalid UTF-8 carried in the string (see `value::gostr`).
    if let Some(b) = crate::value::gostr::escaped_byte(c) {
        out.push_str(&format!("\\x{b:02x}"));
        return;
    }
    match c {
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\\' => out.push_str("\\\\"),
        c if c == quote_char => {
            out.push('\\');
            out.push(c);
        }
        c if (c as u32) < 0x80 && is_print(c) => out.push(c),
        c if !ascii_only && is_print(c) => out.push(c),
        c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
        c => out.push_str(&format!("\\U{:08x}", c as u32)),
    }
}

/// `strconv.Quote`: a double-quoted Go string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped_rune(&mut out, c, '"', false);
    }
    out.push('"');
    out
}

/// `strconv.Quote` of raw bytes: invalid UTF-8 bytes become `\x..`.
pub fn quote_bytes(b: &[u8]) -> String {
    let mut out = String::from("\"");
    let mut rest = b;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                for c in s.chars() {
                    push_escaped_rune(&mut out, c, '"', false);
                }
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                for c in std::str::from_utf8(good).unwrap_or("").chars() {
                    push_escaped_rune(&mut out, c, '"', false);
                }
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for byte in &bad[..n] {
                    out.push_str(&format!("\\x{byte:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
    out.push('"');
    out
}

/// `strconv.QuoteToASCII`.
pub fn quote_ascii(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        push_escaped_rune(&mut out, c, '"', true);
    }
    out.push('"');
    out
}

/// `strconv.QuoteRune`.
pub fn quote_rune(c: char) -> String {
    quote_rune_with(c, false)
}

/// `strconv.QuoteRune`, or `QuoteRuneToASCII` when `ascii_only`.
fn quote_rune_with(c: char, ascii_only: bool) -> String {
    let mut out = String::from("'");
    push_escaped_rune(&mut out, c, '\'', ascii_only);
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_go() {
        let g = |x: f64| format_float(x, 'g', None);
        assert_eq!(g(1000000.0), "1e+06");
        assert_eq!(g(100000.0), "100000");
        assert_eq!(g(1.5), "1.5");
        assert_eq!(g(0.0001), "0.0001");
        assert_eq!(g(0.00001), "1e-05");
        assert_eq!(g(1234567.0), "1.234567e+06");
        assert_eq!(g(0.0), "0");
        assert_eq!(g(-2.5), "-2.5");
        assert_eq!(g(1e21), "1e+21");
        assert_eq!(format_float(2.25678, 'f', Some(2)), "2.26");
        assert_eq!(format_float(2.5, 'f', Some(0)), "2");
        assert_eq!(format_float(1234.5678, 'e', Some(3)), "1.235e+03");
        assert_eq!(format_float(1.0, 'g', Some(3)), "1");
        assert_eq!(format_float(123456.0, 'g', Some(3)), "1.23e+05");
        assert_eq!(format_float(f64::INFINITY, 'g', None), "+Inf");
    }

    #[test]
    fn sprintf_matches_go() {
        let s = |x: &str| Value::str(x);
        assert_eq!(sprintf("%d", &[Value::Float(1.5)]), "%!d(float64=1.5)");
        assert_eq!(sprintf("%s-%s", &[s("a")]), "a-%!s(MISSING)");
        assert_eq!(sprintf("%s", &[s("a"), Value::Int(1)]), "a%!(EXTRA int=1)");
        assert_eq!(
            sprintf(
                "%05.1f|%-4d|%4s|%q",
                &[Value::Float(2.25678), Value::Int(7), s("ab"), s("x\"y")]
            ),
            "002.3|7   |  ab|\"x\\\"y\""
        );
        assert_eq!(
            sprintf(
                "%x %X %o %b %c",
                &[
                    Value::Int(255),
                    Value::Int(255),
                    Value::Int(8),
                    Value::Int(5),
                    Value::Int(65)
                ]
            ),
            "ff FF 10 101 A"
        );
        assert_eq!(sprintf("%v", &[Value::Nil]), "<nil>");
        assert_eq!(sprintf("%d", &[Value::Nil]), "%!d(<nil>)");
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
    }

    #[test]
    fn sprint_spacing() {
        assert_eq!(
            sprint(&[Value::Int(1), Value::Int(2), Value::str("a"), Value::Int(3)]),
            "1 2a3"
        );
        assert_eq!(sprintln(&[Value::str("a"), Value::str("b")]), "a b\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\tb\u{1}é"), "\"a\\tb\\x01é\"");
        assert_eq!(quote("\u{200b}"), "\"\\u200b\"");
    }
}
