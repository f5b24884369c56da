//! Values → YAML, the way Helm's `toYaml` writes it: sigs.k8s.io/yaml's
//! `Marshal`, which encodes to JSON, reads that back with go-yaml v2 and
//! emits it with go-yaml v2's port of libyaml's emitter.
//!
//! What that means for the output: keys sorted by go-yaml's "natural"
//! order (numbers inside keys compare numerically, letters after other
//! characters), block style everywhere except `{}`/`[]` for empty
//! collections, indentless sequences under mapping keys, strings quoted only
//! when they would read back as something else (`"yes"`, `"1.0"`, `"0755"`,
//! `""`, timestamps), `|`/`|-`/`|+` literal blocks for multi-line strings,
//! double quotes with escapes when a string has tabs, control characters or
//! characters outside the BMP, and long plain or quoted scalars folded at the
//! first space past column 80.
//!
//! The emitter below ports the parts of `emitterc.go` these documents reach;
//! its state (`column`, `whitespace`, `indention`, `indent`) behaves exactly
//! as libyaml's so spacing decisions match.
//!
//! Helm's `toYamlPretty` uses go-yaml v3's encoder instead (with indent 2):
//! [`emit_v3`] and [`sort_keys_v3_shallow`] cover how v3 differs for these documents
//! — block sequences are indented under their key, nothing is folded, a tab
//! no longer forbids a literal block, its key order sorts a letter first
//! after equal digits, and a string that is not UTF-8 is written as base64
//! tagged `!!binary`.

use std::cmp::Ordering;

use super::resolve::{Resolved, is_base60_float, resolve};

/// A YAML node as go-yaml sees the JSON document.
#[derive(Debug, Clone)]
pub enum Y {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    /// A scalar written plain as is (go-yaml v3's `time.Time`).
    Raw(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

/// go-yaml v2's preferred line width: plain and quoted scalars are folded
/// at the first space after column 80.
const BEST_WIDTH: usize = 80;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

#[derive(Default)]
struct Analysis {
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

/// Serializes a document as go-yaml v2 does; the result ends with a newline.
pub fn emit(y: &Y) -> String {
    emit_with(y, false)
}

/// Serializes a document as go-yaml v3's `Encoder` with `SetIndent(2)`.
pub fn emit_v3(y: &Y) -> String {
    emit_with(y, true)
}

fn emit_with(y: &Y, v3: bool) -> String {
    let mut e = Emitter {
        v3,
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        indent: -1,
        indents: Vec::new(),
        flow_level: 0,
        root_context: false,
        mapping_context: false,
        simple_key_context: false,
    };
    e.node(y, true, false, false);
    // Document end (implicit).
    e.write_indent();
    // Stream end: go-yaml's encoder clears open_ended before finishing, so
    // no "..." marker is written.
    e.out
}

struct Emitter {
    /// go-yaml v3's emitter rather than v2's.
    v3: bool,
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    indent: i64,
    indents: Vec<i64>,
    flow_level: usize,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// libyaml's `is_printable` (UTF-8 sequences of up to three bytes).
fn is_printable(c: char) -> bool {
    c == '\n'
        || (' '..='~').contains(&c)
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || (('\u{E000}'..='\u{FFFD}').contains(&c) && c != '\u{FEFF}')
}

impl Emitter {
    /// Where scalars fold. go-yaml v3's encoder never folds (its line
    /// width is unlimited).
    fn best_width(&self) -> usize {
        if self.v3 { usize::MAX } else { BEST_WIDTH }
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_str(&mut self, s: &str) {
        for c in s.chars() {
            self.put(c);
        }
    }

    /// Copies a line break from the value: `\n` as a newline, others raw.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { 2 } else { 0 };
        } else if !indentless {
            self.indent += 2;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(
        &mut self,
        ind: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        self.write_str(ind);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn node(&mut self, y: &Y, root: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match y {
            Y::Seq(items) if items.is_empty() || self.flow_level > 0 => {
                self.write_indicator("[", true, true, false);
                self.increase_indent(true, false);
                self.pop_indent();
                self.write_indicator("]", false, false, false);
            }
            Y::Map(pairs) if pairs.is_empty() || self.flow_level > 0 => {
                self.write_indicator("{", true, true, false);
                self.increase_indent(true, false);
                self.pop_indent();
                self.write_indicator("}", false, false, false);
            }
            Y::Seq(items) => {
                // v2 writes sequences under mapping keys indentless; v3
                // indents them (its compact_sequence_indent is off).
                let indentless = !self.v3 && self.mapping_context && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, false, false, false);
                }
                self.pop_indent();
            }
            Y::Map(pairs) => {
                self.increase_indent(false, false);
                for (k, v) in pairs {
                    self.write_indent();
                    let key = self.string_request(k);
                    let a = analyze(&key.text, self.v3);
                    // check_simple_key counts the tag too.
                    let tag_len = key.tag.map_or(0, str::len);
                    let simple = !a.multiline && key.text.len() + tag_len <= 128;
                    if simple {
                        self.root_context = false;
                        self.mapping_context = true;
                        self.simple_key_context = true;
                        self.scalar(&key, &a);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.root_context = false;
                        self.mapping_context = true;
                        self.simple_key_context = false;
                        self.scalar(&key, &a);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(v, false, true, false);
                }
                self.pop_indent();
            }
            other => {
                let request = self.scalar_request(other);
                let a = analyze(&request.text, self.v3);
                self.scalar(&request, &a);
            }
        }
    }

    fn select_style(&self, requested: Style, value: &str, a: &Analysis) -> Style {
        let mut style = requested;
        if self.simple_key_context && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !a.flow_plain_allowed)
                || (self.flow_level == 0 && !a.block_plain_allowed)
            {
                style = Style::Single;
            }
            if value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal
            && (!a.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = Style::Double;
        }
        style
    }

    fn scalar(&mut self, request: &Request, a: &Analysis) {
        let value = request.text.as_str();
        let style = self.select_style(request.style, value, a);
        if let Some(tag) = request.tag {
            // process_tag: the handle and suffix, after a space.
            if !self.whitespace {
                self.put(' ');
            }
            self.write_str(tag);
            self.whitespace = false;
            self.indention = false;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::Single => self.write_single(value, allow_breaks),
            Style::Double => self.write_double(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width()
                    && i > 0
                    && i + 1 < n
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let v = c as u32;
                match c {
                    '\0' => self.put('0'),
                    '\x07' => self.put('a'),
                    '\x08' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\x0b' => self.put('v'),
                    '\x0c' => self.put('f'),
                    '\r' => self.put('r'),
                    '\x1b' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let s = if v <= 0xFF {
                            format!("x{v:02X}")
                        } else if v <= 0xFFFF {
                            format!("u{v:04X}")
                        } else {
                            format!("U{v:08X}")
                        };
                        self.write_str(&s);
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.best_width() && i > 0 && i + 1 < n
                {
                    self.write_indent();
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_block_hints(&mut self, value: &str) {
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator("2", false, false, false);
        }
        self.open_ended = false;
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.len() {
            0 => Some("-"),
            n => {
                if !is_break(chars[n - 1]) {
                    Some("-")
                } else if n == 1 || is_break(chars[n - 2]) {
                    self.open_ended = true;
                    Some("+")
                } else {
                    None
                }
            }
        };
        if let Some(h) = chomp {
            self.write_indicator(h, false, false, false);
        }
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        self.write_block_hints(value);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in value.chars() {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

/// libyaml's `yaml_emitter_analyze_scalar` (go-yaml v2 flavour: tabs and
/// non-printable characters forbid every style but double quotes).
fn analyze(value: &str, v3: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special = false;
    let mut tabs = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let n = chars.len();
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_whitespace = i + 1 >= n || is_blank(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                '?' | ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_indicators = true,
                ':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                '#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        if v3 && c == '\t' {
            tabs = true;
        } else if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank(c) || is_break(c) || c == '\0';
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tabs || special {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

/// A scalar as the encoder hands it to the emitter: its text, the style
/// it asks for, and its tag when it has one (written before it).
struct Request {
    text: String,
    style: Style,
    tag: Option<&'static str>,
}

impl Request {
    fn plain(text: String) -> Self {
        Request {
            text,
            style: Style::Plain,
            tag: None,
        }
    }
}

impl Emitter {
    /// The encoder's `stringv`: the style asked of the emitter for a
    /// string. go-yaml v3 first checks that the string is UTF-8 (berth
    /// carries a Go string's other bytes as `gostr` escapes): one that is
    /// not is written as base64 tagged `!!binary`. v2 never sees such a
    /// string, sigs.k8s.io/yaml's JSON step replaced its bytes.
    fn string_request(&self, s: &str) -> Request {
        if self.v3 && !crate::value::gostr::is_utf8(s) {
            let text = base64_lines(&crate::value::gostr::to_bytes(s));
            let style = if text.contains('\n') {
                Style::Literal
            } else {
                Style::Plain
            };
            return Request {
                text,
                style,
                tag: Some("!!binary"),
            };
        }
        let can_use_plain = resolve(s) == Resolved::Str && !is_base60_float(s);
        let style = if s.contains('\n') {
            Style::Literal
        } else if can_use_plain {
            Style::Plain
        } else {
            Style::Double
        };
        Request {
            text: s.to_string(),
            style,
            tag: None,
        }
    }

    fn scalar_request(&self, y: &Y) -> Request {
        match y {
            Y::Null => Request::plain("null".into()),
            Y::Bool(b) => Request::plain(b.to_string()),
            Y::Int(i) => Request::plain(i.to_string()),
            Y::Uint(u) => Request::plain(u.to_string()),
            Y::Float(f) => {
                let s = crate::gofmt::format_float(*f, 'g', None);
                Request::plain(match s.as_str() {
                    "+Inf" => ".inf".to_string(),
                    "-Inf" => "-.inf".to_string(),
                    "NaN" => ".nan".to_string(),
                    _ => s,
                })
            }
            Y::Str(s) => self.string_request(s),
            Y::Raw(s) => Request::plain(s.clone()),
            Y::Seq(_) | Y::Map(_) => Request::plain(String::new()),
        }
    }
}

/// go-yaml v3's `encodeBase64`: standard base64, cut into lines of 70
/// characters each ending in a newline once there are 70 or more.
fn base64_lines(bytes: &[u8]) -> String {
    const LINE: usize = 70;
    let encoded = crate::funcs::encoding::b64encode(bytes);
    if encoded.len() < LINE {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / LINE + 1);
    for line in encoded.as_bytes().chunks(LINE) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// go-yaml's map key order (`keyList.Less`) for string keys: runs of
/// digits compare as numbers, and a letter sorts after a non-letter; v3 sorts a letter first when
/// the characters before it were equal digits (`a1x` before `a10`).
pub(crate) fn key_less_with(a: &str, b: &str, v3: bool) -> bool {
    // Keys are compared character by character; ASCII keys (nearly all)
    // are their bytes, which saves collecting them on every comparison.
    if a.is_ascii() && b.is_ascii() {
        return key_less_chars(a.as_bytes(), b.as_bytes(), v3);
    }
    // Go's []rune(s): each stray byte is a U+FFFD.
    let rune = |c: char| {
        if crate::value::gostr::escaped_byte(c).is_some() {
            '\u{FFFD}'
        } else {
            c
        }
    };
    let ar: Vec<char> = a.chars().map(rune).collect();
    let br: Vec<char> = b.chars().map(rune).collect();
    key_less_chars(&ar, &br, v3)
}

fn key_less_chars<C: Copy + Into<char>>(a: &[C], b: &[C], v3: bool) -> bool {
    let ar = |k: usize| -> char { a[k].into() };
    let br = |k: usize| -> char { b[k].into() };
    let mut i = 0;
    let mut digits = false;
    while i < a.len() && i < b.len() {
        if ar(i) == br(i) {
            digits = is_digit(ar(i));
            i += 1;
            continue;
        }
        let al = ar(i).is_alphabetic();
        let bl = br(i).is_alphabetic();
        if al && bl {
            return ar(i) < br(i);
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        let mut an: i64 = 0;
        let mut bn: i64 = 0;
        if ar(i) == '0' || br(i) == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar(j - 1)) {
                j -= 1;
                if ar(j) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < a.len() && is_digit(ar(ai)) {
            an = an.wrapping_mul(10).wrapping_add(digit_value(ar(ai)));
            ai += 1;
        }
        let mut bi = i;
        while bi < b.len() && is_digit(br(bi)) {
            bn = bn.wrapping_mul(10).wrapping_add(digit_value(br(bi)));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar(i) < br(i);
    }
    a.len() < b.len()
}

/// Go's `unicode.IsDigit`, restricted to ASCII (other scripts' digits in
/// map keys are not worth the tables).
fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn digit_value(c: char) -> i64 {
    (c as i64) - ('0' as i64)
}

/// Sorts mapping keys in go-yaml v2's order (recursively).
pub fn sort_keys(y: &mut Y) {
    sort_keys_with(y, false)
}

/// Sorts one mapping's keys in go-yaml v3's order (not its children).
pub fn sort_keys_v3_shallow(y: &mut Y) {
    if let Y::Map(pairs) = y {
        pairs.sort_by(|(a, _), (b, _)| key_order(a, b, true));
    }
}

fn key_order(a: &str, b: &str, v3: bool) -> Ordering {
    if key_less_with(a, b, v3) {
        Ordering::Less
    } else if key_less_with(b, a, v3) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

fn sort_keys_with(y: &mut Y, v3: bool) {
    match y {
        Y::Map(pairs) => {
            pairs.sort_by(|(a, _), (b, _)| key_order(a, b, v3));
            for (_, v) in pairs.iter_mut() {
                sort_keys_with(v, v3);
            }
        }
        Y::Seq(items) => items.iter_mut().for_each(|y| sort_keys_with(y, v3)),
        _ => {}
    }
}
