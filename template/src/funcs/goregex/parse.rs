//! Go's `regexp/syntax` parser with the `Perl` flags `regexp.Compile` uses,
//! read the way `parse.go` reads a pattern — same order of checks, same
//! error codes, same slice of the pattern in each error — building a small
//! tree that is then written out as a Rust `regex` pattern.
//!
//! The Rust pattern leaves nothing to Rust's own reading of Go syntax:
//! flags are resolved while parsing (`(?i)` marks each literal and class,
//! `(?m)` picks `^`/`$`, `(?s)` picks `.`, `(?U)` flips each repeat), every
//! literal that is not an ASCII letter, digit or `_` becomes `\x{…}` (so
//! `&&`, `--`, `~~` in a class never read as set operations), the ASCII
//! Perl and POSIX groups become explicit ranges, and captures are unnamed
//! (Go allows duplicate and digit-first names; the names are kept aside
//! for `$name` expansion).

use std::fmt::Write;

use super::tables::{self, Ranges};
use super::{ErrorCode, SyntaxError};

/// Go's `maxRepeat`: the largest count in `x{n,m}`, and the largest product
/// of nested counts.
const MAX_REPEAT: i64 = 1000;
/// Go's `maxHeight`: how deep the parsed tree may nest.
const MAX_HEIGHT: u32 = 1000;
const MAX_RUNE: u32 = 0x10FFFF;
/// A Rust class that matches nothing, for Go runes no `&str` can hold.
const NO_MATCH: &str = r"[^\x{0}-\x{10FFFF}]";

/// The characters that carry a Go string's stray bytes (`value::gostr`),
/// which Go's regexp reads as U+FFFD (`utf8.RuneError`, one byte wide): a
/// class or literal matches them where it matches U+FFFD, and only there.
const STRAY_BYTES: &str = r"\x{10FF80}-\x{10FFFF}";

/// A pattern rewritten for Rust's `regex`, with Go's capture names
/// (index 0, the whole match, has none).
pub(super) struct Translation {
    pub pattern: String,
    pub names: Vec<Option<String>>,
}

pub(super) fn translate(src: &str) -> Result<Translation, SyntaxError> {
    let mut p = Parser {
        whole: src,
        flags: Flags::PERL,
        frames: vec![Frame::new(false, Flags::PERL)],
        names: vec![None],
    };
    p.parse()?;
    if p.frames.len() != 1 {
        return Err(p.error(ErrorCode::MissingParen, src));
    }
    let root = p.frames.pop().map(Frame::finish).unwrap_or_else(Re::empty);
    let mut pattern = String::with_capacity(src.len() * 2);
    root.emit(&mut pattern);
    Ok(Translation {
        pattern,
        names: p.names,
    })
}

/// The parse-mode flags Go tracks (`FoldCase`, `DotNL`, `OneLine`,
/// `NonGreedy`); `Perl` starts with `OneLine` only.
#[derive(Clone, Copy)]
struct Flags {
    fold: bool,
    dot_nl: bool,
    one_line: bool,
    non_greedy: bool,
}

impl Flags {
    const PERL: Flags = Flags {
        fold: false,
        dot_nl: false,
        one_line: true,
        non_greedy: false,
    };
}

/// A parsed expression and its height as Go counts it.
struct Re {
    kind: Kind,
    height: u32,
}

enum Kind {
    Empty,
    Literal {
        c: u32,
        fold: bool,
    },
    Class(Class),
    /// Assertions and `.`, already in Rust syntax.
    Fixed(&'static str),
    Capture(Box<Re>),
    Concat(Vec<Re>),
    Alternate(Vec<Re>),
    Repeat {
        sub: Box<Re>,
        op: Op,
        greedy: bool,
    },
}

#[derive(Clone, Copy)]
enum Op {
    Star,
    Plus,
    Quest,
    /// `{min}`, `{min,}` (`None`), `{min,max}`.
    Count(u32, Option<u32>),
}

/// A bracketed class: the Rust items, negation, and whether `(?i)` applies
/// (Rust folds before negating, as Go does).
struct Class {
    items: String,
    negated: bool,
    fold: bool,
}

impl Re {
    fn leaf(kind: Kind) -> Re {
        Re { kind, height: 1 }
    }

    fn empty() -> Re {
        Re::leaf(Kind::Empty)
    }

    fn capture(sub: Re) -> Re {
        let height = sub.height + 1;
        Re {
            kind: Kind::Capture(Box::new(sub)),
            height,
        }
    }

    fn repeat(sub: Re, op: Op, greedy: bool) -> Re {
        let height = sub.height + 1;
        Re {
            kind: Kind::Repeat {
                sub: Box::new(sub),
                op,
                greedy,
            },
            height,
        }
    }

    /// Go's `collapse`: a lone element stands for itself and nested
    /// concatenations (or alternations) are flattened.
    fn collapse(subs: Vec<Re>, alternate: bool) -> Re {
        let mut flat = Vec::with_capacity(subs.len());
        for sub in subs {
            match sub.kind {
                Kind::Concat(inner) if !alternate => flat.extend(inner),
                Kind::Alternate(inner) if alternate => flat.extend(inner),
                kind => flat.push(Re {
                    kind,
                    height: sub.height,
                }),
            }
        }
        if flat.len() <= 1 {
            return flat.pop().unwrap_or_else(Re::empty);
        }
        let height = 1 + flat.iter().map(|r| r.height).max().unwrap_or(0);
        let kind = if alternate {
            Kind::Alternate(flat)
        } else {
            Kind::Concat(flat)
        };
        Re { kind, height }
    }

    /// Go's `repeatIsValid`: no repeat count, nor product of nested counts,
    /// above `n`.
    fn repeat_is_valid(&self, mut n: i64) -> bool {
        match &self.kind {
            Kind::Repeat {
                sub,
                op: Op::Count(min, max),
                ..
            } => {
                let m = match max {
                    Some(0) => return true,
                    Some(m) => i64::from(*m),
                    None => i64::from(*min),
                };
                if m > n {
                    return false;
                }
                if m > 0 {
                    n /= m;
                }
                sub.repeat_is_valid(n)
            }
            Kind::Repeat { sub, .. } | Kind::Capture(sub) => sub.repeat_is_valid(n),
            Kind::Concat(subs) | Kind::Alternate(subs) => subs.iter().all(|s| s.repeat_is_valid(n)),
            _ => true,
        }
    }

    fn emit(&self, out: &mut String) {
        match &self.kind {
            Kind::Empty => {}
            Kind::Literal { c, fold } => emit_literal(out, *c, *fold),
            Kind::Class(class) => class.emit(out),
            Kind::Fixed(s) => out.push_str(s),
            Kind::Capture(sub) => {
                out.push('(');
                sub.emit(out);
                out.push(')');
            }
            Kind::Concat(subs) => subs.iter().for_each(|s| s.emit(out)),
            Kind::Alternate(subs) => {
                out.push_str("(?:");
                for (i, sub) in subs.iter().enumerate() {
                    if i > 0 {
                        out.push('|');
                    }
                    sub.emit(out);
                }
                out.push(')');
            }
            Kind::Repeat { sub, op, greedy } => {
                // Go allows repeating a repeat through a group (`(?:a*)*`)
                // and repeating nothing at all (`(?:)*`); Rust needs the
                // group spelled out.
                let bare = matches!(
                    sub.kind,
                    Kind::Literal { .. }
                        | Kind::Class(_)
                        | Kind::Fixed(_)
                        | Kind::Capture(_)
                        | Kind::Alternate(_)
                );
                if bare {
                    sub.emit(out);
                } else {
                    out.push_str("(?:");
                    sub.emit(out);
                    out.push(')');
                }
                match op {
                    Op::Star => out.push('*'),
                    Op::Plus => out.push('+'),
                    Op::Quest => out.push('?'),
                    Op::Count(min, Some(max)) if min == max => {
                        let _ = write!(out, "{{{min}}}");
                    }
                    Op::Count(min, Some(max)) => {
                        let _ = write!(out, "{{{min},{max}}}");
                    }
                    Op::Count(min, None) => {
                        let _ = write!(out, "{{{min},}}");
                    }
                }
                if !greedy {
                    out.push('?');
                }
            }
        }
    }
}

impl Class {
    fn emit(&self, out: &mut String) {
        if self.fold {
            out.push_str("(?i:");
        }
        if self.items.is_empty() {
            // Only surrogates were named; `[]` is not Rust syntax.
            out.push_str(if self.negated {
                r"[\x{0}-\x{10FFFF}]"
            } else {
                NO_MATCH
            });
        } else {
            let set = format!("[{}{}]", if self.negated { "^" } else { "" }, self.items);
            // A stray byte is in the class where U+FFFD is.
            let (open, close) = if self.fold { ("(?i:", ")") } else { ("", "") };
            let has_rune_error = regex::Regex::new(&format!("^{open}{set}{close}$"))
                .is_ok_and(|r| r.is_match("\u{FFFD}"));
            if has_rune_error {
                let _ = write!(out, "[{set}{STRAY_BYTES}]");
            } else {
                let _ = write!(out, "[{set}&&[^{STRAY_BYTES}]]");
            }
        }
        if self.fold {
            out.push(')');
        }
    }
}

fn emit_literal(out: &mut String, c: u32, fold: bool) {
    let Some(ch) = char::from_u32(c) else {
        // A surrogate from `\x{D800}`: Go accepts it, no string holds it.
        out.push_str(NO_MATCH);
        return;
    };
    if ch == '\u{FFFD}' {
        // Go's utf8.RuneError, which a stray byte reads as.
        let _ = write!(out, "[\\x{{FFFD}}{STRAY_BYTES}]");
        return;
    }
    // Only ASCII non-letters are sure to have no case partners.
    if fold && (ch.is_ascii_alphabetic() || !ch.is_ascii()) {
        out.push_str("(?i:");
        push_char(out, ch);
        out.push(')');
    } else {
        push_char(out, ch);
    }
}

/// A character Rust reads literally anywhere, in or out of a class.
fn push_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || c == '_' {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    }
}

/// Appends a class range, trimming surrogate ends, which Rust cannot name.
fn push_range(items: &mut String, lo: u32, hi: u32) {
    let lo = if (0xD800..=0xDFFF).contains(&lo) {
        0xE000
    } else {
        lo
    };
    let hi = if (0xD800..=0xDFFF).contains(&hi) {
        0xD7FF
    } else {
        hi.min(MAX_RUNE)
    };
    let (Some(l), Some(h)) = (char::from_u32(lo), char::from_u32(hi)) else {
        return;
    };
    if l > h {
        return;
    }
    push_char(items, l);
    if h != l {
        items.push('-');
        push_char(items, h);
    }
}

fn push_ranges(items: &mut String, ranges: &Ranges) {
    for &(lo, hi) in ranges {
        push_range(items, lo, hi);
    }
}

/// One open group on the parse stack: the branches before its last `|`
/// and the concatenation after it.
struct Frame {
    capture: bool,
    /// The flags when the group opened, restored at its `)`.
    saved: Flags,
    branches: Vec<Re>,
    current: Vec<Re>,
}

impl Frame {
    fn new(capture: bool, saved: Flags) -> Frame {
        Frame {
            capture,
            saved,
            branches: Vec::new(),
            current: Vec::new(),
        }
    }

    fn finish(mut self) -> Re {
        let last = Re::collapse(std::mem::take(&mut self.current), false);
        self.branches.push(last);
        Re::collapse(self.branches, true)
    }
}

struct Parser<'a> {
    whole: &'a str,
    flags: Flags,
    frames: Vec<Frame>,
    names: Vec<Option<String>>,
}

/// `before` up to where `after` starts (Go's `before[:len(before)-len(after)]`).
fn cut<'a>(before: &'a str, after: &str) -> &'a str {
    &before[..before.len() - after.len()]
}

fn first_char(s: &str) -> Option<(char, &str)> {
    let c = s.chars().next()?;
    Some((c, &s[c.len_utf8()..]))
}

impl<'a> Parser<'a> {
    fn error(&self, code: ErrorCode, expr: &str) -> SyntaxError {
        SyntaxError {
            code,
            expr: expr.to_string(),
        }
    }

    fn frame(&mut self) -> &mut Frame {
        // The root frame is never popped while parsing.
        let last = self.frames.len() - 1;
        &mut self.frames[last]
    }

    fn push(&mut self, re: Re) -> Result<(), SyntaxError> {
        if re.height > MAX_HEIGHT {
            return Err(self.error(ErrorCode::NestingDepth, self.whole));
        }
        self.frame().current.push(re);
        Ok(())
    }

    fn literal(&mut self, c: u32) -> Result<(), SyntaxError> {
        let fold = self.flags.fold;
        self.push(Re::leaf(Kind::Literal { c, fold }))
    }

    fn fixed(&mut self, s: &'static str) -> Result<(), SyntaxError> {
        self.push(Re::leaf(Kind::Fixed(s)))
    }

    fn class(&mut self, items: String, negated: bool) -> Result<(), SyntaxError> {
        let fold = self.flags.fold;
        self.push(Re::leaf(Kind::Class(Class {
            items,
            negated,
            fold,
        })))
    }

    /// The main loop of Go's `parse`.
    fn parse(&mut self) -> Result<(), SyntaxError> {
        let mut t = self.whole;
        let mut last_repeat: Option<&'a str> = None;
        while let Some((c, next)) = first_char(t) {
            let mut repeat = None;
            t = match c {
                '(' if t.starts_with("(?") => self.perl_flags(t)?,
                '(' => {
                    self.open(true, None);
                    next
                }
                '|' => {
                    let f = self.frame();
                    let branch = Re::collapse(std::mem::take(&mut f.current), false);
                    f.branches.push(branch);
                    next
                }
                ')' => {
                    self.close()?;
                    next
                }
                '^' => {
                    self.fixed(if self.flags.one_line { r"\A" } else { "(?m:^)" })?;
                    next
                }
                '$' => {
                    self.fixed(if self.flags.one_line { r"\z" } else { "(?m:$)" })?;
                    next
                }
                '.' => {
                    self.fixed(if self.flags.dot_nl {
                        "(?s:.)"
                    } else {
                        "(?-s:.)"
                    })?;
                    next
                }
                '[' => self.parse_class(t)?,
                '*' | '+' | '?' => {
                    let op = match c {
                        '*' => Op::Star,
                        '+' => Op::Plus,
                        _ => Op::Quest,
                    };
                    repeat = Some(t);
                    self.repeat(op, t, next, last_repeat)?
                }
                '{' => match parse_repeat(t) {
                    // A `{` that does not start a repeat is a literal.
                    None => {
                        self.literal('{' as u32)?;
                        next
                    }
                    Some((min, max, after)) => {
                        let counts_ok = (0..=MAX_REPEAT).contains(&min)
                            && max <= MAX_REPEAT
                            && (max < 0 || min <= max);
                        if !counts_ok {
                            return Err(self.error(ErrorCode::InvalidRepeatSize, cut(t, after)));
                        }
                        let op = Op::Count(min as u32, u32::try_from(max).ok());
                        repeat = Some(t);
                        self.repeat(op, t, after, last_repeat)?
                    }
                },
                '\\' => self.backslash(t)?,
                _ => {
                    self.literal(c as u32)?;
                    next
                }
            };
            last_repeat = repeat;
        }
        Ok(())
    }

    fn open(&mut self, capture: bool, name: Option<&str>) {
        if capture {
            self.names.push(name.map(str::to_string));
        }
        let saved = self.flags;
        self.frames.push(Frame::new(capture, saved));
    }

    fn close(&mut self) -> Result<(), SyntaxError> {
        if self.frames.len() < 2 {
            return Err(self.error(ErrorCode::UnexpectedParen, self.whole));
        }
        let Some(frame) = self.frames.pop() else {
            return Err(self.error(ErrorCode::UnexpectedParen, self.whole));
        };
        self.flags = frame.saved;
        let capture = frame.capture;
        let body = frame.finish();
        self.push(if capture { Re::capture(body) } else { body })
    }

    /// Go's `repeat`: `before` starts at the operator, `after` follows it.
    fn repeat(
        &mut self,
        op: Op,
        before: &'a str,
        after: &'a str,
        last_repeat: Option<&'a str>,
    ) -> Result<&'a str, SyntaxError> {
        let mut after = after;
        let mut greedy = !self.flags.non_greedy;
        if let Some(rest) = after.strip_prefix('?') {
            after = rest;
            greedy = !greedy;
        }
        if let Some(last) = last_repeat {
            // `a**` is an error in Perl, not a doubled star.
            return Err(self.error(ErrorCode::InvalidRepeatOp, cut(last, after)));
        }
        let Some(sub) = self.frame().current.pop() else {
            return Err(self.error(ErrorCode::MissingRepeatArgument, cut(before, after)));
        };
        let re = Re::repeat(sub, op, greedy);
        if let Op::Count(min, max) = op {
            let big = min >= 2 || max.is_some_and(|m| m >= 2);
            if big && !re.repeat_is_valid(MAX_REPEAT) {
                return Err(self.error(ErrorCode::InvalidRepeatSize, cut(before, after)));
            }
        }
        self.push(re)?;
        Ok(after)
    }

    /// Go's `parsePerlFlags`: named captures, `(?flags)` and `(?flags:`.
    fn perl_flags(&mut self, s: &'a str) -> Result<&'a str, SyntaxError> {
        let b = s.as_bytes();
        let with_p = b.len() > 4 && b[2] == b'P' && b[3] == b'<';
        let with_name = b.len() > 3 && b[2] == b'<';
        if with_p || with_name {
            let start = if with_p { 4 } else { 3 };
            let Some(end) = s.find('>') else {
                return Err(self.error(ErrorCode::InvalidNamedCapture, s));
            };
            let name = &s[start..end];
            let valid =
                !name.is_empty() && name.bytes().all(|c| c == b'_' || c.is_ascii_alphanumeric());
            if !valid {
                return Err(self.error(ErrorCode::InvalidNamedCapture, &s[..=end]));
            }
            self.open(true, Some(name));
            return Ok(&s[end + 1..]);
        }

        let mut t = &s[2..];
        let mut flags = self.flags;
        let mut negated = false;
        let mut saw_flag = false;
        while let Some((c, rest)) = first_char(t) {
            t = rest;
            match c {
                'i' => flags.fold = !negated,
                'm' => flags.one_line = negated,
                's' => flags.dot_nl = !negated,
                'U' => flags.non_greedy = !negated,
                '-' if !negated => {
                    negated = true;
                    saw_flag = false;
                    continue;
                }
                // `(?-)` and `(?i-)` name no flag to clear.
                ':' | ')' if !negated || saw_flag => {
                    if c == ':' {
                        self.open(false, None);
                    }
                    self.flags = flags;
                    return Ok(t);
                }
                _ => break,
            }
            saw_flag = true;
        }
        Err(self.error(ErrorCode::InvalidPerlOp, cut(s, t)))
    }

    /// A backslash outside a class.
    fn backslash(&mut self, t: &'a str) -> Result<&'a str, SyntaxError> {
        if let Some(&c) = t.as_bytes().get(1) {
            let fixed = match c {
                b'A' => Some(r"\A"),
                // Go's word boundaries are ASCII.
                b'b' => Some(r"(?-u:\b)"),
                b'B' => Some(r"(?-u:\B)"),
                b'z' => Some(r"\z"),
                _ => None,
            };
            if let Some(f) = fixed {
                self.fixed(f)?;
                return Ok(&t[2..]);
            }
            if c == b'C' {
                return Err(self.error(ErrorCode::InvalidEscape, &t[..2]));
            }
            if c == b'Q' {
                // \Q…\E (or to the end): all literals.
                let body = &t[2..];
                let (lit, rest) = match body.find(r"\E") {
                    Some(i) => (&body[..i], &body[i + 2..]),
                    None => (body, ""),
                };
                for ch in lit.chars() {
                    self.literal(ch as u32)?;
                }
                return Ok(rest);
            }
            if c == b'p' || c == b'P' {
                let (item, rest) = self.unicode_class(t)?;
                self.class(item, false)?;
                return Ok(rest);
            }
        }
        if let Some((ranges, rest)) = self.perl_class(t) {
            let mut items = String::new();
            push_ranges(&mut items, &ranges);
            self.class(items, false)?;
            return Ok(rest);
        }
        let (c, rest) = self.parse_escape(t)?;
        self.literal(c)?;
        Ok(rest)
    }

    /// Go's `parsePerlClassEscape`: `\d`, `\s`, `\w` and negations.
    fn perl_class(&self, t: &'a str) -> Option<(Ranges, &'a str)> {
        let b = t.as_bytes();
        if b.len() < 2 || b[0] != b'\\' {
            return None;
        }
        let (class, negated) = tables::perl_group(b[1])?;
        Some((
            tables::group_ranges(class, negated, self.flags.fold),
            &t[2..],
        ))
    }

    /// Go's `parseUnicodeClass` for a `t` starting `\p` or `\P`: the Rust
    /// class item and the rest.
    fn unicode_class(&self, s: &'a str) -> Result<(String, &'a str), SyntaxError> {
        let mut negated = s.as_bytes()[1] == b'P';
        let (seq, name, rest) = match first_char(&s[2..]) {
            Some(('{', _)) => {
                let Some(end) = s.find('}') else {
                    return Err(self.error(ErrorCode::InvalidCharRange, s));
                };
                (&s[..=end], &s[3..end], &s[end + 1..])
            }
            Some((c, _)) => {
                let n = 2 + c.len_utf8();
                (&s[..n], &s[2..n], &s[n..])
            }
            None => (s, "", ""),
        };
        // \p{^Greek} is \P{Greek}.
        let name = match name.strip_prefix('^') {
            Some(n) => {
                negated = !negated;
                n
            }
            None => name,
        };
        let Some(property) = tables::unicode_property(name) else {
            return Err(self.error(ErrorCode::InvalidCharRange, seq));
        };
        let letter = if negated { 'P' } else { 'p' };
        Ok((format!("\\{letter}{{{property}}}"), rest))
    }

    /// Go's `parseClass`, from the `[`.
    fn parse_class(&mut self, s: &'a str) -> Result<&'a str, SyntaxError> {
        let mut t = &s[1..];
        let negated = t.starts_with('^');
        if negated {
            t = &t[1..];
        }
        let mut items = String::new();
        // `]` is a literal as the first character.
        let mut first = true;
        while t.is_empty() || !t.starts_with(']') || first {
            first = false;
            let named = if t.len() > 2 && t.starts_with("[:") {
                self.named_class(t)?
            } else {
                None
            };
            if let Some((ranges, rest)) = named {
                push_ranges(&mut items, &ranges);
                t = rest;
                continue;
            }
            if t.starts_with(r"\p") || t.starts_with(r"\P") {
                let (item, rest) = self.unicode_class(t)?;
                items.push_str(&item);
                t = rest;
                continue;
            }
            if let Some((ranges, rest)) = self.perl_class(t) {
                push_ranges(&mut items, &ranges);
                t = rest;
                continue;
            }
            let range = t;
            let (lo, rest) = self.class_char(t, s)?;
            t = rest;
            let mut hi = lo;
            // `[a-]` is `a` and `-`.
            if t.len() >= 2 && t.starts_with('-') && !t[1..].starts_with(']') {
                let (h, rest) = self.class_char(&t[1..], s)?;
                t = rest;
                hi = h;
                if hi < lo {
                    return Err(self.error(ErrorCode::InvalidCharRange, cut(range, t)));
                }
            }
            push_range(&mut items, lo, hi);
        }
        self.class(items, negated)?;
        Ok(&t[1..])
    }

    /// Go's `parseNamedClass`: `[:alpha:]` and friends, or `None` when `t`
    /// has no `:]` at all (then `[` is just a character).
    fn named_class(&self, t: &'a str) -> Result<Option<(Ranges, &'a str)>, SyntaxError> {
        let Some(i) = t[2..].find(":]") else {
            return Ok(None);
        };
        let (name, rest) = t.split_at(i + 4);
        let Some((class, negated)) = tables::posix_group(name) else {
            return Err(self.error(ErrorCode::InvalidCharRange, name));
        };
        Ok(Some((
            tables::group_ranges(class, negated, self.flags.fold),
            rest,
        )))
    }

    /// Go's `parseClassChar`.
    fn class_char(&self, s: &'a str, whole_class: &str) -> Result<(u32, &'a str), SyntaxError> {
        match first_char(s) {
            None => Err(self.error(ErrorCode::MissingBracket, whole_class)),
            Some(('\\', _)) => self.parse_escape(s),
            Some((c, rest)) => Ok((c as u32, rest)),
        }
    }

    /// Go's `parseEscape`: a single-character escape at the start of `s`.
    fn parse_escape(&self, s: &'a str) -> Result<(u32, &'a str), SyntaxError> {
        let Some((c, mut t)) = first_char(&s[1..]) else {
            return Err(self.error(ErrorCode::TrailingBackslash, ""));
        };
        let value = match c {
            // A lone \1-\7 would be a backreference, which RE2 lacks.
            '1'..='7' if !t.starts_with(|d: char| ('0'..='7').contains(&d)) => None,
            '0'..='7' => {
                let mut r = c as u32 - '0' as u32;
                for _ in 1..3 {
                    match t.as_bytes().first() {
                        Some(d @ b'0'..=b'7') => {
                            r = r * 8 + u32::from(d - b'0');
                            t = &t[1..];
                        }
                        _ => break,
                    }
                }
                Some(r)
            }
            'x' => hex_escape(&mut t),
            'a' => Some(0x07),
            'f' => Some(0x0C),
            'n' => Some(0x0A),
            'r' => Some(0x0D),
            't' => Some(0x09),
            'v' => Some(0x0B),
            // Escaped punctuation is itself; \_ too.
            c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some(c as u32),
            _ => None,
        };
        match value {
            Some(v) => Ok((v, t)),
            None => Err(self.error(ErrorCode::InvalidEscape, cut(s, t))),
        }
    }
}

/// The `\x` escape after the `x`: `\x41` or `\x{10FFFF}`. Advances `t` as
/// far as Go reads, which sets the slice an error reports.
fn hex_escape(t: &mut &str) -> Option<u32> {
    let (c, rest) = first_char(t)?;
    *t = rest;
    if c == '{' {
        let mut r: u32 = 0;
        let mut digits = 0;
        loop {
            let (c, rest) = first_char(t)?;
            *t = rest;
            if c == '}' {
                break;
            }
            r = r * 16 + c.to_digit(16)?;
            if r > MAX_RUNE {
                return None;
            }
            digits += 1;
        }
        return (digits > 0).then_some(r);
    }
    let x = c.to_digit(16);
    let y = match first_char(t) {
        Some((d, rest)) => {
            *t = rest;
            d.to_digit(16)
        }
        None => None,
    };
    Some(x? * 16 + y?)
}

/// Go's `parseRepeat`: `{n}`, `{n,}`, `{n,m}` at the start of `s` as
/// (min, max, rest) with max -1 for "no upper bound" and min -1 for a
/// number too large; `None` if `s` is not of that form.
fn parse_repeat(s: &str) -> Option<(i64, i64, &str)> {
    let s = s.strip_prefix('{')?;
    let (mut min, s) = parse_int(s)?;
    let (max, s) = match s.strip_prefix(',') {
        None => (min, s),
        Some(s) if s.starts_with('}') => (-1, s),
        Some(s) => {
            let (max, s) = parse_int(s)?;
            if max < 0 {
                min = -1;
            }
            (max, s)
        }
    };
    let rest = s.strip_prefix('}')?;
    Some((min, max, rest))
}

/// Go's `parseInt`: decimal digits without a leading zero; -1 once the
/// value passes 10^8.
fn parse_int(s: &str) -> Option<(i64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits >= 2 && s.starts_with('0')) {
        return None;
    }
    let mut n: i64 = 0;
    for d in s[..digits].bytes() {
        if n >= 100_000_000 {
            n = -1;
            break;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some((n, &s[digits..]))
}
