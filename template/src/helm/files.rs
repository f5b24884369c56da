//! `.Files` (`pkg/engine/files.go`): Get, GetBytes, Glob, Lines, AsConfig,
//! AsSecrets, with gobwas/glob pattern semantics (`*` stops at `/`, `**`
//! does not, `?`, `[a-z]`, `[!x]`, `{a,b}`).

use bytes::Bytes;
use std::collections::BTreeMap;

use super::objects::Method;
use crate::error::GoError;
use crate::funcs::{Ty, s, sig};
use crate::value::{Map, MapType, Object, Value};

/// The files of a `.Files` receiver (the executor only binds these methods to one).
fn files(v: &Value) -> BTreeMap<String, Bytes> {
    match v {
        Value::Object(o) => match &**o {
            Object::Files(f) => f.clone(),
            _ => BTreeMap::new(),
        },
        _ => BTreeMap::new(),
    }
}

pub fn method(name: &str) -> Option<Method> {
    use Ty::*;
    let m = |sig, f| Some(Method { sig, f });
    match name {
        "Get" => m(sig(&[Str]), |_, recv, a| {
            Ok(Value::str(
                files(recv)
                    .get(s(&a[0]))
                    .map(|b| crate::value::gostr::from_bytes(b))
                    .unwrap_or_default(),
            ))
        }),
        "GetBytes" => m(sig(&[Str]), |_, recv, a| {
            Ok(Value::bytes_of(
                files(recv).get(s(&a[0])).map_or(&[], |b| b),
            ))
        }),
        "Glob" => m(sig(&[Str]), |_, recv, a| {
            let pattern = Glob::compile(s(&a[0]))
                .unwrap_or_else(|| Glob::compile("**").unwrap_or(Glob(Vec::new())));
            let matched: BTreeMap<String, Bytes> = files(recv)
                .into_iter()
                .filter(|(k, _)| pattern.matches(k))
                .collect();
            Ok(Value::object(Object::Files(matched)))
        }),
        "Lines" => m(sig(&[Str]), |_, recv, a| {
            let all = files(recv);
            let Some(data) = all.get(s(&a[0])) else {
                return Ok(Value::str_list(Vec::new()));
            };
            let text = crate::value::gostr::from_bytes(data);
            if text.is_empty() {
                return Err(GoError::plain("runtime error: index out of range [-1]"));
            }
            let text = text.strip_suffix('\n').unwrap_or(&text);
            Ok(Value::str_list(
                text.split('\n').map(String::from).collect(),
            ))
        }),
        "AsConfig" => m(sig(&[]), |_, recv, _| {
            Ok(Value::str(as_map(&files(recv), |b| {
                crate::value::gostr::from_bytes(b)
            })))
        }),
        "AsSecrets" => m(sig(&[]), |_, recv, _| {
            Ok(Value::str(as_map(
                &files(recv),
                crate::funcs::encoding::b64encode,
            )))
        }),
        _ => None,
    }
}

/// Files keyed by base name (later names win), as `toYaml` of a `map[string]string`.
fn as_map(files: &BTreeMap<String, Bytes>, f: impl Fn(&[u8]) -> String) -> String {
    let m = Map::typed(BTreeMap::new(), MapType::StringString);
    for (k, v) in files {
        m.insert(crate::funcs::strings::path_base(k), Value::str(f(v)));
    }
    crate::yaml::to_yaml_value(&Value::Map(m))
}

/// A compiled gobwas/glob pattern with `/` as separator.
pub struct Glob(Vec<Tok>);

enum Tok {
    Lit(char),
    Any,       // ?
    Star,      // *
    SuperStar, // **
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
    Alt(Vec<Glob>),
}

impl Glob {
    pub fn compile(pattern: &str) -> Option<Glob> {
        let chars: Vec<char> = pattern.chars().collect();
        let (g, rest) = Self::parse(&chars, false)?;
        if !rest.is_empty() {
            return None;
        }
        Some(g)
    }

    /// Parses until the end, or (inside braces) until `,` or `}`.
    fn parse(mut c: &[char], in_alt: bool) -> Option<(Glob, &[char])> {
        let mut toks = Vec::new();
        while let Some(&ch) = c.first() {
            match ch {
                ',' | '}' if in_alt => break,
                '\\' => {
                    toks.push(Tok::Lit(*c.get(1)?));
                    c = &c[2..];
                }
                '?' => {
                    toks.push(Tok::Any);
                    c = &c[1..];
                }
                '*' => {
                    if c.get(1) == Some(&'*') {
                        toks.push(Tok::SuperStar);
                        c = &c[2..];
                    } else {
                        toks.push(Tok::Star);
                        c = &c[1..];
                    }
                }
                '[' => {
                    let mut i = 1;
                    let negated = c.get(1) == Some(&'!');
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    loop {
                        let a = *c.get(i)?;
                        if a == ']' {
                            i += 1;
                            break;
                        }
                        if c.get(i + 1) == Some(&'-') && c.get(i + 2).is_some_and(|b| *b != ']') {
                            ranges.push((a, c[i + 2]));
                            i += 3;
                        } else {
                            ranges.push((a, a));
                            i += 1;
                        }
                    }
                    toks.push(Tok::Class { negated, ranges });
                    c = &c[i..];
                }
                '{' => {
                    let mut alts = Vec::new();
                    let mut rest = &c[1..];
                    loop {
                        let (g, r) = Self::parse(rest, true)?;
                        alts.push(g);
                        match r.first() {
                            Some(',') => rest = &r[1..],
                            Some('}') => {
                                rest = &r[1..];
                                break;
                            }
                            _ => return None,
                        }
                    }
                    toks.push(Tok::Alt(alts));
                    c = rest;
                }
                _ => {
                    toks.push(Tok::Lit(ch));
                    c = &c[1..];
                }
            }
        }
        Some((Glob(toks), c))
    }

    pub fn matches(&self, s: &str) -> bool {
        let chars: Vec<char> = s.chars().collect();
        match_toks(&self.0, &chars, &[])
    }
}

/// Matches `toks` followed by the continuation `rest` (used for alternatives).
fn match_toks(toks: &[Tok], s: &[char], rest: &[&[Tok]]) -> bool {
    let Some(t) = toks.first() else {
        return match rest.split_first() {
            Some((next, more)) => match_toks(next, s, more),
            None => s.is_empty(),
        };
    };
    let tail = &toks[1..];
    match t {
        Tok::Lit(c) => s.first() == Some(c) && match_toks(tail, &s[1..], rest),
        Tok::Any => s.first().is_some_and(|c| *c != '/') && match_toks(tail, &s[1..], rest),
        Tok::Class { negated, ranges } => {
            s.first().is_some_and(|c| {
                *c != '/' && ranges.iter().any(|(a, b)| a <= c && c <= b) != *negated
            }) && match_toks(tail, &s[1..], rest)
        }
        Tok::Star => {
            for i in 0..=s.len() {
                if i > 0 && s[i - 1] == '/' {
                    break;
                }
                if match_toks(tail, &s[i..], rest) {
                    return true;
                }
            }
            false
        }
        Tok::SuperStar => (0..=s.len()).any(|i| match_toks(tail, &s[i..], rest)),
        Tok::Alt(alts) => alts.iter().any(|g| {
            let mut cont: Vec<&[Tok]> = vec![tail];
            cont.extend_from_slice(rest);
            match_toks(&g.0, s, &cont)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        let g = |p: &str, s: &str| Glob::compile(p).unwrap().matches(s);
        assert!(g("files/*.txt", "files/a.txt"));
        assert!(!g("files/*.txt", "files/x/a.txt"));
        assert!(g("files/**", "files/x/a.txt"));
        assert!(g("**.yaml", "a/b.yaml"));
        assert!(g("f?le", "file"));
        assert!(g("{a,b}.txt", "b.txt"));
        assert!(g("[a-c]x", "bx"));
        assert!(!g("[!a-c]x", "bx"));
    }
}
