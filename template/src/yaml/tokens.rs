//! The tokens libyaml's scanner cuts otherwise than granit-parser's
//! (YAML 1.2): an anchor's or alias's name, a `:` in a flow collection.
//!
//! libyaml's `yaml_parser_scan_anchor` takes only `[0-9A-Za-z_-]` for a
//! name and wants after it a blank, a line break, the end, or one of
//! ``?:,]}%@` ``, where its next token starts; anything else is "did not find
//! expected alphabetic or numeric character" at that character (`&a.b`,
//! `*ä`, `&a[1]`, `&#34;`, what `html` makes of a quote). YAML 1.2 takes any
//! character but a space and `,[]{}`, so granit-parser reads `&a:b x` as
//! the anchor `a:b` on `x` where libyaml anchors the plain scalar `:b x`,
//! and `&a[1]` as an anchored sequence.
//!
//! In a flow collection a `:` where a token starts is libyaml's value
//! indicator whatever follows (go-yaml v2's `yaml_parser_fetch_next_token`
//! wants a blank after it only in the block context): `[:b]` finds no node
//! before the value, `{&a:b}` is an anchored empty key's `b`, where YAML
//! 1.2 reads the plain scalar `:b`.
//!
//! This finds, with granit-parser's scanner, the first such token; the
//! decoder splits the text there or fails at it, whichever libyaml does.

use granit_parser::{ScalarStyle, Scanner, StrInput, TokenType};

use super::YamlError;

/// How libyaml reads a token granit-parser reads otherwise.
pub(super) enum Token {
    /// libyaml's token ends, or its value indicator starts, at byte offset
    /// `at`, or a plain scalar takes a `:` there: the text is to be read
    /// with its `len` bytes from `at` replaced by `with` (the ASCII
    /// character there after a space, and a `:` in a flow collection, a
    /// value indicator for libyaml whatever follows it, before one too; or
    /// the scalar quoted).
    Split { at: usize, len: usize, with: String },
    /// The scanner's error, in the token that starts at char index `at`,
    /// 1-based `line` and `column`: libyaml fails there before its parser
    /// sees the token (an unknown alias, a node misplaced).
    Fails {
        error: YamlError,
        at: usize,
        line: usize,
        column: usize,
    },
}

/// libyaml's characters of a name (`is_alpha`).
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// What may follow a name for libyaml, besides a blank or a line break.
fn ends_name(c: char) -> bool {
    matches!(c, '?' | ':' | ',' | ']' | '}' | '%' | '@' | '`')
}

/// Blanks and line breaks, as libyaml's `is_blankz` has them.
fn blank_or_break(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}'
    )
}

/// The first token of `text` libyaml reads otherwise than granit-parser,
/// up to where its scanner stops.
pub(super) fn first_difference(text: &str) -> Option<Token> {
    if !may_differ(text) {
        return None;
    }
    scanned_difference(text)
}

/// [`first_difference`] without the cheap look first.
pub(super) fn scanned_difference(text: &str) -> Option<Token> {
    let chars: Vec<char> = text.chars().collect();
    let byte = |ci: usize| -> usize { chars[..ci].iter().map(|c| c.len_utf8()).sum() };
    let mut flow = 0usize;
    // Where the last token starts, when a plain scalar in a flow
    // collection.
    let mut plain = None;
    for token in Scanner::new(StrInput::new(text)) {
        let Ok(token) = token else {
            return None;
        };
        let start = token.span().start.index();
        let last_plain = plain.take();
        let name = match token.token_type() {
            TokenType::FlowSequenceStart | TokenType::FlowMappingStart => {
                flow += 1;
                continue;
            }
            TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => {
                flow = flow.saturating_sub(1);
                continue;
            }
            TokenType::Anchor(name) | TokenType::Alias(name) => name,
            TokenType::Scalar(ScalarStyle::Plain, value) if flow > 0 && value.starts_with(':') => {
                let with = ": ".to_string();
                return Some(Token::Split {
                    at: byte(start),
                    len: 1,
                    with,
                });
            }
            TokenType::Scalar(ScalarStyle::Plain, _) if flow > 0 => {
                plain = Some(start);
                continue;
            }
            TokenType::Value if flow > 0 => {
                if let Some(from) = last_plain
                    && let Some(with) = colon_in_plain(&chars[from..=start], chars.get(start + 1))
                {
                    let at = byte(from);
                    return Some(Token::Split {
                        at,
                        len: byte(start + 1) - at,
                        with,
                    });
                }
                continue;
            }
            _ => continue,
        };
        // The name starts after the `&` or `*` the span starts at.
        let start = token.span().start.index() + 1;
        let len = name.chars().take_while(|&c| name_char(c)).count();
        let at = start + len;
        match chars.get(at) {
            None => {}
            Some(&c) if blank_or_break(c) => {}
            Some(&c) if len == name.chars().count() && c != '[' && c != '{' => {}
            Some(&c) if len > 0 && ends_name(c) => {
                let with = if flow > 0 && c == ':' {
                    " : ".to_string()
                } else {
                    format!(" {c}")
                };
                return Some(Token::Split {
                    at: byte(at),
                    len: 1,
                    with,
                });
            }
            Some(_) => {
                let (line, column) = line_col(&chars, start - 1);
                return Some(Token::Fails {
                    error: refused(&chars, at),
                    at: start - 1,
                    line,
                    column,
                });
            }
        }
    }
    None
}

/// A plain scalar and a `:` after it in a flow collection (`chars`, the
/// scalar's start to the `:`), the `:` followed by `next`: go-yaml v2's
/// plain scalar ends at a `:` only before a blank or a line break, so
/// `[x:]`, `{x :, y: 1}` are the scalars `x:` and `x :`, where YAML 1.2
/// ends it before a `:` that a flow indicator follows. The scalar then,
/// single-quoted (line breaks kept: the same folding), unless a comment
/// ends it before the `:`.
fn colon_in_plain(chars: &[char], next: Option<&char>) -> Option<String> {
    let comment = chars
        .windows(2)
        .any(|w| w[1] == '#' && blank_or_break(w[0]));
    if !matches!(next, Some(',' | ']' | '}')) || comment {
        return None;
    }
    let body: String = chars.iter().collect();
    Some(format!("'{}'", body.replace('\'', "''")))
}

/// Whether some `&` or `*` of `text` has a name libyaml ends otherwise
/// than at a blank or the end, or a `:` may open a plain scalar in a flow
/// collection: cheaper than scanning. Comments are left out (most charts'
/// values.yaml have URLs in them beside a `{}` or `[]`, which made this
/// true and every such text scanned twice); see [`token_parts`].
pub(super) fn may_differ(text: &str) -> bool {
    let flow = text.contains(['[', '{']);
    token_parts(text).any(|(at, part)| {
        let flow_colon = flow
            && part
                .match_indices(':')
                .any(|(i, _)| !text[at + i + 1..].starts_with([' ', '\t', '\r', '\n']));
        flow_colon
            || part.match_indices(['&', '*']).any(|(i, _)| {
                let rest = &text[at + i + 1..];
                match rest.trim_start_matches(name_char).chars().next() {
                    None => false,
                    Some(c) => !blank_or_break(c) && !matches!(c, ',' | ']' | '}'),
                }
            })
    })
}

/// `text` line by line (with each line's byte offset), each cut before
/// its comment where it surely has one: a `#` at the line's start or after
/// a blank, on a line with no quote. Such a `#` starts a comment, or is
/// the content of a block scalar, or of a quoted scalar that began on an
/// earlier line and ends on a later one: what follows it on the line is
/// no token either way. A line with a quote is kept whole (the `#` may be
/// inside a scalar that ends on the line, and a token after it). Any of
/// libyaml's line breaks ends a line, so no cut reaches past one.
fn token_parts(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut at = 0;
    text.split_inclusive(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}'])
        .map(move |line| {
            let start = at;
            at += line.len();
            let comment = if line.contains(['\'', '"']) {
                None
            } else {
                line.match_indices('#')
                    .map(|(i, _)| i)
                    .find(|&i| i == 0 || line[..i].ends_with([' ', '\t']))
            };
            (start, &line[..comment.unwrap_or(line.len())])
        })
}

/// libyaml's error at char index `at`: a scanner error, with go-yaml's
/// 1-based line unless on the first.
fn refused(chars: &[char], at: usize) -> YamlError {
    let (line, column) = line_col(chars, at);
    YamlError::go(
        line,
        column,
        "did not find expected alphabetic or numeric character",
        (line > 1).then_some(line),
    )
}

/// The 1-based line and column of char index `at`.
fn line_col(chars: &[char], at: usize) -> (usize, usize) {
    let line = chars[..at].iter().filter(|&&c| c == '\n').count() + 1;
    let line_start = chars[..at]
        .iter()
        .rposition(|&c| c == '\n')
        .map_or(0, |i| i + 1);
    (line, at - line_start + 1)
}

#[cfg(test)]
mod tests {
    use super::{first_difference, may_differ};

    #[test]
    fn a_comment_does_not_make_a_text_scanned_twice_but_a_token_does() {
        // A URL in a comment beside an empty flow mapping: nothing differs.
        let values =
            "# see https://kubernetes.io/docs/\nreplicas: 1\nannotations: {}\n  # and *this\n";
        assert!(!may_differ(values));
        assert!(first_difference(values).is_none());
        // Each of these libyaml reads otherwise (or may), comments or not.
        for text in [
            "a: [:b]\n",
            "a: {x:, y: 1} # https://x\n",
            "# https://x\na: &a:b x\n",
            "a: [ \"b\n  c # d\", e:f ]\n",
            "a: [ 'b # c', :d ]\n",
            "a: {b: c}\r# x\rd: [e:]\n",
            "a: &x.y 1\n",
        ] {
            assert!(may_differ(text), "{text:?}");
        }
        // Those of them a scanner finds differ are found still.
        assert!(first_difference("a: [ \"b\n  c # d\", :f ]\n").is_some());
        assert!(first_difference("a: {b: c}\r# x\rd: [:e]\n").is_some());
    }
}
