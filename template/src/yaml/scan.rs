//! A line scanner for the head of block-style manifest documents: the fast
//! path of [`super::manifest_head`].
//!
//! Rendered manifests are almost always plain block YAML — `key: value`
//! lines, `- ` entries, quoted strings on one line, `|`/`>` block scalars.
//! This reads such a document line by line, checks its whole structure
//! (indentation, keys, duplicate keys, scalars), and keeps only the head,
//! several times faster than running the YAML parser's event loop.
//!
//! It answers only when it is sure: a document it accepts is one the event
//! walk in `head.rs` accepts with the same head (a test checks this over
//! real, generated and mutated documents). Anything else — flow
//! collections other than `[]`/`{}`, anchors, aliases, tags, directives,
//! document markers, explicit keys, multi-line plain or quoted scalars,
//! block scalar indentation indicators, tabs outside block scalar text,
//! control or line-break characters, odd indentation — gives `None`, and
//! the caller takes the event walk (which takes the full decoder in turn).

use std::borrow::Cow;

use super::head::{
    MAX_BYTES, MAX_DEPTH, ManifestHead, Slot, child_slot, hash, non_finite, plain_key_is_string,
    plain_value_is_string,
};

/// YAML's limit on the length of an implicit key.
const MAX_KEY: usize = 1024;

/// The head of `doc`, or `None` when this scanner cannot be sure.
pub(super) fn head(doc: &str) -> Option<ManifestHead> {
    if doc.len() > MAX_BYTES || !printable(doc) {
        return None;
    }
    let mut s = Scanner {
        lines: Lines { rest: doc },
        has_tab: doc.contains('\t'),
        frames: Vec::new(),
        keys: Vec::new(),
        pending: None,
        head: ManifestHead::default(),
    };
    s.document()?;
    Some(s.head)
}

/// Characters every YAML parser reads the same way here: printable, and no
/// line break but `\n` (YAML 1.1 also breaks lines at U+0085, U+2028 and
/// U+2029). Tabs are checked where they matter.
fn printable(doc: &str) -> bool {
    let ascii_ok = doc
        .bytes()
        .all(|b| b >= 0x80 || (b >= 0x20 && b != 0x7f) || b == b'\n' || b == b'\t');
    ascii_ok
        && (doc.is_ascii()
            || doc.chars().all(|c| {
                c.is_ascii()
                    || matches!(c, '\u{a0}'..='\u{2027}' | '\u{202a}'..='\u{d7ff}' | '\u{e000}'..='\u{fefe}' | '\u{ff00}'..='\u{fffd}' | '\u{10000}'..)
            }))
}

struct Lines<'a> {
    rest: &'a str,
}

impl<'a> Lines<'a> {
    /// The next line and the text after it.
    fn peek(&self) -> Option<(&'a str, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        Some(self.rest.split_once('\n').unwrap_or((self.rest, "")))
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Map,
    Seq,
}

/// An open block collection.
struct Frame {
    indent: usize,
    kind: Kind,
    slot: Slot,
    /// Where its keys start in [`Scanner::keys`].
    keys: usize,
}

/// A `key:` or `-` with nothing after it: its value is on the next lines
/// (more indented, or a sequence at the key's own indentation), or null.
struct Pending {
    indent: usize,
    slot: Slot,
    from_key: bool,
}

/// A value written on the line of its key or entry.
enum Inline<'a> {
    /// Nothing (or a comment): see [`Pending`].
    Empty,
    Plain(&'a str),
    Quoted(Cow<'a, str>),
    /// A `|` or `>` header; the text is on the next lines.
    Block,
    /// `[]` or `{}`.
    EmptyCollection,
}

/// What the start of an entry is.
enum Entry<'a> {
    Key { key: Cow<'a, str>, after: &'a str },
    NotKey,
}

struct Scanner<'a> {
    lines: Lines<'a>,
    has_tab: bool,
    frames: Vec<Frame>,
    /// The keys of the open mappings, hashed (a collision only gives up).
    keys: Vec<u64>,
    pending: Option<Pending>,
    head: ManifestHead,
}

impl<'a> Scanner<'a> {
    fn document(&mut self) -> Option<()> {
        while let Some((line, rest)) = self.lines.peek() {
            self.lines.rest = rest;
            let indent = line.bytes().take_while(|&b| b == b' ').count();
            let content = &line[indent..];
            if content.is_empty() || content.starts_with('#') {
                continue; // blank or comment
            }
            if self.has_tab && line.contains('\t') {
                return None;
            }
            if indent == 0
                && (content.starts_with("---")
                    || content.starts_with("...")
                    || content.starts_with('%'))
            {
                return None;
            }
            self.line(indent, content.trim_end_matches(' '))?;
        }
        if let Some(p) = self.pending.take() {
            null_value(p.slot)?;
        }
        // A mapping at the root, seen.
        (self.frames.first()?.kind == Kind::Map).then_some(())
    }

    fn line(&mut self, indent: usize, content: &'a str) -> Option<()> {
        let seq = is_entry(content);
        if let Some(p) = self.pending.take() {
            let same_indent_seq = indent == p.indent && p.from_key && seq;
            if indent > p.indent || same_indent_seq {
                // The pending value is the collection starting here.
                let kind = if seq { Kind::Seq } else { Kind::Map };
                match (p.slot, kind) {
                    (Slot::Other, _) | (Slot::Metadata | Slot::Annotations, Kind::Map) => {}
                    _ => return None,
                }
                self.push(indent, kind, p.slot)?;
            } else {
                null_value(p.slot)?;
            }
        }
        if self.frames.is_empty() {
            if indent != 0 {
                return None;
            }
            self.push(0, Kind::Map, Slot::Other)?;
        }
        while self.frames.last()?.indent > indent {
            self.pop();
        }
        let top = self.frames.last()?;
        if top.kind == Kind::Seq && top.indent == indent && !seq {
            // A sequence at its key's indentation ends at the next key.
            self.pop();
        }
        let top = self.frames.last()?;
        if top.indent != indent {
            return None;
        }
        match (top.kind, seq) {
            (Kind::Map, false) => match entry(content)? {
                Entry::Key { key, after } => self.key(indent, key, after),
                Entry::NotKey => None,
            },
            (Kind::Seq, true) => self.seq_entry(indent, &content[1..]),
            _ => None,
        }
    }

    fn push(&mut self, indent: usize, kind: Kind, slot: Slot) -> Option<()> {
        if self.frames.len() >= MAX_DEPTH {
            return None;
        }
        self.frames.push(Frame {
            indent,
            kind,
            slot,
            keys: self.keys.len(),
        });
        Some(())
    }

    fn pop(&mut self) {
        if let Some(f) = self.frames.pop() {
            self.keys.truncate(f.keys);
        }
    }

    /// A sequence entry at `indent`; `rest` follows the `-`.
    fn seq_entry(&mut self, indent: usize, rest: &'a str) -> Option<()> {
        let body = rest.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            self.pending = Some(Pending {
                indent,
                slot: Slot::Other,
                from_key: false,
            });
            return Some(());
        }
        if is_entry(body) {
            return None; // `- - x`
        }
        match entry(body)? {
            Entry::Key { key, after } => {
                // A mapping starts at the key's column.
                let column = indent + 1 + (rest.len() - body.len());
                self.push(column, Kind::Map, Slot::Other)?;
                self.key(column, key, after)
            }
            Entry::NotKey => match inline(body)? {
                Inline::Empty => None,
                Inline::Plain(s) if non_finite(s) => None,
                Inline::Plain(_) | Inline::Quoted(_) | Inline::EmptyCollection => Some(()),
                // Conservatively, text at least two columns in.
                Inline::Block => self.block_text(indent + 2, indent),
            },
        }
    }

    /// A `key:` at `indent` in the innermost mapping; `after` follows the `:`.
    fn key(&mut self, indent: usize, key: Cow<'a, str>, after: &'a str) -> Option<()> {
        let depth = self.frames.len();
        let frame = self.frames.last()?;
        let h = hash(&key);
        if self.keys[frame.keys..].contains(&h) {
            return None;
        }
        self.keys.push(h);
        let slot = child_slot(frame.slot, &key, depth);
        let target = match slot {
            Slot::ApiVersion => &mut self.head.api_version,
            Slot::Kind => &mut self.head.kind,
            Slot::Name => &mut self.head.name,
            Slot::Annotation => self.head.annotations.entry(key.to_string()).or_default(),
            Slot::Other | Slot::Metadata | Slot::Annotations => {
                return match inline(after)? {
                    Inline::Empty => {
                        self.pending = Some(Pending {
                            indent,
                            slot,
                            from_key: true,
                        });
                        Some(())
                    }
                    _ if slot != Slot::Other => None,
                    Inline::Plain(s) if non_finite(s) => None,
                    Inline::Block => self.block_text(indent + 1, indent),
                    _ => Some(()),
                };
            }
        };
        match inline(after)? {
            Inline::Plain(s) if plain_value_is_string(s) => *target = s.to_string(),
            Inline::Quoted(s) => *target = s.into_owned(),
            _ => return None,
        }
        Some(())
    }

    /// Skips the text of a block scalar whose header ends the line before:
    /// lines indented at least as the first non-blank one, which must be
    /// indented `min` or more; the scalar's parent node is at `parent`.
    fn block_text(&mut self, min: usize, parent: usize) -> Option<()> {
        let mut text_indent = None;
        let mut leading_blank = 0;
        while let Some((line, rest)) = self.lines.peek() {
            let spaces = line.bytes().take_while(|&b| b == b' ').count();
            if spaces == line.len() {
                if text_indent.is_none() {
                    leading_blank = leading_blank.max(spaces);
                }
                self.lines.rest = rest;
                continue;
            }
            // libyaml refuses a tab after the spaces of a line up to the
            // first one of the text (its indentation is not known yet).
            if text_indent.is_none() && line[spaces..].starts_with('\t') {
                return None;
            }
            match text_indent {
                None if spaces >= min => text_indent = Some(spaces),
                Some(t) if spaces >= t => {}
                _ => {
                    // The scalar ends; a comment line between the text's
                    // and the parent's indentation is left to the parser.
                    if line[spaces..].starts_with('#') && spaces > parent {
                        return None;
                    }
                    break;
                }
            }
            self.lines.rest = rest;
        }
        // Leading blank lines longer than the text's indentation are an
        // error in YAML (or set the indentation of an empty scalar).
        match text_indent {
            Some(t) if leading_blank > t => None,
            None if leading_blank > parent => None,
            _ => Some(()),
        }
    }
}

/// A null value where the head needs a string or a mapping gives up.
fn null_value(slot: Slot) -> Option<()> {
    (slot == Slot::Other).then_some(())
}

/// A `-` entry indicator.
fn is_entry(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

/// Whether `s` (not blank) starts with a key, and the key. `None`: unsure.
fn entry(s: &str) -> Option<Entry<'_>> {
    let (key, after): (Cow<'_, str>, &str) = match s.as_bytes()[0] {
        b'"' => {
            let (k, rest) = double_quoted(&s[1..])?;
            match rest.strip_prefix(':') {
                Some(after) if after.is_empty() || after.starts_with(' ') => (Cow::Owned(k), after),
                _ => return Some(Entry::NotKey),
            }
        }
        b'\'' => {
            let (k, rest) = single_quoted(&s[1..])?;
            match rest.strip_prefix(':') {
                Some(after) if after.is_empty() || after.starts_with(' ') => (k, after),
                _ => return Some(Entry::NotKey),
            }
        }
        first => {
            if !plain_start(first, s.as_bytes().get(1).copied()) {
                // Not a plain key; [`inline`] tells what it is.
                return Some(Entry::NotKey);
            }
            match plain_stop(s) {
                Stop::Indicator(i) => {
                    let k = &s[..i];
                    if first == b'-' || k.ends_with(' ') || !plain_key_is_string(k) {
                        return None;
                    }
                    (Cow::Borrowed(k), &s[i + 1..])
                }
                Stop::Comment(_) | Stop::End => return Some(Entry::NotKey),
            }
        }
    };
    if key.len() > MAX_KEY {
        return None;
    }
    Some(Entry::Key { key, after })
}

/// The value written after a key's `:` or an entry's `-`.
fn inline(s: &str) -> Option<Inline<'_>> {
    let s = s.trim_start_matches(' ');
    let Some(&first) = s.as_bytes().first() else {
        return Some(Inline::Empty);
    };
    match first {
        b'#' => Some(Inline::Empty),
        b'"' => {
            let (v, rest) = double_quoted(&s[1..])?;
            end_of_value(rest).then_some(Inline::Quoted(Cow::Owned(v)))
        }
        b'\'' => {
            let (v, rest) = single_quoted(&s[1..])?;
            end_of_value(rest).then_some(Inline::Quoted(v))
        }
        b'|' | b'>' => {
            let rest = s[1..].strip_prefix(['-', '+']).unwrap_or(&s[1..]);
            end_of_value(rest).then_some(Inline::Block)
        }
        b'[' | b'{' => {
            let rest = s.strip_prefix("[]").or_else(|| s.strip_prefix("{}"))?;
            end_of_value(rest).then_some(Inline::EmptyCollection)
        }
        _ => {
            if !plain_start(first, s.as_bytes().get(1).copied()) {
                return None;
            }
            match plain_stop(s) {
                Stop::Indicator(_) => None,
                Stop::Comment(i) => Some(Inline::Plain(s[..i].trim_end_matches(' '))),
                Stop::End => Some(Inline::Plain(s)),
            }
        }
    }
}

/// After a value: nothing, or a comment after a space.
fn end_of_value(rest: &str) -> bool {
    let trimmed = rest.trim_start_matches(' ');
    trimmed.is_empty() || (trimmed.starts_with('#') && trimmed.len() < rest.len())
}

/// Whether a plain scalar may start with `first` (then `second`) in block
/// context: not with an indicator, except `-` before a non-space (`-c`,
/// `-5`). (`?` and `:` could start one too; they are left to the parser.)
fn plain_start(first: u8, second: Option<u8>) -> bool {
    match first {
        b'-' => second.is_some_and(|b| b != b' '),
        b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|'
        | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' => false,
        _ => true,
    }
}

/// Where a one-line plain scalar stops.
enum Stop {
    /// At a `:` followed by a space or the line's end (a key's end).
    Indicator(usize),
    /// At the ` #` of a comment (the index of `#`).
    Comment(usize),
    End,
}

fn plain_stop(s: &str) -> Stop {
    let b = s.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b':' if i + 1 == b.len() || b[i + 1] == b' ' => return Stop::Indicator(i),
            b'#' if i > 0 && b[i - 1] == b' ' => return Stop::Comment(i),
            _ => {}
        }
    }
    Stop::End
}

/// A single-quoted scalar closed on its line: its text and what follows.
fn single_quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let mut owned: Option<String> = None;
    let mut start = 0;
    let mut i = 0;
    let b = s.as_bytes();
    while i < b.len() {
        if b[i] == b'\'' {
            if b.get(i + 1) == Some(&b'\'') {
                owned
                    .get_or_insert_with(String::new)
                    .push_str(&s[start..=i]);
                i += 2;
                start = i;
                continue;
            }
            let text = match owned {
                Some(mut o) => {
                    o.push_str(&s[start..i]);
                    Cow::Owned(o)
                }
                None => Cow::Borrowed(&s[..i]),
            };
            return Some((text, &s[i + 1..]));
        }
        i += 1;
    }
    None
}

/// A double-quoted scalar closed on its line, escapes decoded, and what
/// follows. Unknown escapes and `\` at the line's end give up.
fn double_quoted(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &s[i + 1..])),
            '\\' => {
                let (_, e) = chars.next()?;
                let simple = match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    't' => '\t',
                    'n' => '\n',
                    'v' => '\u{b}',
                    'f' => '\u{c}',
                    'r' => '\r',
                    'e' => '\u{1b}',
                    // No `\/`: YAML 1.2 has it, go-yaml v2 (Helm's reader) has not.
                    ' ' | '"' | '\\' => e,
                    'N' => '\u{85}',
                    '_' => '\u{a0}',
                    'L' => '\u{2028}',
                    'P' => '\u{2029}',
                    'x' | 'u' | 'U' => {
                        let len = match e {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut code = 0u32;
                        for _ in 0..len {
                            code = code * 16 + chars.next()?.1.to_digit(16)?;
                        }
                        char::from_u32(code)?
                    }
                    _ => return None,
                };
                out.push(simple);
            }
            _ => out.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(h: ManifestHead) -> (String, String, String, Vec<(String, String)>) {
        (
            h.api_version,
            h.kind,
            h.name,
            h.annotations.into_iter().collect(),
        )
    }

    /// For a failure message: the lines after the last prefix of `doc`
    /// that scans (where the scanner gave up).
    fn gave_up_at(doc: &str) -> String {
        let lines: Vec<&str> = doc.lines().collect();
        let ok = (1..=lines.len())
            .rev()
            .find(|&n| head(&lines[..n].join("\n")).is_some())
            .unwrap_or(0);
        lines[ok..].join("\n")
    }

    #[test]
    fn reads_ordinary_documents() {
        let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web # the name\n  labels:\n    app: web\n  annotations:\n    \"helm.sh/hook\": pre-install\n    'x': 'it''s'\n    w: \"a\\tb\\u00e9\"\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - name: app\n        args: []\n        env:\n          - name: A\n            value: \"1\"\n        command:\n        - sh\n        - -c\n        - |\n          echo hi\n\n          # not a comment\n  other: {}\ndata:\n  a.conf: |-\n    x: y\n    \tz\n";
        let h = head(doc).unwrap_or_else(|| panic!("gave up at {}", gave_up_at(doc)));
        assert_eq!(
            fields(h),
            (
                "apps/v1".into(),
                "Deployment".into(),
                "web".into(),
                vec![
                    ("helm.sh/hook".into(), "pre-install".into()),
                    ("w".into(), "a\tbé".into()),
                    ("x".into(), "it's".into()),
                ]
            )
        );
    }

    #[test]
    fn gives_up_where_unsure() {
        for doc in [
            "",
            "# only\n",
            "- a\n",
            "a: 1\na: 2\n",
            "a: &x 1\n",
            "a: *x\n",
            "a: !!str 1\n",
            "a: {b: 1}\n",
            "a: [1]\n",
            "? a\n: b\n",
            "a: b\n  c\n",
            "a: 'b\n  c'\n",
            "a: \"b\n  c\"\n",
            "a:\n\t- b\n",
            "a: |2\n   b\n",
            "kind: 1\n",
            "kind:\n",
            "kind: |\n  x\n",
            "metadata: x\n",
            "metadata:\n- a\n",
            "metadata:\n  name:\n    a: b\n",
            "a: b: c\n",
            "a:\n  - b\n - c\n",
            "  a: 1\n",
            "a: 1\n---\nb: 2\n",
            "a: .inf\n",
            "a: \"\\q\"\n",
            "a: b\r\n",
            "a: b\u{85}c\n",
            "a: |\n    \n  b\n",
            "a: |\n  \tb\n",
            "true: 1\n",
        ] {
            assert!(head(doc).is_none(), "{doc:?}");
        }
    }

    /// The promise: whatever the scanner reads, the event walk reads the
    /// same, and go-yaml's reader (Helm's) decodes the document to a value
    /// with that head.
    fn check(doc: &str) -> bool {
        let Some(fast) = head(doc) else {
            return false;
        };
        assert_eq!(
            Some(&fast),
            super::super::head::from_events(doc).as_ref(),
            "{doc:?}"
        );
        let decoded = super::super::decode::decode(doc).unwrap_or_else(|e| panic!("{doc:?}: {e}"));
        let v = crate::value::json::to_json(&decoded);
        let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default();
        let annotations: Vec<(String, String)> = v
            .pointer("/metadata/annotations")
            .and_then(|a| a.as_object())
            .map(|a| {
                a.iter()
                    .map(|(k, x)| (k.clone(), x.as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            fields(fast),
            (
                s("/apiVersion").into(),
                s("/kind").into(),
                s("/metadata/name").into(),
                annotations
            ),
            "{doc:?}"
        );
        true
    }

    /// xorshift64*: reproducible without a dependency.
    struct Rng(u64, u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// Keys and scalars: mostly ordinary, some tricky (after the `|`).
    const KEYS: &[&str] = &[
        "apiVersion",
        "kind",
        "metadata",
        "name",
        "annotations",
        "labels",
        "spec",
        "data",
        "a",
        "b",
        "x-y",
        "helm.sh/hook",
        "\"helm.sh/hook\"",
        "'q'",
        "\"k\\u00e9\"",
        "|",
        "yes",
        "1",
        "<<",
        "a b",
        "a#b",
        "é",
        "\u{a0}k",
        "-k",
        ".k",
        "~",
        "null",
        "\"\"",
        "''",
        "k ",
    ];
    const SCALARS: &[&str] = &[
        "v1",
        "Deployment",
        "web",
        "'it''s'",
        "\"a\\tb\"",
        "\"\\u00e9\\x41\\U0001F600\"",
        "-c",
        "-5",
        "1.5",
        "0644",
        "true",
        "a #c",
        "a#b",
        "a:b",
        "http://x:80/",
        "[]",
        "{}",
        "|",
        "|-",
        ">+",
        "| #c",
        "é",
        "\"v\" # c",
        "''",
        "\"\"",
        "a,b",
        "a]",
        "🙂",
        "6a18e5f0",
        "1.5Gi",
        "100m",
        "123abc",
        "1e5",
        "2001-12-14",
        "12:30",
        "0x1F",
        "1_000",
        "0b1",
        "0o7",
        "1 a",
        "|",
        "\"\\q\"",
        "\"\\ud800\"",
        "\"\\/\\ \\_\\N\"",
        ".inf",
        "-.INF",
        ".nan",
        "1e999",
        "0x1F",
        "yes",
        "No",
        "null",
        "~",
        "a: b",
        "[a]",
        "{a: 1}",
        "&x a",
        "*x",
        "!t a",
        "!!str 1",
        "|2",
        "\"open",
        "'open",
        "x'",
        "\u{a0}x",
        "a\u{2028}b",
        "'v'#c",
        "- a",
        "-",
        "? a",
        ":x",
        "@x",
        "`x",
        "%x",
        ",x",
        "a: ",
        "\"a\":",
        "x\\",
        "\"\\\"\"",
        "'a''",
    ];

    impl Rng {
        /// One of `items`, those after the `"|"` marker rarely (one time in
        /// `self.1`, never if 0).
        fn mostly_ordinary<'a>(&mut self, items: &[&'a str]) -> &'a str {
            let split = items.iter().rposition(|i| *i == "|").unwrap();
            if self.1 > 0 && self.next().is_multiple_of(self.1) {
                self.pick(&items[split + 1..])
            } else {
                self.pick(&items[..split])
            }
        }
    }

    fn gen_scalar(rng: &mut Rng) -> String {
        rng.mostly_ordinary(SCALARS).to_string()
    }

    fn gen_block_text(rng: &mut Rng, out: &mut String, indent: usize) {
        for i in 0..rng.below(4) {
            let odd = rng.1 > 0 && rng.below(6) == 0;
            let extra = if i == 0 {
                0
            } else {
                [0, 0, 1, 2][rng.below(4)]
            };
            let pad = if odd {
                indent.saturating_sub(1)
            } else {
                indent + extra
            };
            let text = rng.mostly_ordinary(&[
                "text", "# hash", "", "a: b", "- x", "\tt", "x  ", "|", "---",
            ]);
            out.push_str(&" ".repeat(pad));
            out.push_str(text);
            out.push('\n');
        }
    }

    fn gen_value(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        match rng.below(if depth > 3 { 3 } else { 7 }) {
            0 | 1 => {
                let v = gen_scalar(rng);
                out.push(' ');
                out.push_str(&v);
                out.push('\n');
                if v.starts_with(['|', '>']) {
                    gen_block_text(rng, out, indent + 2);
                }
            }
            2 => out.push('\n'),
            3 | 4 => {
                out.push('\n');
                let step = [2, 2, 4, 1, 0][rng.below(5)];
                gen_map(rng, out, indent + step.max(1), depth + 1);
            }
            _ => {
                out.push('\n');
                let step = [0, 2, 2, 4, 1][rng.below(5)];
                gen_seq(rng, out, indent + step, depth + 1);
            }
        }
    }

    fn gen_map(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        gen_map_after(rng, out, indent, depth, &[]);
    }

    /// A mapping whose keys are mostly distinct from each other and `used`.
    fn gen_map_after(rng: &mut Rng, out: &mut String, indent: usize, depth: usize, used: &[&str]) {
        let mut used: Vec<String> = used.iter().map(|k| k.to_string()).collect();
        for i in 0..1 + rng.below(5) {
            if i > 0 || !out.ends_with("- ") {
                out.push_str(&" ".repeat(indent));
            }
            if rng.below(10) == 0 {
                out.push_str("# comment\n");
                out.push_str(&" ".repeat(indent));
            }
            let mut key = rng.mostly_ordinary(KEYS).to_string();
            if used.contains(&key) && rng.below(8) > 0 {
                key = format!("k{i}");
            }
            out.push_str(&key);
            used.push(key);
            out.push(':');
            gen_value(rng, out, indent, depth);
        }
    }

    fn gen_seq(rng: &mut Rng, out: &mut String, indent: usize, depth: usize) {
        for _ in 0..1 + rng.below(4) {
            out.push_str(&" ".repeat(indent));
            match rng.below(if depth > 3 { 1 } else { 4 }) {
                0 => {
                    out.push('-');
                    let v = gen_scalar(rng);
                    out.push(' ');
                    out.push_str(&v);
                    out.push('\n');
                    if v.starts_with(['|', '>']) {
                        gen_block_text(rng, out, indent + 2);
                    }
                }
                1 | 2 => {
                    out.push_str("- ");
                    gen_map(rng, out, indent + 2, depth + 1);
                }
                _ => {
                    out.push_str("-\n");
                    gen_map(rng, out, indent + 2, depth + 1);
                }
            }
        }
    }

    fn generate(rng: &mut Rng) -> String {
        let mut out = String::new();
        for key in ["apiVersion", "kind"] {
            if rng.below(4) > 0 {
                out.push_str(key);
                out.push_str(": ");
                out.push_str(rng.mostly_ordinary(&[
                    "v1",
                    "K",
                    "'q'",
                    "\"d\\tq\"",
                    "x y",
                    "|",
                    "1",
                ]));
                out.push('\n');
            }
        }
        if rng.below(4) > 0 {
            out.push_str("metadata:\n  name: ");
            out.push_str(rng.mostly_ordinary(&["n", "'n'", "\"n\"", "n # c", "|", "null"]));
            out.push('\n');
            if rng.below(2) > 0 {
                out.push_str("  annotations:\n");
                for i in 0..1 + rng.below(3) {
                    let key = rng.mostly_ordinary(KEYS);
                    let value = rng.mostly_ordinary(SCALARS);
                    out.push_str(&format!("    {key}{i}: {value}\n"));
                }
            }
        }
        gen_map_after(rng, &mut out, 0, 0, &["apiVersion", "kind", "metadata"]);
        out
    }

    const MUTATIONS: &[&str] = &[
        " ", "  ", "\n", "-", "- ", ":", ": ", "#", " #", "'", "\"", "\\", "|", ">", "[", "]", "{",
        "}", "&a ", "*a", "!", "?", "\t", "---", "...", "%", "@", "`", ",", "\u{a0}", "\u{85}",
        "é", "0", ".inf", "yes", "null", "~", "\r", "\u{feff}", "\x07", "<<: ",
    ];

    const LOOKED_AT: &[&str] = &[
        "[a:b]",
        "{:x}",
        "[x:]",
        "{x :, y: 1}",
        "&a:b ",
        "&a.b ",
        "*a.b",
        "&a[1]",
        "# https://h ",
        " # x:y ",
        " #&a.b",
        "'",
        "\"",
        "\n",
        "\r",
        "\u{2028}",
        "{}",
        "[]",
        ":b",
        "[",
        "{",
        "]",
        "}",
        "# [:b]\n",
        "|\n  [:b]\n",
        "[\"a #b\", :c]",
        "['a #b', x:]",
        "[ \"b\n  c # d\", :e ]",
    ];

    fn mutate(rng: &mut Rng, doc: &str) -> String {
        let mut d = doc.to_string();
        for _ in 0..1 + rng.below(3) {
            let bounds: Vec<usize> = (0..=d.len()).filter(|&i| d.is_char_boundary(i)).collect();
            let at = bounds[rng.below(bounds.len())];
            match rng.below(3) {
                0 => d.insert_str(at, rng.pick(MUTATIONS)),
                1 => {
                    let end = bounds[(bounds.partition_point(|&b| b < at) + 1 + rng.below(4))
                        .min(bounds.len() - 1)];
                    d.replace_range(at..end, "");
                }
                _ => {
                    // Copy a line elsewhere (duplicate keys, odd indentation).
                    let lines: Vec<&str> = d.lines().collect();
                    if lines.is_empty() {
                        continue;
                    }
                    let line = format!("{}\n", lines[rng.below(lines.len())]);
                    let starts: Vec<usize> = std::iter::once(0)
                        .chain(d.match_indices('\n').map(|(i, _)| i + 1))
                        .collect();
                    d.insert_str(starts[rng.below(starts.len())], &line);
                }
            }
        }
        d
    }

    /// Documents from the repository: rendered golden output, test charts'
    /// values and manifests (templates too: mostly not YAML, which only
    /// exercises the giving up).
    fn corpus() -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                let name = e.file_name().to_string_lossy().to_string();
                if p.is_dir() {
                    if !name.starts_with('.') && name != "target" {
                        walk(&p, out);
                    }
                } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
                    && let Ok(text) = std::fs::read_to_string(&p)
                {
                    out.extend(
                        text.split("\n---")
                            .map(|d| d.trim_start_matches(['-', '\n']).to_string()),
                    );
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = Vec::new();
        for dir in ["tests", "template/tests", "cli", "deploy"] {
            walk(&root.join(dir), &mut out);
        }
        out
    }

    #[test]
    fn reads_what_the_parser_reads_on_real_documents() {
        let docs = corpus();
        let read = docs.iter().filter(|d| check(d)).count();
        assert!(
            docs.len() > 100 && read * 3 > docs.len(),
            "{read} of {}",
            docs.len()
        );
    }

    /// The cheap look before the token scan (`tokens::may_differ`) passes
    /// every text the scan finds a difference in.
    #[test]
    fn the_look_before_the_token_scan_misses_no_difference() {
        use super::super::tokens::{may_differ, scanned_difference};
        let mut rng = Rng(0x2545_f491_4f6c_dd1d, 0);
        let docs = corpus();
        let (mut differ, mut skipped) = (0, 0);
        let mut look = |doc: &str| {
            let found = scanned_difference(doc).is_some();
            let may = may_differ(doc);
            assert!(may || !found, "the look misses {doc:?}");
            differ += usize::from(found);
            skipped += usize::from(!may);
        };
        for i in 0..6000 {
            rng.1 = [0, 0, 50, 12][i % 4];
            let doc = generate(&mut rng);
            look(&doc);
            for _ in 0..3 {
                look(&mutate(&mut rng, &doc));
            }
            let real = &docs[i % docs.len()];
            look(real);
            look(&mutate(&mut rng, real));
            // What the look is about: flow collections, a `:` or name
            // without a blank after it, comments, quotes, line breaks.
            let mut d = real.clone();
            for _ in 0..1 + rng.below(4) {
                let bounds: Vec<usize> = (0..=d.len()).filter(|&b| d.is_char_boundary(b)).collect();
                d.insert_str(bounds[rng.below(bounds.len())], rng.pick(LOOKED_AT));
            }
            look(&d);
        }
        eprintln!("{differ} texts differ, {skipped} not scanned");
        assert!(
            differ > 300 && skipped > 1000,
            "{differ} differ, {skipped} skipped"
        );
    }

    #[test]
    fn reads_what_the_parser_reads_on_generated_and_mutated_documents() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15, 0);
        let docs = corpus();
        let (mut generated, mut read, mut parsed) = (0, 0, 0);
        for i in 0..6000 {
            rng.1 = [0, 0, 50, 12][i % 4];
            let doc = generate(&mut rng);
            generated += 1;
            read += usize::from(check(&doc));
            parsed += usize::from(super::super::head::from_events(&doc).is_some());
            for _ in 0..3 {
                check(&mutate(&mut rng, &doc));
            }
            let real = &docs[i % docs.len()];
            check(&mutate(&mut rng, real));
        }
        // The generator must also produce documents the scanner reads.
        eprintln!("scanned {read}, parsed {parsed} of {generated} generated documents");
        assert!(read * 8 > generated, "{read} of {generated}");
    }
}
