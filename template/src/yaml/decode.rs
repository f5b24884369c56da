//! YAML → values, the way Helm reads YAML: sigs.k8s.io/yaml's `Unmarshal`,
//! i.e. go-yaml v2 decodes the first document (YAML 1.1 typing, merge keys,
//! aliases as copies), keys are turned into strings, and the result goes
//! through JSON, so every number ends up a float64.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::rc::Rc;

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, StructureStyle};

use super::YamlError;
use super::lookahead::{self, After};
use super::resolve::{Resolved, resolve};
use super::tabs::{self, Kind as TabKind, Tokens};
use super::tokens::{self, Token};
use crate::value::{Map, Value};

/// A parsed YAML node (before typing).
enum Node {
    Scalar {
        value: String,
        style: ScalarStyle,
        tag: Option<(String, String)>,
        line: usize,
        col: usize,
    },
    /// Items, and the line the sequence starts on.
    Seq(Vec<Rc<Node>>, usize),
    Map(Vec<(Rc<Node>, Rc<Node>)>, usize, usize),
    /// `*name`: the anchored node, shared rather than copied, so that
    /// decoding can count what aliases expand to.
    Alias(Rc<Node>),
}

impl Node {
    /// The node an alias stands for (the node itself otherwise).
    fn target(&self) -> &Node {
        match self {
            Node::Alias(n) => n.target(),
            n => n,
        }
    }
}

/// go-yaml v2's decoded value (`interface{}` with `map[interface{}]interface{}`).
#[derive(Clone, Debug)]
enum Y {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<(Y, Y)>),
}

/// A collection being read.
struct Open {
    items: Vec<Rc<Node>>,
    shape: Shape,
    anchor: usize,
    line: usize,
    col: usize,
    /// Its char index in the text.
    start: usize,
}

/// The kinds of collection libyaml's parser tells apart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    BlockSeq,
    BlockMap,
    FlowSeq,
    FlowMap,
    /// A `k: v` in a flow sequence: a mapping of one pair, no braces.
    FlowPair,
}

impl Open {
    fn is_map(&self) -> bool {
        matches!(
            self.shape,
            Shape::BlockMap | Shape::FlowMap | Shape::FlowPair
        )
    }

    fn is_flow(&self) -> bool {
        matches!(
            self.shape,
            Shape::FlowSeq | Shape::FlowMap | Shape::FlowPair
        )
    }

    /// Whether the next node is a mapping key.
    fn wants_key(&self) -> bool {
        self.is_map() && self.items.len().is_multiple_of(2)
    }
}

/// How deeply collections may nest (go-yaml allows 10000; values files
/// never come close, and each level costs stack in the decoder).
pub const MAX_DEPTH: usize = 1000;

const CORE: &str = "tag:yaml.org,2002:";

/// Parses the first document of `text` into a tree. `Ok(None)` for no document.
///
/// libyaml reads a `-` right before `,`, `[`, `]`, `{` or `}` as the plain
/// scalar "-" (`[-, a]`, `{k: -}`), which granit-parser refuses; such a dash
/// is quoted and the text parsed again (a plain `-` resolves to the string
/// "-" anyway).
fn parse_tree(text: &str) -> Result<Option<Rc<Node>>, YamlError> {
    if let Some(e) = control_character(text) {
        return Err(e);
    }
    if let Some(e) = document_end_first(text) {
        return Err(e);
    }
    let mut text = std::borrow::Cow::Borrowed(text);
    loop {
        // A token libyaml's scanner ends before granit-parser's does (an
        // anchor's name, a flow collection's `:`), or refuses.
        let refused = match tokens::first_difference(&text) {
            Some(Token::Split { at, len, with }) => {
                text.to_mut().replace_range(at..at + len, &with);
                continue;
            }
            Some(Token::Fails {
                error,
                at,
                line,
                column,
            }) => Some((error, at, (line, column))),
            None => None,
        };
        let mut tokens = Tokens::default();
        match parse_tree_once(&text, true, &mut tokens) {
            Err(Failed::Reread { at, with }) => {
                let mut changed = text.into_owned();
                changed.replace_range(at..at + 1, with);
                text = std::borrow::Cow::Owned(changed);
            }
            Err(Failed::Unclosed(e)) => {
                let e = failed_before_the_end(&text).unwrap_or(e);
                let e = block_indent_tab_first(&text, &tokens, e);
                return Err(first_of(refused.map(|(r, _, at)| (r, at)), e));
            }
            Err(Failed::Yaml(e)) => {
                let e = block_indent_tab_first(&text, &tokens, e);
                return Err(first_of(refused.map(|(r, _, at)| (r, at)), e));
            }
            Ok(tree) => {
                // Only an anchor libyaml reaches: in the first document,
                // before a root that ends at its own quote or bracket.
                let read_to = match &tree {
                    Some((_, span)) if span.closed => Some(span.end),
                    _ => tokens.doc_end,
                };
                let refused = refused
                    .filter(|&(_, at, _)| read_to.is_none_or(|end| at < end))
                    .map(|(r, _, at)| (r, at));
                // Tabs libyaml's scanner refuses and granit-parser takes.
                return match (refused, tabs::refused_tab(&text, &tokens)) {
                    (None, None) => Ok(tree.map(|(root, _)| root)),
                    (Some((r, _)), None) => Err(r),
                    (r, Some(t)) => Err(first_of(r, t)),
                };
            }
        }
    }
}

/// The error libyaml meets first: `e`, or the refused anchor `r` when
/// its token starts (1-based line and column) before `e` or at it.
fn first_of(r: Option<(YamlError, (usize, usize))>, e: YamlError) -> YamlError {
    match r {
        Some((r, at)) if at <= (e.line, e.column) => r,
        _ => e,
    }
}

/// `e`, or a tab libyaml refuses in a block scalar's indentation before
/// where granit-parser gave up: granit-parser may take it as content and
/// fail further on (`>`, ``, `\t`, `  x`: "did not find expected key" at
/// the `x`).
fn block_indent_tab_first(text: &str, tokens: &Tokens, e: YamlError) -> YamlError {
    match tabs::refused_tab(text, tokens) {
        Some(t) if t.message == tabs::BLOCK_INDENT && (t.line, t.column) <= (e.line, e.column) => t,
        _ => e,
    }
}

/// A flow collection left open at the end of `text`: granit-parser's
/// scanner reaches the end first and reports it there, where libyaml's
/// parser may have stopped before, at a node where the collection wants a
/// `,` or its end (`[a [`: libyaml fails at the second `[`). That error,
/// read from the text with its collections closed, if it comes before the
/// end.
fn failed_before_the_end(text: &str) -> Option<YamlError> {
    let last_line = text.rsplit('\n').next().unwrap_or("");
    let lines = text.split('\n').count();
    let open = open_brackets(text, lines, usize::MAX);
    if open.is_empty() {
        return None;
    }
    // On a line of their own, after any comment.
    let closers = std::iter::once('\n').chain(open.iter().rev().copied());
    let closed: String = text.chars().chain(closers).collect();
    let end = (lines, last_line.chars().count() + 1);
    // Only that error: granit-parser's scanner may meet others on the way
    // that libyaml's leaves to its parser.
    match parse_tree_once(&closed, true, &mut Tokens::default()) {
        Err(Failed::Yaml(e) | Failed::Unclosed(e))
            if (e.line, e.column) < end && e.message.starts_with("did not find expected ','") =>
        {
            Some(e)
        }
        _ => None,
    }
}

/// libyaml's reader refuses characters outside YAML's printable set
/// (`yaml_parser_update_buffer`), before the scanner sees them, and
/// without a line: `yaml: control characters are not allowed`.
fn control_character(text: &str) -> Option<YamlError> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
            || c >= '\u{10000}'
    };
    let (at, _) = text.char_indices().find(|&(_, c)| !printable(c))?;
    let line = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    Some(YamlError::go(
        line,
        col,
        "control characters are not allowed",
        None,
    ))
}

/// A document that starts, with no `---`, at a `...` line: libyaml skips
/// extra document ends only after an explicit document, so its first
/// implicit one finds a document end where a node belongs (`yaml: did not
/// find expected node content`, with go-yaml's parser-error line: the
/// 0-based one, left out when 0). Only blank and comment lines may come
/// before it.
fn document_end_first(text: &str) -> Option<YamlError> {
    for (l0, line) in text.split('\n').enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed == "\r" || trimmed.starts_with('#') {
            continue;
        }
        let end_marker = line
            .strip_prefix("...")
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r']));
        return end_marker.then(|| {
            YamlError::go(
                l0 + 1,
                1,
                "did not find expected node content",
                (l0 > 0).then_some(l0),
            )
        });
    }
    None
}

/// The closing bracket of the innermost flow collection open at 1-based
/// `line`, 0-based column `col0` (quotes and comments aside), if any.
fn open_flow(text: &str, line: usize, col0: usize) -> Option<char> {
    open_brackets(text, line, col0).last().copied()
}

/// The closing brackets of the flow collections open at 1-based `line`,
/// 0-based column `col0` (quotes and comments aside), the innermost last.
fn open_brackets(text: &str, line: usize, col0: usize) -> Vec<char> {
    let mut stack = Vec::new();
    for (i, l) in text.lines().enumerate().take(line) {
        let l = if i + 1 == line {
            l.chars().take(col0).collect::<String>()
        } else {
            l.to_string()
        };
        let mut quote = None;
        // A quote opens a scalar, a `#` a comment, only where a token
        // starts (`it's`, `a#b` are plain).
        let mut prev = ' ';
        let mut chars = l.chars();
        while let Some(c) = chars.next() {
            let token_start = matches!(prev, ' ' | '\t' | '[' | '{' | ',' | ':');
            match (quote, c) {
                (Some('"'), '\\') => {
                    chars.next();
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if token_start => quote = Some(c),
                (None, '#') if matches!(prev, ' ' | '\t') => break,
                (None, '[') => stack.push(']'),
                (None, '{') => stack.push('}'),
                (None, ']' | '}') => {
                    stack.pop();
                }
                _ => {}
            }
            prev = c;
        }
    }
    stack
}

/// Why [`parse_tree_once`] stopped.
enum Failed {
    Yaml(YamlError),
    /// The text ends in a flow collection (granit-parser's "unclosed
    /// bracket"), worded as libyaml words it there.
    Unclosed(YamlError),
    /// The text is to be read again with the ASCII character at byte
    /// offset `at` replaced: a plain `-` before a flow indicator, quoted.
    Reread {
        at: usize,
        with: &'static str,
    },
}

impl From<YamlError> for Failed {
    fn from(e: YamlError) -> Failed {
        Failed::Yaml(e)
    }
}

/// Where a document's root node lies (char indices), and whether its last
/// token is its own closing quote or bracket, which ends it for libyaml
/// whatever follows.
#[derive(Clone, Copy)]
struct RootSpan {
    start: usize,
    end: usize,
    closed: bool,
}

/// [`parse_tree`] once. `whole`: the text is the reader's, not a head of
/// it read again to find where its first document's root ends.
/// `tokens` gets the tokens read, for [`tabs::refused_tab`].
fn parse_tree_once(
    text: &str,
    whole: bool,
    tokens: &mut Tokens,
) -> Result<Option<(Rc<Node>, RootSpan)>, Failed> {
    // No limit on the comments read ahead (96 by default): libyaml has
    // none, and values files comment out long blocks between a key and
    // its value (opentelemetry-demo's `components:`).
    let options = granit_parser::options! {
        block_scalar_eof_without_line_feed: true,
        block_nesting_limit: MAX_DEPTH,
        flow_nesting_limit: MAX_DEPTH,
        max_buffered_comment_events: usize::MAX,
    };
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root: Option<Rc<Node>> = None;
    let mut root_span: Option<RootSpan> = None;
    let mut in_doc = false;
    let mut self_alias: Option<YamlError> = None;
    let mut offsets = CharOffsets::new(text);
    // Where the last event but a comment ended (a char index).
    let mut last_end = 0;
    let mut directives = BadDirectives::new(text);
    while let Some(ev) = parser.next_event() {
        let (event, span) = match ev {
            Ok(ok) => ok,
            Err(e) => {
                if let Some(d) = directives.reached(e.marker().index() + 1) {
                    return Err(d.into());
                }
                // libyaml ends a plain scalar at a comment (YAML 1.2 wants
                // no more of it after one): a document's root ends there,
                // and go-yaml reads the first document only, scanning just
                // the next token.
                if e.info() == "comment intercepting the multiline text"
                    && stack.is_empty()
                    && root.is_some()
                {
                    let l0 = next_token_line(text, e.marker().line());
                    let next = text.lines().nth(l0).unwrap_or("").trim_start();
                    if next.starts_with(['@', '`']) {
                        let problem = "found character that cannot start any token";
                        return Err(YamlError::go(l0 + 1, 1, problem, Some(l0 + 1)).into());
                    }
                    return Ok(root.zip(root_span));
                }
                // A `%YAML` or `%TAG` directive after a document's root
                // ends it for libyaml (its scanner unrolls every block
                // collection at a `%` in column 0), and go-yaml reads no
                // further; YAML 1.2 wants a `...` before it.
                if matches!(e.kind(), ErrorKind::MissingDocumentEndBeforeDirective)
                    && stack.is_empty()
                    && root.is_some()
                {
                    return Ok(root.zip(root_span));
                }
                // granit-parser refuses what follows a root node that
                // libyaml has ended (`'a' 'b'`, `{a: 1} ]`), often before
                // giving the root: read it from the text before the error.
                if whole && stack.is_empty() {
                    let read = match root.clone().zip(root_span) {
                        Some(r) => Some(r),
                        None => {
                            let head = &text[..offsets.byte_offset(e.marker().index())];
                            parse_tree_once(head, false, &mut Tokens::default())
                                .ok()
                                .flatten()
                        }
                    };
                    if let Some((node, span)) = read.filter(|(_, span)| span.closed) {
                        match lookahead::after_root(text, span.start, span.end) {
                            After::Ends => return Ok(Some((node, span))),
                            After::Fails(e) => return Err(e.into()),
                            After::Keyed => {}
                        }
                    }
                }
                if matches!(e.kind(), ErrorKind::PlainScalarStartsWithDashFlowIndicator)
                    && let Some((at, '-')) = text.char_indices().nth(e.marker().index())
                {
                    return Err(Failed::Reread { at, with: "\"-\"" });
                }
                if matches!(e.kind(), ErrorKind::FlowMappingValueAdjacentCollection)
                    && let Some((at, ':')) = text.char_indices().nth(e.marker().index())
                {
                    return Err(colon_before_collection(text, at));
                }
                if matches!(e.kind(), ErrorKind::UnexpectedEofImplicitFlowMapping)
                    && stack.len() >= 2
                    && stack[stack.len() - 2].shape == Shape::FlowSeq
                    && let Some(f) = empty_key_value(text, offsets.byte_offset(e.marker().index()))
                {
                    return Err(f);
                }
                let m = e.marker();
                let err = go_yaml_error(text, &e.info(), m.line(), m.col(), &stack);
                if e.info().starts_with("unclosed bracket") {
                    return Err(Failed::Unclosed(err));
                }
                return Err(err.into());
            }
        };
        if let Some(d) = directives.reached(span.start.index()) {
            return Err(d.into());
        }
        let (line, col) = (span.start.line(), span.start.col() + 1);
        // Where the node this event completes starts, and whether its
        // last token is its own closing quote or bracket.
        let mut node_start = (span.start.index(), false);
        let before = last_end;
        if !matches!(event, Event::Comment(..)) {
            last_end = span.end.index();
        }
        if matches!(event, Event::Alias(_)) {
            let alias = (span.start.index(), span.end.index(), TabKind::Other);
            tokens.spans.push(alias);
        }
        let node = match event {
            Event::DocumentStart(..) => {
                in_doc = true;
                continue;
            }
            Event::DocumentEnd => {
                if !in_doc {
                    continue;
                }
                tokens.doc_end.get_or_insert(span.start.index());
                // libyaml's parser peeks at the token after the root
                // before it ends the document: its scanner's error shows.
                if let Some(span) = root_span.filter(|s| s.closed && whole)
                    && let After::Fails(e) = lookahead::after_root(text, span.start, span.end)
                {
                    return Err(e.into());
                }
                break;
            }
            Event::StreamStart | Event::StreamEnd => continue,
            Event::Scalar(value, style, anchor, tag) => {
                directives.skip_within(span.end.index());
                if style == ScalarStyle::DoubleQuoted
                    && let Some(e) = offsets.v2_escape_error(span.start.index(), span.end.index())
                {
                    return Err(e.into());
                }
                if style == ScalarStyle::Plain
                    && let Some(top) = stack.last().filter(|o| o.is_flow())
                    && let Some(f) = flow_question_mark(
                        text,
                        offsets.byte_offset(span.start.index()),
                        offsets.slice(span.start.index(), span.end.index()),
                        top,
                        anchor != 0 || tag.is_some(),
                    )
                {
                    return Err(f);
                }
                if stack.last().is_some_and(Open::wants_key)
                    && style == ScalarStyle::Plain
                    && anchor == 0
                    && tag.is_none()
                    && span.start.index() == span.end.index()
                    && let Some(e) = empty_implicit_key(
                        &mut offsets,
                        (before, span.start.index()),
                        stack.last().is_some_and(Open::is_flow),
                        line,
                        col,
                    )
                {
                    return Err(e.into());
                }
                if stack
                    .last()
                    .is_some_and(|o| o.shape == Shape::FlowMap && o.wants_key())
                    && let Some(f) = multi_line_flow_key(
                        text,
                        offsets.byte_offset(span.start.index()),
                        offsets.byte_offset(span.end.index()),
                    )
                {
                    return Err(f);
                }
                node_start.1 =
                    matches!(style, ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted);
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded) {
                    // Its span starts at its content: from its header on.
                    let start = offsets.byte_offset(span.start.index());
                    let header = text[..start].rfind(['|', '>']).unwrap_or(start);
                    let header = text[..header].chars().count();
                    let kind = TabKind::Block(span.start.index(), span.start.col());
                    tokens.spans.push((header, span.end.index(), kind));
                } else if span.start.index() < span.end.index() {
                    let kind = match stack.last() {
                        _ if style != ScalarStyle::Plain => TabKind::Shielded,
                        Some(o) if o.is_flow() => TabKind::Shielded,
                        Some(o) => TabKind::Plain(o.col),
                        None => TabKind::Plain(0),
                    };
                    tokens
                        .spans
                        .push((span.start.index(), span.end.index(), kind));
                }
                let tag = tag.map(|t| (t.handle().to_string(), t.suffix().to_string()));
                let n = Rc::new(Node::Scalar {
                    value: value.into_owned(),
                    style,
                    tag,
                    line,
                    col,
                });
                if anchor != 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(n) => Rc::new(Node::Alias(n.clone())),
                // An alias inside the node its anchor names: go-yaml fails
                // when it decodes it, so only once the whole document has
                // parsed (a syntax error further on comes first).
                None if stack.iter().any(|open| open.anchor == id) => {
                    if self_alias.is_none() {
                        let name = anchor_name_at(text, line, col - 1);
                        self_alias = Some(err_at(
                            0,
                            0,
                            format!("anchor '{name}' value contains itself"),
                        ));
                    }
                    Rc::new(Node::Scalar {
                        value: String::new(),
                        style: ScalarStyle::Plain,
                        tag: None,
                        line,
                        col,
                    })
                }
                None => {
                    let name = anchor_name_at(text, line, col - 1);
                    return Err(YamlError::go(
                        line,
                        col,
                        format!("unknown anchor '{name}' referenced"),
                        None,
                    )
                    .into());
                }
            },
            Event::SequenceStart(style, anchor, _) | Event::MappingStart(style, anchor, _) => {
                let shape = match (event, style) {
                    (Event::SequenceStart(..), StructureStyle::Block) => Shape::BlockSeq,
                    (Event::SequenceStart(..), StructureStyle::Flow) => Shape::FlowSeq,
                    (_, StructureStyle::Block) => Shape::BlockMap,
                    // A pair's mapping has no `{` for its span to cover
                    // (nothing, or its `?`).
                    (_, StructureStyle::Flow)
                        if !offsets
                            .slice(span.start.index(), span.end.index())
                            .starts_with('{') =>
                    {
                        Shape::FlowPair
                    }
                    (_, StructureStyle::Flow) => Shape::FlowMap,
                };
                // A root mapping that opens with a flow collection go-yaml
                // v2's scanner has forgotten as a simple key once it closed
                // (`[]: b`, `[] a: b`): its parser takes the collection as
                // the root and peeks at the one token after it
                // (lookahead::forgotten_key_end).
                if whole
                    && shape == Shape::BlockMap
                    && stack.is_empty()
                    && let Some(end) =
                        lookahead::forgotten_key_end(text, offsets.byte_offset(span.start.index()))
                    && let Ok(Some((node, root))) =
                        parse_tree_once(&text[..end], false, &mut Tokens::default())
                {
                    match lookahead::after_root(text, root.start, root.end) {
                        After::Ends => return Ok(Some((node, root))),
                        After::Fails(e) => return Err(e.into()),
                        After::Keyed => {}
                    }
                }
                if shape == Shape::FlowPair
                    && offsets.slice(span.start.index(), span.end.index()) == "?"
                    && let Some(f) =
                        after_sequence_key(text, offsets.byte_offset(span.start.index()))
                {
                    return Err(f);
                }
                stack.push(Open {
                    items: Vec::new(),
                    shape,
                    anchor,
                    line,
                    col,
                    start: span.start.index(),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else {
                    continue;
                };
                node_start = (open.start, open.is_flow());
                if open.is_flow() {
                    tokens
                        .spans
                        .push((open.start, span.end.index(), TabKind::Shielded));
                }
                let n = if open.is_map() {
                    let mut pairs = Vec::new();
                    let mut it = open.items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        pairs.push((k, v));
                    }
                    Rc::new(Node::Map(pairs, open.line, open.col))
                } else {
                    Rc::new(Node::Seq(open.items, open.line))
                };
                if open.anchor != 0 {
                    anchors.insert(open.anchor, n.clone());
                }
                n
            }
            _ => continue,
        };
        match stack.last_mut() {
            Some(top) => top.items.push(node),
            None => {
                root = Some(node);
                root_span = Some(RootSpan {
                    start: node_start.0,
                    end: span.end.index(),
                    closed: node_start.1,
                });
            }
        }
    }
    match self_alias {
        Some(e) => Err(e.into()),
        None => Ok(root.zip(root_span)),
    }
}

/// The lines libyaml's scanner takes for a directive it refuses, in
/// order: a `%` in column 0 starts a directive wherever it is (but inside
/// a scalar), and only `%YAML` and `%TAG` are known, where YAML 1.2 and
/// granit-parser ignore other directives and read a `%` in a document as
/// content. libyaml's error comes when its scanner reaches the line: after
/// any error before it, instead of any at or after it.
struct BadDirectives {
    /// Each line's char index and its error, the next one last.
    pending: Vec<(usize, YamlError)>,
}

impl BadDirectives {
    fn new(text: &str) -> BadDirectives {
        let mut pending = Vec::new();
        if !text.starts_with('%') && !text.contains("\n%") {
            return BadDirectives { pending };
        }
        let mut at = 0;
        for (l0, line) in text.split('\n').enumerate() {
            if let Some(rest) = line.strip_prefix('%')
                && let Some(problem) = directive_problem(rest)
            {
                let go_line = (l0 != 0).then_some(l0 + 1);
                pending.push((at, YamlError::go(l0 + 1, 1, problem, go_line)));
            }
            at += line.chars().count() + 1;
        }
        pending.reverse();
        BadDirectives { pending }
    }

    /// The error of the first directive before char index `at`, where the
    /// parser has got to.
    fn reached(&mut self, at: usize) -> Option<YamlError> {
        match self.pending.last() {
            Some((line, _)) if *line < at => self.pending.pop().map(|(_, e)| e),
            _ => None,
        }
    }

    /// Drops the `%` lines before char index `end`, a scalar's end: they
    /// are its content.
    fn skip_within(&mut self, end: usize) {
        while self.pending.last().is_some_and(|(line, _)| *line < end) {
            self.pending.pop();
        }
    }
}

/// An explicit key left empty in a flow sequence (`[? : v]`, at byte
/// offset `at` of its `:`): libyaml's parser skips the token after the `?`
/// when it is a `:` (`yaml_parser_parse_flow_sequence_entry_mapping_key`
/// reads the empty key and drops the token), so the pair has no value and
/// `v` stands where the sequence wants `,` or `]` (`did not find expected
/// ',' or ']'` at its line). Before a `,` or `]` the pair is a null key and
/// value, read again with a null key in the `:`'s place (a blank there
/// would leave a `?` before a `,`, see [`after_sequence_key`]);
/// granit-parser refuses either.
fn empty_key_value(text: &str, at: usize) -> Option<Failed> {
    let explicit = text[..at]
        .trim_end_matches([' ', '\t', '\r', '\n'])
        .ends_with('?');
    if !explicit || !text[at..].starts_with(':') {
        return None;
    }
    let next = next_token_at(text, at + 1);
    if text[next..].starts_with([',', ']']) {
        return Some(Failed::Reread { at, with: "~" });
    }
    Some(parser_error_at(
        text,
        next,
        "did not find expected ',' or ']'",
    ))
}

/// A `?` in a plain scalar in a flow collection (`raw`, at byte offset
/// `at`; `decorated`: with an anchor or a tag), which YAML 1.2 and
/// granit-parser read as the scalar's: libyaml (as go-yaml v2 has it)
/// takes any `?` in a flow collection for a key indicator, and ends a
/// plain scalar there. After a node (the scalar's text before it, or the
/// empty node an anchor or tag makes) the collection wants its `,` or end
/// (`[a?b]`, `{a: b?}`); where an entry starts it opens a pair, read again
/// with a blank after it (`{?x: 1}` is `{x: 1}`); where a value belongs it
/// is no node (`{a: ?x}`). `top`: the collection the scalar is in.
fn flow_question_mark(
    text: &str,
    at: usize,
    raw: &str,
    top: &Open,
    decorated: bool,
) -> Option<Failed> {
    let q = at + raw.find('?')?;
    if q > at || decorated {
        let close = if top.shape == Shape::FlowMap {
            '}'
        } else {
            ']'
        };
        let problem = format!("did not find expected ',' or '{close}'");
        return Some(parser_error_at(text, q, &problem));
    }
    if top.shape == Shape::FlowSeq {
        return after_sequence_key(text, q).or(Some(Failed::Reread { at: q, with: "? " }));
    }
    if top.wants_key() {
        return Some(Failed::Reread { at: q, with: "? " });
    }
    Some(parser_error_at(
        text,
        q,
        "did not find expected node content",
    ))
}

/// A flow mapping's implicit key on more than one line (the scalar from
/// byte offset `start` to `end`), with its `:` after it: libyaml's scanner
/// keeps a simple key to one line, so that scalar is a key with no value,
/// and the `:` stands where the mapping wants its `,` or `}` (`{"a\n b":
/// c}`; granit-parser reads the pair). A flow sequence's pair fails as
/// libyaml's does already; an explicit key (`? `) may take lines.
fn multi_line_flow_key(text: &str, start: usize, end: usize) -> Option<Failed> {
    let explicit = last_token_char(&text[..start]) == Some('?');
    if explicit || !text[start..end].contains('\n') {
        return None;
    }
    let next = next_token_at(text, end);
    text[next..]
        .starts_with(':')
        .then(|| parser_error_at(text, next, "did not find expected ',' or '}'"))
}

/// A key indicator `?` (at byte offset `q`) opening a pair in a flow
/// sequence, followed by a `,` or `]`: libyaml's parser reads an empty key
/// there and drops that token (`yaml_parser_parse_flow_sequence_entry_mapping_key`
/// skips it), so the pair ends at the token after it, which must be a `,`
/// or `]` (`[?]` and `[? , a]` fail, `[?, ]` is `[{~: ~}]`), or the
/// pair's `:`. That is read again with a null key in the dropped token's
/// place. A dropped `]` still closes a collection for libyaml's scanner,
/// which reads what follows one level out, where a plain scalar takes in
/// `,` and `]`: the sequence is left open and fails at the stream's end
/// (`[[?]]`, `[? ], a]`). `None` when no `,` or `]` follows the `?`.
fn after_sequence_key(text: &str, q: usize) -> Option<Failed> {
    let dropped = next_token_at(text, q + 1);
    if !text[dropped..].starts_with([',', ']']) {
        return None;
    }
    let next = next_token_at(text, dropped + 1);
    let problem = "did not find expected ',' or ']'";
    Some(match text[next..].chars().next() {
        Some(',' | ']' | ':') if text[dropped..].starts_with(',') => Failed::Reread {
            at: dropped,
            with: " ~",
        },
        Some(',' | ']') => parser_error_at(text, text.len(), problem),
        _ => parser_error_at(text, next, problem),
    })
}

/// The byte offset of the first token at or after byte offset `from`
/// (blanks, line breaks and comments skipped), or the text's length.
fn next_token_at(text: &str, from: usize) -> usize {
    let mut at = from;
    loop {
        let rest = &text[at..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
        at += rest.len() - trimmed.len();
        if !trimmed.starts_with('#') {
            return at;
        }
        at += trimmed.find('\n').unwrap_or(trimmed.len());
    }
}

/// libyaml's parser error at the token at byte offset `at` (its stream
/// end when `at` is the text's length, on the line after the last), with
/// go-yaml's parser-error line: the 0-based one, left out when 0.
fn parser_error_at(text: &str, at: usize, problem: &str) -> Failed {
    let l0 = if at == text.len() {
        text.matches('\n').count() + usize::from(!text.is_empty() && !text.ends_with('\n'))
    } else {
        text[..at].matches('\n').count()
    };
    let col = text[..at].rsplit('\n').next().unwrap_or("").chars().count() + 1;
    YamlError::go(l0 + 1, col, problem, (l0 > 0).then_some(l0)).into()
}

/// A `:` right before a `[` or `{` in a flow collection (at byte offset
/// `at`), which YAML 1.2 and granit-parser refuse after anything but a
/// quoted scalar or a collection (`[a:[1]]`). libyaml (as go-yaml v2 has
/// it) ends a plain scalar in a flow collection only at a `: ` or a flow
/// indicator, so after one (`a:[`, `a :[`, across lines too) the `:` is
/// the scalar's, and the bracket stands where the collection wants its
/// `,` or end (`did not find expected ',' or ']'`, its line). A `:` that
/// starts a token is a value indicator: right after `[`, `{`, `,` or
/// another one no node stands before it (`did not find expected node
/// content`); after an anchor, a tag, an alias or a `?` it gives them
/// their value, read again with a blank after it.
fn colon_before_collection(text: &str, at: usize) -> Failed {
    let before = text[..at].trim_end_matches([' ', '\t', '\r', '\n']);
    let word = before
        .rfind([' ', '\t', '\r', '\n', '[', ']', '{', '}', ','])
        .map_or(before, |i| &before[i + 1..]);
    // A `:` with a blank after it is an indicator, whatever comes before.
    let after_indicator = before.ends_with(':') && before.len() < at;
    match word {
        "" | ":" => parser_error_at(text, at, "did not find expected node content"),
        _ if after_indicator => parser_error_at(text, at, "did not find expected node content"),
        "?" => Failed::Reread { at, with: ": " },
        w if w.starts_with(['&', '!', '*']) => Failed::Reread { at, with: ": " },
        _ => {
            let l0 = text[..at].matches('\n').count();
            let col0 = text[..at].rsplit('\n').next().unwrap_or("").chars().count();
            let close = open_flow(text, l0 + 1, col0).unwrap_or(']');
            parser_error_at(
                text,
                at + 1,
                &format!("did not find expected ',' or '{close}'"),
            )
        }
    }
}

/// libyaml's scanner error for a directive's name (`rest`: its line after
/// the `%`), if any: it knows `%YAML` and `%TAG` only.
pub(super) fn directive_problem(rest: &str) -> Option<&'static str> {
    let name_len = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    let (name, after) = rest.split_at(name_len);
    if name.is_empty() {
        Some("could not find expected directive name")
    } else if !(after.is_empty() || after.starts_with([' ', '\t', '\r'])) {
        Some("found unexpected non-alphabetical character")
    } else if name != "YAML" && name != "TAG" {
        Some("found unknown directive name")
    } else {
        None
    }
}

/// A mapping key that is nothing but its `:` (`: v`, `a: 1` then `  : v`,
/// `{: v}`): YAML 1.2 and granit-parser read a null key, libyaml has no
/// empty implicit key. Its parser finds the `:` where a key belongs (`did
/// not find expected key`; in a flow collection, where a node belongs:
/// `did not find expected node content`), with go-yaml's parser-error line
/// (0-based, left out when 0). An explicit key (`?` then `: v`) may be
/// empty; so may a key that is only an anchor or a tag (`&a : v`), which
/// the caller leaves out. `gap` is the char range from the last event's
/// end to the key's (empty) span, where a `?` would be.
fn empty_implicit_key(
    offsets: &mut CharOffsets,
    gap: (usize, usize),
    flow: bool,
    line: usize,
    col: usize,
) -> Option<YamlError> {
    let between = offsets.slice(gap.0, gap.1);
    // Nothing but separation, comments and indicators lies between two
    // events: a `#` there starts a comment.
    let explicit = between
        .lines()
        .any(|l| l.split('#').next().unwrap_or("").contains('?'));
    let at = offsets.byte_offset(gap.1);
    if explicit || !offsets.text[at..].starts_with(':') {
        return None;
    }
    let problem = if flow {
        "did not find expected node content"
    } else {
        "did not find expected key"
    };
    let l0 = line - 1;
    Some(YamlError::go(line, col, problem, (l0 > 0).then_some(l0)))
}

/// Byte offsets of the char indices granit-parser's spans give. Spans
/// come in order, so finding the next one starts from the last.
struct CharOffsets<'a> {
    text: &'a str,
    /// A char index and its byte offset in `text`.
    at: (usize, usize),
}

impl<'a> CharOffsets<'a> {
    fn new(text: &'a str) -> Self {
        CharOffsets { text, at: (0, 0) }
    }

    fn byte_offset(&mut self, char_index: usize) -> usize {
        if char_index < self.at.0 {
            self.at = (0, 0);
        }
        let (ci, bi) = self.at;
        let off = self.text[bi..]
            .char_indices()
            .nth(char_index - ci)
            .map_or(self.text.len(), |(b, _)| bi + b);
        self.at = (char_index, off);
        off
    }

    /// The text between char indices `start` and `end`.
    fn slice(&mut self, start: usize, end: usize) -> &'a str {
        let from = self.byte_offset(start);
        let to = self.byte_offset(end).max(from);
        &self.text[from..to]
    }

    /// The escapes of double-quoted scalars that YAML 1.2 (granit-parser)
    /// reads but libyaml in go-yaml v2 refuses: `\/` ("found unknown
    /// escape character") and `\u`/`\U` codes of a surrogate or beyond
    /// U+10FFFF ("found invalid Unicode character escape code"; no
    /// surrogate pairs). The error for the double-quoted scalar between
    /// char indices `start` and `end`.
    fn v2_escape_error(&mut self, start: usize, end: usize) -> Option<YamlError> {
        let from = self.byte_offset(start);
        let raw = self.slice(start, end);
        if !raw.contains('\\') {
            return None;
        }
        let mut chars = raw.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if c != '\\' {
                continue;
            }
            let problem = match chars.next() {
                Some((_, '/')) => "found unknown escape character",
                Some((_, e @ ('u' | 'U'))) => {
                    let len = if e == 'u' { 4 } else { 8 };
                    let mut code = 0u32;
                    for _ in 0..len {
                        match chars.peek().and_then(|(_, h)| h.to_digit(16)) {
                            Some(d) => {
                                code = code.saturating_mul(16).saturating_add(d);
                                chars.next();
                            }
                            // Not hex: granit-parser reports it.
                            None => return None,
                        }
                    }
                    if (0xD800..=0xDFFF).contains(&code) || code > 0x10FFFF {
                        "found invalid Unicode character escape code"
                    } else {
                        continue;
                    }
                }
                _ => continue,
            };
            // libyaml's mark is on the escape's line; line 1 goes unnamed.
            let before = &self.text[..from + i];
            let l0 = before.matches('\n').count();
            let col = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            return Some(YamlError::go(
                l0 + 1,
                col,
                problem,
                (l0 != 0).then_some(l0 + 1),
            ));
        }
        None
    }
}

/// go-yaml v2's guard against alias bombs ("billion laughs", decode.go
/// `allowedAliasRatio`): once more than 100 of over 1000 decoded nodes came
/// from expanding aliases, their share may not exceed 99% (documents up to
/// 400 000 nodes), falling to 10% at 4 000 000 nodes. That caps the nodes
/// aliases can add at about 400 000 whatever the document.
struct Decoder {
    decode_count: usize,
    alias_count: usize,
    alias_depth: usize,
    /// go-yaml v2's strict mode: the repeated keys met so far.
    strict: Option<Vec<String>>,
}

const ALIAS_RATIO_RANGE_LOW: usize = 400_000;
const ALIAS_RATIO_RANGE_HIGH: usize = 4_000_000;

fn allowed_alias_ratio(decode_count: usize) -> f64 {
    if decode_count <= ALIAS_RATIO_RANGE_LOW {
        0.99
    } else if decode_count >= ALIAS_RATIO_RANGE_HIGH {
        0.10
    } else {
        0.99 - 0.89
            * ((decode_count - ALIAS_RATIO_RANGE_LOW) as f64
                / (ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW) as f64)
    }
}

/// A decoding error: go-yaml reports these without a line.
fn err_at(line: usize, column: usize, message: impl Into<String>) -> YamlError {
    YamlError::go(line, column, message, None)
}

/// The name of the alias at a position (`*name`).
fn anchor_name_at(text: &str, line: usize, col0: usize) -> String {
    let Some(l) = text.lines().nth(line.saturating_sub(1)) else {
        return String::new();
    };
    let rest: String = l.chars().skip(col0).collect();
    let rest = rest.strip_prefix('*').unwrap_or(&rest);
    rest.chars()
        .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
        .collect()
}

/// The 0-based line of the first token after 1-based line `line` (blank
/// and comment lines skipped), or libyaml's end-of-stream line.
fn next_token_line(text: &str, line: usize) -> usize {
    text.lines()
        .enumerate()
        .skip(line)
        .find(|(_, l)| {
            let l = l.trim_start();
            !l.is_empty() && !l.starts_with('#')
        })
        // At the end, libyaml closes an unterminated last line first.
        .map_or(
            text.matches('\n').count() + usize::from(!text.is_empty() && !text.ends_with('\n')),
            |(i, _)| i,
        )
}

/// Whether a simple key that found no `:` (at 0-based line `l0`, column
/// `col0`) is an empty flow collection (`[]`, `{ }`, `[,]`, `[` then `]`)
/// where a block collection wants its next entry (`a: 1` then `[]`, `- 1`
/// then `{}`): how many of `open` are still open there. go-yaml v2's
/// scanner gives the collection's flow level the number of its own
/// opening token, and forgets the key of that number when the level
/// closes (yaml_parser_decrease_flow_level) unless a key inside took the
/// level's place; so it stops waiting for a `:`, and its parser takes the
/// bracket where the block collection wants a key or a `-`. Right after an
/// indicator (`a:` then `{}`, no block collection closed before it) the
/// parser takes the collection as a node, and the scanner fails later, at
/// the stream's end, as libyaml's.
fn empty_flow_key(text: &str, l0: usize, col0: usize, open: &[Open]) -> Option<usize> {
    let before = text_before(text, l0, col0);
    // The scanner closes the block collections indented deeper first.
    let still_open = open
        .iter()
        .position(|o| block_indent(text, o).is_some_and(|indent| indent > col0))
        .unwrap_or(open.len());
    let node = match last_token_char(&before) {
        None => true,
        Some(':' | '-' | '?') => still_open == open.len() && indicator_indent(&before) <= col0,
        Some(_) => false,
    };
    if node {
        return None;
    }
    let rest = &text[before.len()..];
    let close = match rest.chars().next()? {
        '[' => ']',
        '{' => '}',
        _ => return None,
    };
    let mut comment = false;
    for c in rest.chars().skip(1) {
        match c {
            '\n' => comment = false,
            _ if comment => {}
            '#' => comment = true,
            ' ' | '\t' | '\r' | ',' => {}
            c if c == close => return Some(still_open),
            _ => return None,
        }
    }
    None
}

/// The indentation of the block collection whose indicator (`:`, `-`,
/// `?`) ends `before`: its key's column, or its `-`'s.
fn indicator_indent(before: &str) -> usize {
    let line = before
        .lines()
        .rev()
        .find(|l| {
            let l = l.trim_start();
            !l.is_empty() && !l.starts_with('#')
        })
        .unwrap_or("");
    let trimmed = line.trim_end_matches([' ', '\t', '\r']);
    if trimmed.ends_with(['-', '?']) {
        return trimmed.chars().count() - 1;
    }
    let mut col = 0;
    let mut rest = line;
    loop {
        let blanks = rest.len() - rest.trim_start_matches(' ').len();
        col += blanks;
        rest = &rest[blanks..];
        match rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            Some(r) => {
                col += 2;
                rest = r;
            }
            None => return col,
        }
    }
}

/// The part of libyaml that reports an error, which decides the line
/// go-yaml prints: a scanner error's is 1-based, a parser error's 0-based
/// (either left out when 0); some have none.
enum Stage {
    Scanner,
    Parser,
    NoLine,
}

/// Rewords a parser error the way go-yaml (libyaml) reports it: libyaml's
/// problem text, and go-yaml's line — the 0-based line for parser errors,
/// 1-based for scanner errors, none when on the first line. `open` are the
/// collections being read, the innermost last.
fn go_yaml_error(text: &str, info: &str, line: usize, col0: usize, open: &[Open]) -> YamlError {
    let l0 = line.saturating_sub(1);
    // libyaml's stream end: after the last line, which it closes itself.
    let end_line =
        text.matches('\n').count() + usize::from(!text.is_empty() && !text.ends_with('\n'));
    let problem = match info.split_once(", ") {
        Some((ctx, p)) if ctx.starts_with("while ") => p,
        _ => info,
    };
    // At the end of an open flow collection libyaml wants either a node
    // (right after `[`, `{` or `,`) or a separator.
    let wants_node = text.trim_end().ends_with(['[', '{', ',']);
    let (message, kind, at): (String, Stage, usize) = if info.starts_with("unclosed bracket")
        && wants_node
    {
        (
            "did not find expected node content".into(),
            Stage::Parser,
            end_line,
        )
    } else if info == "unclosed bracket '['" {
        (
            "did not find expected ',' or ']'".into(),
            Stage::Parser,
            end_line,
        )
    } else if info == "unclosed bracket '{'" {
        (
            "did not find expected ',' or '}'".into(),
            Stage::Parser,
            end_line,
        )
    } else if problem == "\"-\" is only valid inside a block" {
        // libyaml scans `- ` in a flow collection as a block entry and
        // leaves it to the parser, which finds no node there.
        (
            "did not find expected node content".into(),
            Stage::Parser,
            l0,
        )
    } else if problem == "expected ',' or ']'" {
        ("did not find expected ',' or ']'".into(), Stage::Parser, l0)
    } else if info == "unclosed quote" {
        let eof = text.matches('\n').count();
        ("found unexpected end of stream".into(), Stage::Scanner, eof)
    } else if info.starts_with("unexpected character") || problem.starts_with("tabs disallowed") {
        // libyaml has no tab rule: a tab where a token should start is
        // just a character that cannot start one.
        (
            "found character that cannot start any token".into(),
            Stage::Scanner,
            l0,
        )
    } else if problem.starts_with("found a tab")
        || problem == "a block scalar content cannot start with a tab"
    {
        // libyaml reports it at the tab, on the line that indents with it.
        let tab_line = text
            .lines()
            .enumerate()
            .skip(l0)
            .find(|(_, l)| {
                l.chars()
                    .take_while(|c| c.is_whitespace())
                    .any(|c| c == '\t')
            })
            .map_or(l0, |(i, _)| i);
        let message = if problem.starts_with("found a tab") {
            "found a tab character that violates indentation"
        } else {
            "found a tab character where an indentation space is expected"
        };
        (message.into(), Stage::Scanner, tab_line)
    } else if problem == "found unknown anchor" || info == "unknown anchor" {
        let name = anchor_name_at(text, line, col0);
        (
            format!("unknown anchor '{name}' referenced"),
            Stage::NoLine,
            0,
        )
    } else if problem.contains("surrogate") {
        // libyaml refuses any surrogate code (no pairs), as it does a code
        // beyond U+10FFFF.
        (
            "found invalid Unicode character escape code".into(),
            Stage::Scanner,
            l0,
        )
    } else if info.starts_with("while scanning")
        || info.starts_with("while parsing a quoted scalar")
        || info.starts_with("while parsing a tag")
        || matches!(
            problem,
            "mapping values are not allowed in this context"
                | "mapping keys are not allowed in this context"
                | "block sequence entries are not allowed in this context"
        )
    {
        (problem.to_string(), Stage::Scanner, l0)
    } else if problem == "simple key expected ':'"
        && let Some(still_open) = empty_flow_key(text, l0, col0, open)
    {
        (
            wanted_entry(text, &open[..still_open]).into(),
            Stage::Parser,
            l0,
        )
    } else if problem == "simple key expected ':'" {
        // A key at its mapping's indentation with no `:` after it (argo-cd's
        // `rules:\n    []`): libyaml gives up on it only when the scanner
        // reaches the next token on a later line, and reports it there.
        (
            "could not find expected ':'".into(),
            Stage::Scanner,
            next_token_line(text, line),
        )
    } else if problem == "misplaced bracket" {
        (
            misplaced_bracket(text, l0, col0, open).into(),
            Stage::Parser,
            l0,
        )
    } else if problem == "comment intercepting the multiline text" {
        // libyaml ends a plain scalar at a comment: the next line's text
        // is a token of its own, where the collection wants its next entry.
        (
            wanted_entry(text, open).into(),
            Stage::Parser,
            next_token_line(text, line),
        )
    } else if problem.starts_with("invalid trailing content after") {
        after_quoted_scalar(text, l0, col0, open)
    } else if problem == "illegal placement of ':' indicator"
        && open_flow(text, line, col0).is_some()
    {
        // A `key: value` inside a flow collection left open on an earlier
        // line: libyaml wants the collection's separator there.
        let close = open_flow(text, line, col0).unwrap_or(']');
        (
            format!("did not find expected ',' or '{close}'"),
            Stage::Parser,
            l0,
        )
    } else if info.starts_with("unexpected EOF while parsing a flow sequence") {
        (
            "did not find expected ',' or ']'".into(),
            Stage::Parser,
            end_line,
        )
    } else if info.starts_with("unexpected EOF while parsing a flow mapping") {
        (
            "did not find expected ',' or '}'".into(),
            Stage::Parser,
            end_line,
        )
    } else if info.starts_with("unexpected EOF while parsing an implicit flow mapping")
        && open.last().is_some_and(|o| o.shape == Shape::FlowMap)
    {
        // A second `:` where a flow mapping wants its value (`{x: : b}`):
        // libyaml's parser finds no node there.
        (
            "did not find expected node content".into(),
            Stage::Parser,
            l0,
        )
    } else if info.starts_with("unexpected EOF while parsing a block") {
        // granit-parser's words for a token that is no node where a block
        // node belongs: a `,`, which libyaml scans as a flow entry in the
        // block context too (`,a`, `- ,`, `a: ,b`), and its parser then
        // finds no node content there.
        (
            "did not find expected node content".into(),
            Stage::Parser,
            l0,
        )
    } else if info == "while parsing a flow mapping, did not find expected ',' or '}'"
        && open
            .last()
            .is_some_and(|o| matches!(o.shape, Shape::FlowPair | Shape::FlowSeq))
    {
        // granit-parser's words after the value of a flow sequence's
        // `k: v` pair (`[a: b: c]`): libyaml's parser ends that mapping of
        // one pair at its value, and the sequence wants its `,` or `]`.
        ("did not find expected ',' or ']'".into(), Stage::Parser, l0)
    } else {
        (problem.to_string(), Stage::Parser, l0)
    };
    let go_line = match kind {
        Stage::Scanner => (at != 0).then_some(at + 1),
        Stage::Parser => (at != 0).then_some(at),
        Stage::NoLine => None,
    };
    YamlError::go(line, col0 + 1, message, go_line)
}

/// What libyaml says of a token right after a quoted scalar (`a: "x" y`,
/// `- 'a` then `  - 'b'`) at 0-based line `l0`, column `col0`: it ends the
/// scalar at its quote and scans the next token. After a node the block
/// context has no room for a `-` or `?` indicator, and `@`, `` ` `` and
/// `%` start no token (the scanner's errors); any other token the parser
/// finds where the collection wants its next entry, or, when a `: ` follows
/// on the line of a scalar all on one line, where a mapping that scalar
/// keys wants its next key.
fn after_quoted_scalar(
    text: &str,
    l0: usize,
    col0: usize,
    open: &[Open],
) -> (String, Stage, usize) {
    let line = text.lines().nth(l0).unwrap_or("");
    let (before, rest): (String, String) = (
        line.chars().take(col0).collect(),
        line.chars().skip(col0).collect(),
    );
    if rest.starts_with(['\'', '"']) {
        // Another quoted scalar, scanned whole first.
        let from: usize = text
            .split('\n')
            .take(l0)
            .map(|l| l.len() + 1)
            .sum::<usize>()
            + before.len();
        if !quotes_close(text.get(from..).unwrap_or("")) {
            let eof = text.matches('\n').count();
            return ("found unexpected end of stream".into(), Stage::Scanner, eof);
        }
    }
    if let Some(close) = open_flow(text, l0 + 1, col0) {
        return (
            format!("did not find expected ',' or '{close}'"),
            Stage::Parser,
            l0,
        );
    }
    let indicator = |c: char| {
        rest.strip_prefix(c)
            .is_some_and(|r| r.is_empty() || r.starts_with([' ', '\t']))
    };
    let scanner = if indicator('-') {
        Some("block sequence entries are not allowed in this context")
    } else if indicator('?') {
        Some("mapping keys are not allowed in this context")
    } else if rest.starts_with(['@', '`', '%']) {
        Some("found character that cannot start any token")
    } else {
        None
    };
    if let Some(m) = scanner {
        return (m.into(), Stage::Scanner, l0);
    }
    // A scalar that opens its line at a block sequence's `-` column keys
    // no mapping of its own: the sequence finds the key.
    let indent = before.len() - before.trim_start_matches(' ').len();
    let at_dash = before.trim_start_matches(' ').starts_with(['\'', '"'])
        && open.last().is_some_and(|top| {
            top.shape == Shape::BlockSeq && dash_column(text, top) == Some(indent)
        });
    let keyed = quotes_close(&before) && value_indicator(&rest) && !at_dash;
    let message = if keyed {
        "did not find expected key"
    } else {
        wanted_entry(text, open)
    };
    (message.into(), Stage::Parser, l0)
}

/// Whether `s`, read from outside any quotes, ends outside them: a line
/// that starts inside a quoted scalar begun on an earlier line does not.
fn quotes_close(s: &str) -> bool {
    let mut quote = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            _ => {}
        }
    }
    quote.is_none()
}

/// Whether a `:` and a blank (or the line's end) come in `s` outside
/// quotes and flow collections, before a comment.
fn value_indicator(s: &str) -> bool {
    let chars: Vec<char> = s.chars().collect();
    let mut quote = None;
    let mut depth = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (Some('"'), '\\') => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if i > 0 && matches!(chars[i - 1], ' ' | '\t') => return false,
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            (None, ':') if depth == 0 && matches!(chars.get(i + 1), None | Some(' ' | '\t')) => {
                return true;
            }
            _ => {}
        }
        i += 1;
    }
    false
}

/// libyaml's parser error for a token where the innermost open collection
/// wants its next entry (or its end). A block sequence at its mapping's
/// indentation (`a:` then `- b`) is an indentless one: it ends at any
/// token but a `-`, and the mapping wants a key.
fn wanted_entry(text: &str, open: &[Open]) -> &'static str {
    let Some(top) = open.last() else {
        return "did not find expected key";
    };
    match top.shape {
        Shape::FlowSeq | Shape::FlowPair => "did not find expected ',' or ']'",
        Shape::FlowMap => "did not find expected ',' or '}'",
        Shape::BlockMap => "did not find expected key",
        Shape::BlockSeq => {
            let indentless = open.len() >= 2
                && open[open.len() - 2].shape == Shape::BlockMap
                && dash_column(text, top) == Some(open[open.len() - 2].col - 1);
            if indentless {
                "did not find expected key"
            } else {
                "did not find expected '-' indicator"
            }
        }
    }
}

/// What libyaml's parser says of a closing bracket with no flow
/// collection open (at 0-based line `l0`, column `col0`): a token like any
/// other to it. Right after an indicator (`a: ]`, `-` then `]`) or before
/// any node it is where a node belongs; otherwise it is where the
/// innermost block collection still open at its column wants its next
/// entry (`- {a: 1} ]`: a `-`; `a: [1]` then `]`: a key). The scanner
/// closes the block collections indented deeper than the bracket first.
fn misplaced_bracket(text: &str, l0: usize, col0: usize, open: &[Open]) -> &'static str {
    let before = text_before(text, l0, col0);
    if matches!(last_token_char(&before), None | Some(':' | '-' | '?')) {
        return "did not find expected node content";
    }
    let still_open = open
        .iter()
        .position(|o| block_indent(text, o).is_some_and(|indent| indent > col0))
        .unwrap_or(open.len());
    wanted_entry(text, &open[..still_open])
}

/// The text before 0-based line `l0`, column `col0`.
fn text_before(text: &str, l0: usize, col0: usize) -> String {
    let mut out: String = text.split_inclusive('\n').take(l0).collect();
    if let Some(line) = text.split_inclusive('\n').nth(l0) {
        out.extend(line.chars().take(col0));
    }
    out
}

/// The last character of `s` outside comments and blanks (quotes
/// respected), if any.
fn last_token_char(s: &str) -> Option<char> {
    let mut last = None;
    for line in s.split('\n') {
        let mut quote = None;
        let mut prev = ' ';
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if matches!(prev, ' ' | '\t') => break,
                _ => {}
            }
            if !matches!(c, ' ' | '\t' | '\r') {
                last = Some(c);
            }
            prev = c;
        }
    }
    last
}

/// The 0-based column a block collection is indented to (its keys', its
/// dashes'); `None` for a flow collection.
fn block_indent(text: &str, o: &Open) -> Option<usize> {
    match o.shape {
        Shape::BlockMap => Some(o.col - 1),
        Shape::BlockSeq => dash_column(text, o),
        _ => None,
    }
}

/// The 0-based column of a block sequence's first `-` (granit-parser's
/// span starts there or at the first item).
fn dash_column(text: &str, seq: &Open) -> Option<usize> {
    let line = text.lines().nth(seq.line.checked_sub(1)?)?;
    if line.chars().nth(seq.col - 1) == Some('-') {
        return Some(seq.col - 1);
    }
    let before: Vec<char> = line.chars().take(seq.col - 1).collect();
    let end = before.iter().rposition(|c| !matches!(c, ' ' | '\t'))?;
    (before[end] == '-').then_some(end)
}

impl Decoder {
    /// Counts one decoded node, as go-yaml's `unmarshal` does.
    fn count(&mut self) -> Result<(), YamlError> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err(err_at(0, 0, "document contains excessive aliasing"));
        }
        Ok(())
    }

    fn decode(&mut self, n: &Node) -> Result<Y, YamlError> {
        self.count()?;
        match n {
            Node::Alias(target) => {
                self.alias_depth += 1;
                let y = self.decode(target);
                self.alias_depth -= 1;
                y
            }
            Node::Scalar {
                value,
                style,
                tag,
                line,
                col,
            } => scalar(value, *style, tag.as_ref(), *line, *col),
            Node::Seq(items, _) => Ok(Y::Seq(
                items
                    .iter()
                    .map(|i| self.decode(i))
                    .collect::<Result<_, _>>()?,
            )),
            Node::Map(pairs, _, _) => {
                let mut out = MapBuilder::default();
                for (k, v) in pairs {
                    if is_merge_key(k) {
                        self.merge(v, &mut out)?;
                        continue;
                    }
                    let key = self.decode(k)?;
                    // go-yaml v2's `d.mapping` prints such a key with %#v.
                    if matches!(key, Y::Seq(_) | Y::Map(_)) {
                        let (l, c) = pos(k);
                        let text = format!("invalid map key: {}", go_syntax(&key, true));
                        return Err(err_at(l, c, text));
                    }
                    let val = self.decode(v)?;
                    if let Some(errors) = &mut self.strict
                        && out.contains(&key)
                    {
                        // go-yaml v2's setMapIndex in strict mode, at the value's line.
                        let line = match (v.target(), pos(v)) {
                            (Node::Seq(_, l), _) if *l != 0 => *l,
                            (_, (0, _)) => pos(k).0,
                            (_, (l, _)) => l,
                        };
                        errors.push(format!(
                            "line {line}: key {} already set in map",
                            go_sharp_v(&key)
                        ));
                        continue;
                    }
                    out.insert(key, val);
                }
                Ok(Y::Map(out.pairs))
            }
        }
    }

    /// go-yaml v2's `merge`: a mapping, an alias of one, or a sequence of them
    /// (where earlier mappings take precedence).
    fn merge(&mut self, v: &Node, out: &mut MapBuilder) -> Result<(), YamlError> {
        let want_map = |n: &Node| {
            let (l, c) = pos(n);
            err_at(
                l,
                c,
                "map merge requires map or sequence of maps as the value",
            )
        };
        match v {
            Node::Map(..) | Node::Alias(_) if matches!(v.target(), Node::Map(..)) => {
                if let Y::Map(pairs) = self.decode(v)? {
                    for (k, val) in pairs {
                        out.insert(k, val);
                    }
                }
                Ok(())
            }
            Node::Seq(items, _) => {
                for item in items.iter().rev() {
                    if !matches!(item.target(), Node::Map(..)) {
                        return Err(want_map(item));
                    }
                    if let Y::Map(pairs) = self.decode(item)? {
                        for (k, val) in pairs {
                            out.insert(k, val);
                        }
                    }
                }
                Ok(())
            }
            _ => Err(want_map(v)),
        }
    }
}

fn pos(n: &Node) -> (usize, usize) {
    match n.target() {
        Node::Scalar { line, col, .. } => (*line, *col),
        Node::Map(_, l, c) => (*l, *c),
        Node::Seq(..) | Node::Alias(_) => (0, 0),
    }
}

fn is_merge_key(n: &Node) -> bool {
    match n {
        Node::Scalar {
            value,
            style: ScalarStyle::Plain,
            tag: None,
            ..
        } => value == "<<",
        Node::Scalar {
            tag: Some((h, s)), ..
        } => h == CORE && s == "merge",
        _ => false,
    }
}

/// A mapping being decoded: its pairs in order of first appearance, and
/// where each key is, so that a repeated key (go-yaml v2 decoding into
/// `map[interface{}]interface{}`: the last value wins) is found without a
/// scan — values files have tens of thousands of keys.
#[derive(Default)]
struct MapBuilder {
    pairs: Vec<(Y, Y)>,
    index: HashMap<KeyId, usize>,
}

/// A scalar key as Go's map compares it: by type, then value (floats by
/// `==`, so 0.0 and -0.0 are one key and NaN is never found again).
#[derive(PartialEq, Eq, Hash)]
enum KeyId {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(u64),
    Str(String),
}

impl KeyId {
    fn of(key: &Y) -> Option<KeyId> {
        Some(match key {
            Y::Null => KeyId::Null,
            Y::Bool(b) => KeyId::Bool(*b),
            Y::Int(i) => KeyId::Int(*i),
            Y::Uint(u) => KeyId::Uint(*u),
            Y::Float(f) if f.is_nan() => return None,
            Y::Float(f) => KeyId::Float(if *f == 0.0 { 0 } else { f.to_bits() }),
            Y::Str(s) => KeyId::Str(s.clone()),
            Y::Seq(_) | Y::Map(_) => return None,
        })
    }
}

impl MapBuilder {
    fn contains(&self, key: &Y) -> bool {
        KeyId::of(key).is_some_and(|id| self.index.contains_key(&id))
    }

    fn insert(&mut self, key: Y, val: Y) {
        let Some(id) = KeyId::of(&key) else {
            self.pairs.push((key, val));
            return;
        };
        match self.index.entry(id) {
            Entry::Occupied(e) => self.pairs[*e.get()].1 = val,
            Entry::Vacant(e) => {
                e.insert(self.pairs.len());
                self.pairs.push((key, val));
            }
        }
    }
}

/// A decoded key as Go's `%#v` prints it.
fn go_sharp_v(key: &Y) -> String {
    match key {
        Y::Null => "<nil>".into(),
        Y::Bool(b) => b.to_string(),
        Y::Int(i) => i.to_string(),
        Y::Uint(u) => u.to_string(),
        Y::Float(f) => crate::gofmt::format_float(*f, 'g', None),
        Y::Str(s) => crate::gofmt::quote(s),
        Y::Seq(_) | Y::Map(_) => String::new(),
    }
}

fn short_tag(h: &str, s: &str) -> String {
    if h == CORE {
        format!("!!{s}")
    } else {
        format!("{h}{s}")
    }
}

/// Types a scalar like go-yaml v2's `d.scalar` into `interface{}`.
fn scalar(
    value: &str,
    style: ScalarStyle,
    tag: Option<&(String, String)>,
    line: usize,
    col: usize,
) -> Result<Y, YamlError> {
    let from_resolved = |r: Resolved| match r {
        Resolved::Null => Y::Null,
        Resolved::Bool(b) => Y::Bool(b),
        Resolved::Int(i) => Y::Int(i),
        Resolved::Uint(u) => Y::Uint(u),
        Resolved::Float(f) => Y::Float(f),
        Resolved::Timestamp | Resolved::Str => Y::Str(value.to_string()),
    };
    match tag {
        None => {
            if style == ScalarStyle::Plain {
                Ok(from_resolved(resolve(value)))
            } else {
                Ok(Y::Str(value.to_string()))
            }
        }
        Some((h, s)) if h == CORE => {
            let r = resolve(value);
            let got = match r {
                Resolved::Null => "null",
                Resolved::Bool(_) => "bool",
                Resolved::Int(_) | Resolved::Uint(_) => "int",
                Resolved::Float(_) => "float",
                Resolved::Timestamp => "timestamp",
                Resolved::Str => "str",
            };
            match s.as_str() {
                "str" => Ok(Y::Str(value.to_string())),
                "binary" => {
                    let bytes =
                        crate::funcs::encoding::b64decode(value.as_bytes()).map_err(|_| {
                            err_at(line, col, "!!binary value contains invalid base64 data")
                        })?;
                    Ok(Y::Str(String::from_utf8_lossy(&bytes).into_owned()))
                }
                "float" if got == "int" => Ok(match r {
                    Resolved::Int(i) => Y::Float(i as f64),
                    Resolved::Uint(u) => Y::Float(u as f64),
                    _ => Y::Null,
                }),
                want if want == got => Ok(from_resolved(r)),
                // go-yaml v2's resolvableTag: any other tag (!!map or !!seq
                // on a scalar, !!omap, !!foo) keeps the text.
                "bool" | "int" | "float" | "null" | "timestamp" => Err(err_at(
                    line,
                    col,
                    format!("cannot decode !!{got} `{value}` as a {}", short_tag(h, s)),
                )),
                _ => Ok(Y::Str(value.to_string())),
            }
        }
        // Other tags are not resolvable: the text is kept.
        Some(_) => Ok(Y::Str(value.to_string())),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`, as sigs.k8s.io/yaml formats float
/// keys (and floats headed for a string field, which are finite here).
pub(super) fn format_float32(f: f64) -> String {
    if f.is_infinite() {
        return if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    if f.is_nan() {
        return ".nan".into();
    }
    let f32v = f as f32;
    // Shortest digits for float32, then Go's %g layout.
    let s = format!("{:e}", f32v);
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mant.starts_with('-');
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    // Rebuild a float64 with exactly these digits and let Go's %g layout print it.
    let v: f64 = format!("{}0.{}e{}", if neg { "-" } else { "" }, digits, exp + 1)
        .parse()
        .unwrap_or(0.0);
    crate::gofmt::format_float(v, 'g', None)
}

/// sigs.k8s.io/yaml's `convertToJSONableObject` followed by the JSON round
/// trip into `map[string]interface{}` / `interface{}`; with `ints`,
/// integers stay integers (for the caller to type them as a Go struct would).
fn to_json_value(y: Y, ints: bool) -> Result<Value, YamlError> {
    Ok(match y {
        Y::Null => Value::Nil,
        Y::Bool(b) => Value::Bool(b),
        Y::Int(i) if ints => Value::Int(i),
        Y::Uint(u) if ints => Value::Uint(u),
        Y::Int(i) => Value::Float(i as f64),
        Y::Uint(u) => Value::Float(u as f64),
        Y::Float(f) => {
            if !f.is_finite() {
                // encoding/json's error, not go-yaml's: no "yaml: " prefix.
                return Err(YamlError::plain(
                    0,
                    0,
                    format!(
                        "json: unsupported value: {}",
                        crate::gofmt::format_float(f, 'g', None)
                    ),
                ));
            }
            Value::Float(f)
        }
        Y::Str(s) => Value::str(s),
        Y::Seq(items) => Value::list(
            items
                .into_iter()
                .map(|y| to_json_value(y, ints))
                .collect::<Result<_, _>>()?,
        ),
        Y::Map(pairs) => {
            let m = Map::new();
            for (k, v) in pairs {
                let key = match k {
                    Y::Str(s) => s,
                    Y::Int(i) => i.to_string(),
                    Y::Float(f) => format_float32(f),
                    Y::Bool(b) => b.to_string(),
                    Y::Uint(_) | Y::Null => return Err(key_error(&k, &v)),
                    Y::Seq(_) | Y::Map(_) => {
                        return Err(err_at(0, 0, "unsupported map key of a collection type"));
                    }
                };
                m.insert(key, to_json_value(v, ints)?);
            }
            Value::Map(m)
        }
    })
}

/// sigs.k8s.io/yaml's `convertToJSONableObject` checks every key of the
/// tree before encoding/json sees a value (so a null key is reported even
/// when a NaN comes first): the first key that is neither a string, a
/// number that fits an int nor a bool.
fn first_bad_key(y: &Y) -> Option<YamlError> {
    match y {
        Y::Seq(items) => items.iter().find_map(first_bad_key),
        Y::Map(pairs) => pairs.iter().find_map(|(k, v)| match k {
            Y::Null | Y::Uint(_) => Some(key_error(k, v)),
            _ => first_bad_key(v),
        }),
        _ => None,
    }
}

/// `unsupported map key of type: %s, key: %+#v, value: %+#v`: no "yaml: "
/// prefix, the key's type (`%!s(<nil>)` for nil) and both in Go syntax.
fn key_error(k: &Y, v: &Y) -> YamlError {
    let ty = match k {
        Y::Uint(_) => "uint64",
        _ => "%!s(<nil>)",
    };
    YamlError::plain(
        0,
        0,
        format!(
            "unsupported map key of type: {ty}, key: {}, value: {}",
            go_syntax(k, true),
            go_syntax(v, true)
        ),
    )
}

/// Go's `%#v` of a decoded value (`top`: not inside a collection, where a
/// nil is `<nil>` rather than `interface {}(nil)`).
fn go_syntax(y: &Y, top: bool) -> String {
    use crate::gofmt::{format_float, quote};
    let join = |items: Vec<String>| items.join(", ");
    match y {
        Y::Null if top => "<nil>".into(),
        Y::Null => "interface {}(nil)".into(),
        Y::Bool(b) => b.to_string(),
        Y::Int(i) => i.to_string(),
        Y::Uint(u) => format!("{u:#x}"),
        Y::Float(f) => format_float(*f, 'g', None),
        Y::Str(s) => quote(s),
        Y::Seq(items) => format!(
            "[]interface {{}}{{{}}}",
            join(items.iter().map(|i| go_syntax(i, false)).collect())
        ),
        Y::Map(pairs) => {
            let mut sorted: Vec<&(Y, Y)> = pairs.iter().collect();
            sorted.sort_by(|a, b| go_key_order(&a.0, &b.0));
            format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                join(
                    sorted
                        .into_iter()
                        .map(|(k, v)| format!("{}:{}", go_syntax(k, false), go_syntax(v, false)))
                        .collect()
                )
            )
        }
    }
}

/// The order Go's fmt prints a map's `interface{}` keys in (internal/
/// fmtsort): nil first, then by dynamic type, in the order of the types'
/// descriptors in the binary (Helm v4's: string, uint64, int, float64,
/// bool), then by value (bytes for strings; NaN before other floats, every
/// NaN a key of its own).
fn go_key_order(a: &Y, b: &Y) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let rank = |y: &Y| match y {
        Y::Null => 0,
        Y::Str(_) => 1,
        Y::Uint(_) => 2,
        Y::Int(_) => 3,
        Y::Float(_) => 4,
        Y::Bool(_) => 5,
        Y::Seq(_) | Y::Map(_) => 6,
    };
    rank(a).cmp(&rank(b)).then_with(|| match (a, b) {
        (Y::Str(x), Y::Str(y)) => x.cmp(y),
        (Y::Uint(x), Y::Uint(y)) => x.cmp(y),
        (Y::Int(x), Y::Int(y)) => x.cmp(y),
        (Y::Float(x), Y::Float(y)) => match (x.is_nan(), y.is_nan()) {
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        },
        (Y::Bool(x), Y::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    })
}

/// Decodes the first YAML document of `text` with Helm's semantics.
/// `Value::Nil` for an empty document.
pub fn decode(text: &str) -> Result<Value, YamlError> {
    decode_with(text, false)
}

/// [`decode`], integers kept as integers.
pub fn decode_ints(text: &str) -> Result<Value, YamlError> {
    decode_with(text, true)
}

/// go-yaml v2's `UnmarshalStrict` of [`decode_ints`]: a key repeated in a
/// mapping is an error (`yaml: unmarshal errors:` and a line per key).
pub fn decode_ints_strict(text: &str) -> Result<Value, YamlError> {
    decode_mode(text, true, true, None)
}

/// Where a Go struct takes text: given the keys leading to a value (`[]`
/// for a sequence's item), whether the field it lands in is a string.
pub type StringAt<'a> = &'a dyn Fn(&[String]) -> bool;

/// [`decode_ints`] (go-yaml's `UnmarshalStrict` with `strict`) for a Go
/// struct: sigs.k8s.io/yaml writes a float headed for a string field as
/// `FormatFloat(f, 'g', -1, 32)` before encoding/json sees it, so there a
/// non-finite one is the text `+Inf`, `-Inf` or `NaN`; elsewhere it still
/// cannot become JSON.
pub fn decode_ints_for(text: &str, strict: bool, string_at: StringAt) -> Result<Value, YamlError> {
    decode_mode(text, true, strict, Some(string_at))
}

fn decode_with(text: &str, ints: bool) -> Result<Value, YamlError> {
    decode_mode(text, ints, false, None)
}

/// The non-finite floats `string_at` says land in a string field, as
/// the text Go formats them as.
fn non_finite_as_text(y: &mut Y, path: &mut Vec<String>, string_at: StringAt) {
    match y {
        Y::Float(f) if !f.is_finite() && string_at(path) => {
            *y = Y::Str(crate::gofmt::format_float(*f, 'g', None));
        }
        Y::Seq(items) => {
            path.push("[]".into());
            items
                .iter_mut()
                .for_each(|x| non_finite_as_text(x, path, string_at));
            path.pop();
        }
        Y::Map(pairs) => {
            for (k, v) in pairs {
                let key = match k {
                    Y::Str(s) => s.clone(),
                    Y::Int(i) => i.to_string(),
                    Y::Float(f) => format_float32(*f),
                    Y::Bool(b) => b.to_string(),
                    _ => continue,
                };
                path.push(key);
                non_finite_as_text(v, path, string_at);
                path.pop();
            }
        }
        _ => {}
    }
}

fn decode_mode(
    text: &str,
    ints: bool,
    strict: bool,
    string_at: Option<StringAt>,
) -> Result<Value, YamlError> {
    let Some(root) = parse_tree(text)? else {
        return Ok(Value::Nil);
    };
    let mut d = Decoder {
        decode_count: 0,
        alias_count: 0,
        alias_depth: 0,
        strict: strict.then(Vec::new),
    };
    let mut y = d.decode(&root)?;
    if let Some(errors) = d.strict.filter(|e| !e.is_empty()) {
        let mut text = "unmarshal errors:".to_string();
        for e in errors {
            text.push_str("\n  ");
            text.push_str(&e);
        }
        return Err(YamlError::go(0, 0, text, None));
    }
    if let Some(e) = first_bad_key(&y) {
        return Err(e);
    }
    if let Some(string_at) = string_at {
        non_finite_as_text(&mut y, &mut Vec::new(), string_at);
    }
    to_json_value(y, ints)
}

#[cfg(test)]
mod tests {
    use super::{decode, decode_ints_strict};

    #[test]
    fn a_mapping_of_many_keys_decodes() {
        let text: String = (0..100_000).map(|i| format!("k{i}: {i}\n")).collect();
        let crate::Value::Map(m) = decode(&text).unwrap() else {
            panic!("not a map");
        };
        assert_eq!(m.entries.borrow().len(), 100_000);
    }

    #[test]
    fn a_repeated_key_keeps_the_last_value() {
        let v = decode("a: 1\nb: 2\na: 3\n0.0: p\n-0.0: q\n").unwrap();
        assert_eq!(
            crate::json::marshal(&v).unwrap(),
            r#"{"0":"q","a":3,"b":2}"#
        );
        let v = decode("base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  x: 3\n").unwrap();
        assert_eq!(
            crate::json::marshal(&v).unwrap(),
            r#"{"base":{"x":1,"z":2},"m":{"x":3,"z":2}}"#
        );
    }

    #[test]
    fn strict_mode_refuses_a_repeated_key_where_go_yaml_does() {
        // sigs.k8s.io/yaml's UnmarshalStrict: every repeat, at its value's line.
        // A block sequence's line is its first entry's (found by difftest,
        // lint: berth gave the key's).
        let e = decode_ints_strict("a: []\nb: 1\na:\n- x\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "yaml: unmarshal errors:\n  line 4: key \"a\" already set in map"
        );
        let e = decode_ints_strict("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "yaml: unmarshal errors:\n  line 4: key \"c\" already set in map\n  line 5: key \"a\" already set in map"
        );
        assert!(decode_ints_strict("a: 1\nb: 2\n").is_ok());
    }

    /// Each as go-yaml v2 answers (helm-python-sdk's values_from_yaml).
    #[test]
    fn a_first_document_that_starts_at_a_document_end_is_refused() {
        for (text, want) in [
            ("...\n", Some("yaml: did not find expected node content")),
            (
                "...\na: 1\n",
                Some("yaml: did not find expected node content"),
            ),
            (
                "# c\n...\n",
                Some("yaml: line 1: did not find expected node content"),
            ),
            (
                "... # c\n",
                Some("yaml: did not find expected node content"),
            ),
            ("a: 1\n...\n", None),
            ("---\n...\n", None),
            ("....\n", None),
            ("...x\n", None),
        ] {
            let got = decode(text).err().map(|e| e.to_string());
            assert_eq!(got.as_deref(), want, "{text:?}");
        }
    }

    #[test]
    fn control_characters_are_refused_before_parsing() {
        for text in ["a: \u{0}", "a: [\n\u{7}", "\u{FFFE}"] {
            assert_eq!(
                decode(text).unwrap_err().to_string(),
                "yaml: control characters are not allowed",
                "{text:?}"
            );
        }
        assert!(decode("a: \"\u{85}\u{A0}\u{1F600}\"\n").is_ok());
    }
}
