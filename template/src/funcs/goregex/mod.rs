//! Go's `regexp` for the template functions and the values schema: a
//! pattern is read with Go's `regexp/syntax` rules (`parse.rs`) and
//! rewritten into an equivalent Rust `regex` pattern, so that what matches,
//! what is rejected, and the error text all follow Go rather than Rust's
//! own (close but different) dialect. `$1`/`${name}` in replacements follow
//! Go's `Regexp.Expand` (`expand`).
//!
//! Not reproduced: Go's `expression too large` size budget (Rust's own
//! compiled-size limit stands in for it), and case folding and Unicode
//! tables are Rust's (Unicode 16; Go's are 15.0).

mod parse;
mod tables;
#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};

/// Go's `regexp/syntax.ErrorCode` values this parser can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidCharRange,
    InvalidEscape,
    InvalidNamedCapture,
    InvalidPerlOp,
    InvalidRepeatOp,
    InvalidRepeatSize,
    MissingBracket,
    MissingParen,
    MissingRepeatArgument,
    TrailingBackslash,
    UnexpectedParen,
    NestingDepth,
    Large,
    Internal,
}

impl ErrorCode {
    /// Go's wording.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidCharRange => "invalid character class range",
            ErrorCode::InvalidEscape => "invalid escape sequence",
            ErrorCode::InvalidNamedCapture => "invalid named capture",
            ErrorCode::InvalidPerlOp => "invalid or unsupported Perl syntax",
            ErrorCode::InvalidRepeatOp => "invalid nested repetition operator",
            ErrorCode::InvalidRepeatSize => "invalid repeat count",
            ErrorCode::MissingBracket => "missing closing ]",
            ErrorCode::MissingParen => "missing closing )",
            ErrorCode::MissingRepeatArgument => "missing argument to repetition operator",
            ErrorCode::TrailingBackslash => "trailing backslash at end of expression",
            ErrorCode::UnexpectedParen => "unexpected )",
            ErrorCode::NestingDepth => "expression nests too deeply",
            ErrorCode::Large => "expression too large",
            ErrorCode::Internal => "regexp/syntax: internal error",
        }
    }
}

/// Go's `*syntax.Error`: the code and the part of the pattern at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error parsing regexp: {}: `{expr}`", code.as_str())]
pub struct SyntaxError {
    pub code: ErrorCode,
    pub expr: String,
}

/// A compiled Go pattern.
#[derive(Clone, Debug)]
pub struct GoRegex {
    /// The Rust translation; its captures are numbered as Go's are.
    pub regex: regex::Regex,
    /// Go's capture names by group index (0 is the whole match).
    names: Arc<[Option<String>]>,
    /// The pattern as written: Go's `Split` looks at its length.
    source: Arc<str>,
}

/// Go's `regexp.Compile`.
pub fn compile(pattern: &str) -> Result<GoRegex, SyntaxError> {
    /// Patterns this short cannot nest deeper than Rust's default limit,
    /// which is safe on any stack; longer ones may nest 1000 deep, which
    /// parsing and compiling (both recursive) only survive on a big stack.
    const SHORT: usize = 200;
    if pattern.len() <= SHORT {
        return compile_here(pattern);
    }
    crate::on_big_stack(crate::BIG_STACK, || compile_here(pattern)).unwrap_or_else(|_| {
        Err(SyntaxError {
            code: ErrorCode::Internal,
            expr: pattern.to_string(),
        })
    })
}

fn compile_here(pattern: &str) -> Result<GoRegex, SyntaxError> {
    /// Generous next to Rust's 10 MiB default: Go accepts `\pL{1000}`.
    const SIZE_LIMIT: usize = 256 << 20;
    /// Go allows a tree 1000 deep (checked while parsing); the Rust
    /// pattern nests a little deeper than Go's tree.
    const NEST_LIMIT: u32 = 2000;
    let t = parse::translate(pattern)?;
    let regex = regex::RegexBuilder::new(&t.pattern)
        .size_limit(SIZE_LIMIT)
        .nest_limit(NEST_LIMIT)
        .build()
        .map_err(|_| SyntaxError {
            code: ErrorCode::Large,
            expr: pattern.to_string(),
        })?;
    Ok(GoRegex {
        regex,
        names: t.names.into(),
        source: pattern.into(),
    })
}

impl GoRegex {
    /// The pattern as written in Go syntax.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Go's `ReplaceAllString`: each match replaced by `template` expanded.
    pub fn replace_all(&self, s: &str, template: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut last = 0;
        for caps in self.regex.captures_iter(s) {
            let Some(m) = caps.get(0) else { continue };
            out.push_str(&s[last..m.start()]);
            self.expand(&caps, template, &mut out);
            last = m.end();
        }
        out.push_str(&s[last..]);
        out
    }

    /// Go's `Regexp.expand`: `$$` is `$`; `$name`/`${name}` is a group by
    /// number (no leading zero) or else by name, the first of that name
    /// that took part in the match; an unknown or unmatched group is empty;
    /// a `$` not followed by a name is itself.
    fn expand(&self, caps: &regex::Captures, template: &str, out: &mut String) {
        let mut t = template;
        while let Some(i) = t.find('$') {
            out.push_str(&t[..i]);
            t = &t[i + 1..];
            if let Some(rest) = t.strip_prefix('$') {
                out.push('$');
                t = rest;
                continue;
            }
            let Some((name, rest)) = extract(t) else {
                out.push('$');
                continue;
            };
            t = rest;
            let group = match group_number(name) {
                Some(n) => caps.get(n),
                None => self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| n.as_deref() == Some(name))
                    .find_map(|(i, _)| caps.get(i)),
            };
            if let Some(g) = group {
                out.push_str(g.as_str());
            }
        }
        out.push_str(t);
    }
}

/// Go's `extract` after the `$`: the name of `name…` or `{name}` and the
/// rest, names being Unicode letters, decimal digits and `_`.
fn extract(t: &str) -> Option<(&str, &str)> {
    static NAME: OnceLock<Option<regex::Regex>> = OnceLock::new();
    let name_re = NAME
        .get_or_init(|| regex::Regex::new(r"^[\p{L}\p{Nd}_]+").ok())
        .as_ref()?;
    let (body, braced) = match t.strip_prefix('{') {
        Some(b) => (b, true),
        None => (t, false),
    };
    let name = name_re.find(body)?.as_str();
    let rest = &body[name.len()..];
    if braced {
        return Some((name, rest.strip_prefix('}')?));
    }
    Some((name, rest))
}

/// A purely numeric name as Go reads it: no leading zero, at most nine digits.
fn group_number(name: &str) -> Option<usize> {
    let numeric = name.bytes().all(|b| b.is_ascii_digit());
    if !numeric || (name.len() > 1 && name.starts_with('0')) || name.len() > 9 {
        return None;
    }
    name.parse().ok()
}
