//! What libyaml's scanner reads after a document's root node.
//!
//! go-yaml v2 (`yaml.Unmarshal`, which sigs.k8s.io/yaml and so `fromYaml`
//! and each document of a values file use) decodes the first document only.
//! libyaml's parser ends that document after its root node, implicitly,
//! once it has peeked at the next token: what follows is never parsed
//! (`'a' 'b'` is "a", `{a: 1} ]` is `{a: 1}`), but that token is scanned,
//! so a scanner error in it is the reader's error (`'a' @`: found character
//! that cannot start any token). While the root could still turn out to be
//! a mapping's simple key (it starts a line of the document and no line
//! break came since), the scanner reads on, and a `: ` there makes it one;
//! so it does while the next token could be one (`'a'` then `  'b' @`
//! fails). granit-parser reads the whole stream and refuses more.
//!
//! This follows libyaml's `yaml_parser_fetch_next_token` over the rest of
//! the text for a root that ends at its own closing quote or bracket, as
//! far as its outcome goes; it does not build tokens.

use super::YamlError;
use super::decode::directive_problem;

/// How the first document ends after its root node.
pub(super) enum After {
    /// There: what follows is not parsed.
    Ends,
    /// It does not: a `: ` makes the root a mapping's key.
    Keyed,
    /// The scanner's error in a token it reads after the root.
    Fails(YamlError),
}

/// libyaml's scanner after a root node between char indices `start` and
/// `end` of `text`, whose last token is its own closing quote or bracket.
pub(super) fn after_root(text: &str, start: usize, end: usize) -> After {
    let byte = |ci: usize| text.char_indices().nth(ci).map_or(text.len(), |(b, _)| b);
    let (start_b, end_b) = (byte(start), byte(end));
    let line_start = text[..start_b].rfind('\n').map_or(0, |i| i + 1);
    let before_root = &text[line_start..start_b];
    // A `---` on its line leaves no simple key allowed for the root.
    let after_marker = before_root
        .strip_prefix("---")
        .is_some_and(|r| r.starts_with([' ', '\t']));
    let line = text[..end_b].matches('\n').count();
    let end_line_start = text[..end_b].rfind('\n').map_or(0, |i| i + 1);
    let mut s = Scanner {
        text,
        chars: text[end_b..].chars().collect(),
        at: 0,
        line,
        col: text[end_line_start..end_b].chars().count(),
        flow: 0,
        allowed: false,
    };
    let root_key = !after_marker && !text[start_b..end_b].contains('\n');
    let forgotten = root_key && forgotten_key_end(text, start_b) == Some(end_b);
    let mut key = root_key.then_some(Key {
        line,
        root: true,
        forgotten,
    });
    let mut first = true;
    loop {
        if !first {
            key = key.filter(|k| k.line == s.line && !k.forgotten);
            if key.is_none() {
                return After::Ends;
            }
        }
        s.skip_to_token();
        key = key.filter(|k| k.line == s.line);
        let (line, allowed) = (s.line, s.allowed && s.flow == 0);
        match s.token(key) {
            Token::Ends => return After::Ends,
            Token::Keyed => return After::Keyed,
            Token::Fails(e) => return After::Fails(e),
            Token::Read { ends_key: true, .. } => key = None,
            // The token after the root is a simple key of its own.
            Token::Read { can_key: true, .. } if first && allowed => {
                key = Some(Key {
                    line,
                    root: false,
                    forgotten: false,
                });
            }
            Token::Read { .. } => {}
        }
        first = false;
    }
}

/// libyaml's simple key of the block context (one at a time): the root's
/// or the next token's, on its line. While there is one, the scanner reads
/// on to see whether a `:` follows.
#[derive(Clone, Copy)]
struct Key {
    line: usize,
    root: bool,
    /// The root is a flow collection that go-yaml v2's scanner no longer
    /// looks ahead for (see [`forgotten_key_end`]): it reads the one token
    /// its parser peeks at, and a `:` there finds the key still possible
    /// but comes after the parser has taken the collection.
    forgotten: bool,
}

/// Where a flow collection opening at byte offset `at` of `text`, first on
/// its line, closes on that line (the byte offset after its bracket), if
/// go-yaml v2's scanner has forgotten it as a simple key by then: its
/// `decrease_flow_level` deletes from `simple_keys_by_tok` the key
/// numbered as the closing level's slot, which `increase_flow_level` set
/// to the opening bracket's own number and only a simple key saved inside
/// at that level renumbers. With none (`[]`, `{ }`, `[? a]`) the bracket's
/// key is gone from the map that makes `fetch_more_tokens` read ahead,
/// though still possible for `fetch_value`: `[] a: b` is `[]`, and so is
/// `[]: b` (its `:`, the token the parser peeks at, puts the mapping's
/// KEY after the collection the parser has taken), where `[a] b: c` reads
/// on to the `:` and fails.
pub(super) fn forgotten_key_end(text: &str, at: usize) -> Option<usize> {
    if !text[at..].starts_with(['[', '{']) {
        return None;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if !text[line_start..at].chars().all(|c| c == ' ' || c == '\t') {
        return None;
    }
    let line_end = text[at..].find(['\r', '\n']).map_or(text.len(), |i| at + i);
    let mut s = Scanner {
        text,
        chars: text[at + 1..line_end].chars().collect(),
        at: 0,
        line: 0,
        col: 0,
        flow: 1,
        allowed: true,
    };
    loop {
        s.skip_to_token();
        let (flow, allowed) = (s.flow, s.allowed);
        match s.peek(0) {
            None => return None,
            Some(']' | '}') if flow == 1 => {
                let read: usize = s.chars[..=s.at].iter().map(|c| c.len_utf8()).sum();
                return Some(at + 1 + read);
            }
            Some(_) => {}
        }
        match s.token(None) {
            // A simple key saved at the collection's own level.
            Token::Read { can_key: true, .. } if flow == 1 && allowed => return None,
            Token::Read { .. } => {}
            Token::Ends | Token::Keyed | Token::Fails(_) => return None,
        }
    }
}

/// The scanner's state past the root.
struct Scanner<'a> {
    text: &'a str,
    chars: Vec<char>,
    at: usize,
    /// 0-based line and column of `chars[at]` in the text.
    line: usize,
    col: usize,
    /// How many flow collections are open after the root.
    flow: usize,
    /// libyaml's `simple_key_allowed`: false after a quote or bracket,
    /// true after a line break in the block context.
    allowed: bool,
}

/// What reading one token came to.
enum Token {
    /// Nothing after it can matter.
    Ends,
    /// A `: ` where the root is still a possible simple key.
    Keyed,
    Fails(YamlError),
    /// Read; `ends_key`: it removes the simple key; `can_key`: it could be
    /// a simple key itself.
    Read {
        ends_key: bool,
        can_key: bool,
    },
}

fn blankz(c: Option<char>) -> bool {
    matches!(c, None | Some(' ' | '\t' | '\r' | '\n'))
}

impl Scanner<'_> {
    fn peek(&self, n: usize) -> Option<char> {
        self.chars.get(self.at + n).copied()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek(0) {
            self.at += 1;
            if c == '\n' {
                self.line += 1;
                self.col = 0;
            } else {
                self.col += 1;
            }
        }
    }

    /// `yaml_parser_scan_to_next_token`: blanks (tabs only where no simple
    /// key is allowed, or in a flow collection), comments, line breaks.
    fn skip_to_token(&mut self) {
        loop {
            match self.peek(0) {
                Some(' ') => self.bump(),
                Some('\t') if self.flow > 0 || !self.allowed => self.bump(),
                Some('#') => {
                    while !matches!(self.peek(0), None | Some('\n')) {
                        self.bump();
                    }
                }
                Some('\r' | '\n') => {
                    self.bump();
                    if self.flow == 0 {
                        self.allowed = true;
                    }
                }
                _ => return,
            }
        }
    }

    /// A scanner error at the current position: go-yaml prints its 1-based
    /// line, but none on the first line.
    fn fail(&self, problem: &str) -> Token {
        let line = self.line + 1;
        Token::Fails(YamlError::go(
            line,
            self.col + 1,
            problem,
            (self.line != 0).then_some(line),
        ))
    }

    /// `yaml_parser_fetch_next_token`; `key`: the simple key still possible.
    fn token(&mut self, key: Option<Key>) -> Token {
        let Some(c) = self.peek(0) else {
            return Token::Ends;
        };
        let next = self.peek(1);
        let flow = self.flow > 0;
        if self.col == 0 {
            if c == '%' {
                let rest: String = self.chars[self.at + 1..]
                    .iter()
                    .take_while(|&&c| c != '\n')
                    .collect();
                return match directive_problem(&rest) {
                    Some(problem) => self.fail(problem),
                    None => Token::Ends,
                };
            }
            let marker = |m: char| (0..3).all(|i| self.peek(i) == Some(m)) && blankz(self.peek(3));
            if marker('-') || marker('.') {
                return Token::Ends;
            }
        }
        match c {
            '[' | '{' => {
                self.bump();
                self.flow += 1;
                self.allowed = true;
                Token::Read {
                    ends_key: false,
                    can_key: true,
                }
            }
            ']' | '}' | ',' => {
                self.bump();
                let ends_key = self.flow == 0;
                if c != ',' {
                    self.flow = self.flow.saturating_sub(1);
                }
                self.allowed = c == ',';
                Token::Read {
                    ends_key,
                    can_key: false,
                }
            }
            '-' if blankz(next) => {
                if !flow && !self.allowed {
                    return self.fail("block sequence entries are not allowed in this context");
                }
                self.bump();
                self.allowed = true;
                Token::Read {
                    ends_key: !flow,
                    can_key: false,
                }
            }
            '?' if flow || blankz(next) => {
                if !flow && !self.allowed {
                    return self.fail("mapping keys are not allowed in this context");
                }
                self.bump();
                self.allowed = !flow;
                Token::Read {
                    ends_key: !flow,
                    can_key: false,
                }
            }
            ':' if flow || blankz(next) => {
                match key {
                    // The parser has taken the root already.
                    Some(Key {
                        forgotten: true, ..
                    }) if !flow => return Token::Ends,
                    // The root is a mapping's key after all.
                    Some(Key { root: true, .. }) if !flow => return Token::Keyed,
                    // The next token is one: a mapping the parser does
                    // not get to.
                    Some(_) if !flow => return Token::Ends,
                    _ => {}
                }
                if !flow && !self.allowed {
                    return self.fail("mapping values are not allowed in this context");
                }
                self.bump();
                self.allowed = !flow;
                Token::Read {
                    ends_key: false,
                    can_key: false,
                }
            }
            '*' | '&' => {
                self.bump();
                let mut len = 0;
                while self
                    .peek(0)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    self.bump();
                    len += 1;
                }
                let after = self.peek(0);
                if len == 0
                    || !(blankz(after)
                        || matches!(after, Some('?' | ':' | ',' | ']' | '}' | '%' | '@' | '`')))
                {
                    return self.fail("did not find expected alphabetic or numeric character");
                }
                self.allowed = false;
                Token::Read {
                    ends_key: false,
                    can_key: true,
                }
            }
            '!' => {
                while !blankz(self.peek(0)) {
                    self.bump();
                }
                self.allowed = false;
                Token::Read {
                    ends_key: false,
                    can_key: true,
                }
            }
            // A block scalar: no simple key after it, and its lines are
            // its own.
            '|' | '>' if !flow => self.block_scalar_header(),
            '\'' | '"' => self.quoted(c),
            _ if self.plain_start(c, next) => {
                self.plain();
                self.allowed = false;
                // A plain scalar that reaches its line's end may go on on
                // the next: the root's key is stale by then.
                if matches!(self.peek(0), None | Some('\r' | '\n')) {
                    return Token::Ends;
                }
                Token::Read {
                    ends_key: false,
                    can_key: true,
                }
            }
            _ => self.fail("found character that cannot start any token"),
        }
    }

    /// A block scalar's header: its indicators, then only a comment.
    fn block_scalar_header(&mut self) -> Token {
        self.bump();
        for _ in 0..2 {
            match self.peek(0) {
                Some('+' | '-') => self.bump(),
                Some('0') => return self.fail("found an indentation indicator equal to 0"),
                Some('1'..='9') => self.bump(),
                _ => break,
            }
        }
        while matches!(self.peek(0), Some(' ' | '\t')) {
            self.bump();
        }
        if self.peek(0) == Some('#') {
            while !matches!(self.peek(0), None | Some('\r' | '\n')) {
                self.bump();
            }
        }
        match self.peek(0) {
            None | Some('\r' | '\n') => Token::Ends,
            Some(_) => self.fail("did not find expected comment or line break"),
        }
    }

    fn plain_start(&self, c: char, next: Option<char>) -> bool {
        let indicator = matches!(
            c,
            '-' | '?'
                | ':'
                | ','
                | '['
                | ']'
                | '{'
                | '}'
                | '#'
                | '&'
                | '*'
                | '!'
                | '|'
                | '>'
                | '\''
                | '"'
                | '%'
                | '@'
                | '`'
        );
        !(blankz(Some(c)) || indicator)
            || (c == '-' && !blankz(next))
            || (self.flow == 0 && matches!(c, '?' | ':') && !blankz(next))
    }

    /// A plain scalar, up to its line's end, a `: `, a comment or (in a
    /// flow collection) a flow indicator.
    fn plain(&mut self) {
        let flow = self.flow > 0;
        while let Some(c) = self.peek(0) {
            let next = self.peek(1);
            let ends = match c {
                '\r' | '\n' => true,
                ':' => blankz(next) || (flow && matches!(next, Some(',' | '[' | ']' | '{' | '}'))),
                ' ' | '\t' => next == Some('#'),
                ',' | '[' | ']' | '{' | '}' | '?' => flow,
                _ => false,
            };
            if ends {
                // The blank before a comment is left for skip_to_token.
                return;
            }
            self.bump();
        }
    }

    /// A quoted scalar: libyaml reads it whole, and one that does not
    /// close ends the stream where a quote was wanted.
    fn quoted(&mut self, quote: char) -> Token {
        self.bump();
        loop {
            match self.peek(0) {
                None => {
                    // At the stream's end, on its last line.
                    let line = self.text.matches('\n').count();
                    let problem = "found unexpected end of stream";
                    return Token::Fails(YamlError::go(
                        line + 1,
                        1,
                        problem,
                        (line != 0).then_some(line + 1),
                    ));
                }
                Some('\'') if quote == '\'' && self.peek(1) == Some('\'') => {
                    self.bump();
                    self.bump();
                }
                Some('\\') if quote == '"' => {
                    self.bump();
                    self.bump();
                }
                Some(c) if c == quote => {
                    self.bump();
                    self.allowed = false;
                    return Token::Read {
                        ends_key: false,
                        can_key: true,
                    };
                }
                Some(_) => self.bump(),
            }
        }
    }
}
