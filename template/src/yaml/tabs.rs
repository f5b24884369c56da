//! The tabs libyaml refuses where granit-parser (YAML 1.2) takes them.
//!
//! libyaml's scanner skips a tab between tokens only in a flow collection
//! or where no simple key may start (`yaml_parser_scan_to_next_token`): in
//! the block context a tab that opens a line (after its spaces) or follows
//! a `-` or `?` indicator is where it looks for a token, and a tab starts
//! none ("found character that cannot start any token"). After a plain
//! scalar the scalar's own scanning eats the blanks and line breaks that
//! follow, and there a tab on a later line left of the scalar's block
//! indentation is "found a tab character that violates indentation".
//! Quoted and block scalars have rules of their own (granit-parser refuses
//! those tabs itself), and go-yaml reads the first document only.
//!
//! The check runs over a text granit-parser has read, with the tokens it
//! found; it reports the first tab libyaml would refuse, if any.

use super::YamlError;

/// What a token read from the text is, for the tabs after it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A plain scalar in the block context, and libyaml's indentation for
    /// its continuation lines (its block collection's column + 1, 1-based
    /// column numbers; 0 at the top).
    Plain(usize),
    /// A quoted scalar or a flow collection: tabs inside are their own
    /// business.
    Shielded,
    /// A block scalar, its span from its header on: where its content
    /// starts (a char index) and that content's indentation (0-based
    /// column).
    Block(usize, usize),
    /// Any other token.
    Other,
}

/// The tokens of a document: char index ranges.
#[derive(Default)]
pub(super) struct Tokens {
    pub spans: Vec<(usize, usize, Kind)>,
    /// Where the first document ends (a char index).
    pub doc_end: Option<usize>,
}

/// libyaml's refusal of a tab in a block scalar's indentation.
pub(super) const BLOCK_INDENT: &str =
    "found a tab character where an indentation space is expected";

/// The first tab of `text` libyaml refuses, as go-yaml reports it.
pub(super) fn refused_tab(text: &str, tokens: &Tokens) -> Option<YamlError> {
    let chars: Vec<char> = text.chars().collect();
    let end = tokens.doc_end.unwrap_or(chars.len()).min(chars.len());
    let mut line = 0;
    let mut at = 0;
    while at < end {
        let line_start = at;
        let line_end = chars[at..]
            .iter()
            .position(|&c| c == '\n')
            .map_or(chars.len(), |i| at + i);
        if let Some((p, opens_line)) = candidate(&chars[line_start..line_end])
            .map(|(i, opens)| (line_start + i, opens))
            .filter(|&(p, _)| p < end)
            && let Some(problem) = judge(&chars, tokens, p, p - line_start, opens_line)
        {
            let go_line = (line != 0).then_some(line + 1);
            return Some(YamlError::go(
                line + 1,
                p - line_start + 1,
                problem,
                go_line,
            ));
        }
        line += 1;
        at = line_end + 1;
    }
    None
}

/// The tab of a line where libyaml would look for a token: after the
/// line's spaces, or after a `-`, `?` or `:` indicator and its spaces
/// (nested ones too: `- - \tx`). Its index in the line, and whether it opens it.
fn candidate(line: &[char]) -> Option<(usize, bool)> {
    // libyaml lets a byte order mark start any line.
    let bom = usize::from(line.first() == Some(&'\u{feff}'));
    let mut i = bom + line[bom..].iter().take_while(|&&c| c == ' ').count();
    if line.get(i) == Some(&'\t') {
        return Some((i, true));
    }
    // `:` opens a line only as a complex key's value indicator.
    while matches!(line.get(i), Some('-' | '?' | ':'))
        && matches!(line.get(i + 1), Some(' ' | '\t'))
    {
        i += 1;
        i += line[i..].iter().take_while(|&&c| c == ' ').count();
        if line.get(i) == Some(&'\t') {
            return Some((i, false));
        }
    }
    None
}

/// libyaml's verdict on the tab at char index `p` (column `col`, 0-based).
fn judge(
    chars: &[char],
    tokens: &Tokens,
    p: usize,
    col: usize,
    opens_line: bool,
) -> Option<&'static str> {
    const NO_TOKEN: &str = "found character that cannot start any token";
    // Inside a token: a plain scalar's continuation, or shielded.
    if let Some(&(start, _, kind)) = tokens.spans.iter().find(|(s, e, _)| *s < p && p < *e) {
        return match kind {
            Kind::Plain(indent) if opens_line && col < indent => {
                Some("found a tab character that violates indentation")
            }
            // Before the content fixes the indentation, or left of it;
            // with no indentation indicator, libyaml eats a line's spaces
            // and refuses a tab after them up to its first content line
            // (`yaml_parser_scan_block_scalar_breaks`), which
            // granit-parser takes as content (`>\n  \tt`).
            Kind::Block(content, indent)
                if opens_line
                    && (p < content
                        || col < indent
                        || (!explicit_indent(chars, start)
                            && !chars[content..p].contains(&'\n'))) =>
            {
                Some(BLOCK_INDENT)
            }
            _ => None,
        };
    }
    if !opens_line {
        return Some(NO_TOKEN);
    }
    // The token before it, with nothing but blanks and line breaks between.
    let before = tokens
        .spans
        .iter()
        .filter(|(_, e, _)| *e <= p)
        .max_by_key(|(_, e, _)| *e);
    match before {
        Some(&(_, e, kind))
            if chars[e..p]
                .iter()
                .all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) =>
        {
            match kind {
                Kind::Plain(indent) if col < indent => {
                    Some("found a tab character that violates indentation")
                }
                Kind::Plain(_) => None,
                // Its trailing line breaks are still the block scalar's.
                Kind::Block(..) => Some(BLOCK_INDENT),
                Kind::Shielded | Kind::Other => Some(NO_TOKEN),
            }
        }
        _ => Some(NO_TOKEN),
    }
}

/// Whether the block scalar header at char index `header` (its `|` or
/// `>`) has an indentation indicator: a digit among its indicators.
fn explicit_indent(chars: &[char], header: usize) -> bool {
    chars[header + 1..]
        .iter()
        .take_while(|c| matches!(c, '+' | '-' | '1'..='9'))
        .any(char::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use crate::yaml::decode::decode;

    /// go-yaml's (libyaml's) errors for tabs granit-parser takes, checked
    /// against Helm's values reader (found by difftest, lint).
    #[test]
    fn tabs_libyaml_refuses_are_refused_in_its_words() {
        let err = |t: &str| decode(t).err().map(|e| e.to_string());
        let no_token = |line: usize| {
            Some(if line == 1 {
                "yaml: found character that cannot start any token".to_string()
            } else {
                format!("yaml: line {line}: found character that cannot start any token")
            })
        };
        assert_eq!(err("\t\n"), no_token(1));
        assert_eq!(err("\ta: 1\n"), no_token(1));
        assert_eq!(err("\u{feff}\tname: x\n"), no_token(1));
        assert_eq!(err("- \tb\n"), no_token(1));
        assert_eq!(err("? \ta\n: b\n"), no_token(1));
        assert_eq!(err("- a\n-\tb\n"), no_token(2));
        assert_eq!(
            err("a: 1\n\t\n").as_deref(),
            Some("yaml: line 2: found a tab character that violates indentation")
        );
        assert_eq!(
            err("a:\n  b: 1\n\t\n").as_deref(),
            Some("yaml: line 3: found a tab character that violates indentation")
        );
        assert_eq!(
            err("a: |\n\tx\n").as_deref(),
            Some("yaml: line 2: found a tab character where an indentation space is expected")
        );
        assert_eq!(
            err("a: |\n  x\n\t\n").as_deref(),
            Some("yaml: line 3: found a tab character where an indentation space is expected")
        );
        // Up to a block scalar's first content line when no indicator
        // sets its indentation, on a blank line before it too (found by
        // difftest, lint and templates: granit-parser took the first as
        // content, refused the second in its own words).
        for (t, line) in [
            ("labels: >+\n  \tt\n", 2),
            ("a: >\n  \tx\n", 2),
            ("a: >\n\n\t\n  x\n", 3),
            ("a: |\n \n\tx\n", 3),
            ("a: |-\n\n  \t\n  x\n", 3),
            ("a: >\n\n\t\nb: 1\n", 3),
            ("a: |\n  \t\n", 2),
        ] {
            let want = format!(
                "yaml: line {line}: found a tab character where an indentation space is expected"
            );
            assert_eq!(err(t), Some(want), "{t:?}");
        }
        // After a quoted scalar or a flow collection, a comment, an alias.
        for t in [
            "a: \"x\"\n\t\n",
            "a: [1]\n\t\n",
            "a: b # c\n\t\n",
            "? a\n:\tb\n",
        ] {
            assert_eq!(err(t), no_token(2), "{t:?}");
        }
        // Where libyaml skips them.
        for ok in [
            "a:\tb\n",
            "a: \tb\n",
            "a: b\t# c\n",
            "a: [1,\t2]\n",
            "a: !!str\tb\n",
            "a: &x\tb\n",
            "a:\t\n",
            "a: 'x\n\ty'\n",
            "a:\n  b: 1\n   \t\n",
            "a: |\n  x\n  \ty\n",
            "a: |2\n  \tx\n",
            "a: |1-\n \tx\n",
            "a: 1\n---\n\tb\n",
            "- a:\tb\n",
            "x\n\t\n",
        ] {
            assert_eq!(err(ok), None, "{ok:?}");
        }
    }
}
