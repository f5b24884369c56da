//! Parsing of Go templates: lexer, parse tree and parser, ported from Go's
//! `text/template/parse`. Execution lives in `exec`.

mod lex;
pub mod node;
mod parser;

pub(crate) use lex::is_go_digit;
pub use node::{Arg, At, Branch, Command, ListNode, Node, Number, Pipe, Variable};
pub(crate) use parser::unquote_char;
pub use parser::{ParseError, Tree, parse, parse_go_float, parse_go_int, parse_go_uint, unquote};
