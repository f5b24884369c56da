//! A JSON document as the validator holds schemas: like Go's `any` from a
//! decoder with `UseNumber`, so a number keeps its text (`1.50` prints as
//! written in messages).

use std::collections::BTreeMap;

/// A schema document node.
#[derive(Clone, Debug, PartialEq)]
pub enum Sj {
    Null,
    Bool(bool),
    /// A number's text, as written.
    Num(String),
    Str(String),
    Arr(Vec<Sj>),
    Obj(BTreeMap<String, Sj>),
}

impl Sj {
    pub fn get(&self, key: &str) -> Option<&Sj> {
        match self {
            Sj::Obj(m) => m.get(key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Sj::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node as an instance to validate (a schema document checked
    /// against its metaschema): numbers as Helm's values hold them.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Sj::Null => J::Null,
            Sj::Bool(b) => J::Bool(*b),
            Sj::Num(t) => {
                if let Ok(i) = t.parse::<i64>() {
                    J::from(i)
                } else if let Ok(u) = t.parse::<u64>() {
                    J::from(u)
                } else {
                    let f = t.parse::<f64>().unwrap_or(0.0);
                    J::from(if f.is_finite() {
                        f
                    } else {
                        f64::MAX.copysign(f)
                    })
                }
            }
            Sj::Str(s) => J::String(s.clone()),
            Sj::Arr(a) => J::Array(a.iter().map(Sj::to_json).collect()),
            Sj::Obj(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
        }
    }

    /// Follows an (unescaped) JSON pointer token.
    pub fn child(&self, tok: &str) -> Option<&Sj> {
        match self {
            Sj::Obj(m) => m.get(tok),
            Sj::Arr(a) => {
                if tok.is_empty() || (tok.len() > 1 && tok.starts_with('0')) {
                    return None;
                }
                tok.parse::<usize>().ok().and_then(|i| a.get(i))
            }
            _ => None,
        }
    }
}

/// Parses JSON text already known to be valid (Go's decoder checked it,
/// with its error messages); duplicate keys keep the last value as Go's
/// decoder does.
pub fn parse(text: &str) -> Option<Sj> {
    let mut p = Parser {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value(0)?;
    p.ws();
    (p.i == p.s.len()).then_some(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Option<Sj> {
        if depth > 10_000 {
            return None;
        }
        self.ws();
        match *self.s.get(self.i)? {
            b'{' => {
                self.i += 1;
                let mut m = BTreeMap::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Some(Sj::Obj(m));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.ws();
                    if self.s.get(self.i) != Some(&b':') {
                        return None;
                    }
                    self.i += 1;
                    let v = self.value(depth + 1)?;
                    m.insert(k, v);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b'}' => {
                            self.i += 1;
                            return Some(Sj::Obj(m));
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Some(Sj::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    match self.s.get(self.i)? {
                        b',' => self.i += 1,
                        b']' => {
                            self.i += 1;
                            return Some(Sj::Arr(a));
                        }
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Sj::Str),
            b't' => self.word("true", Sj::Bool(true)),
            b'f' => self.word("false", Sj::Bool(false)),
            b'n' => self.word("null", Sj::Null),
            _ => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                (self.i > start)
                    .then(|| Sj::Num(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
            }
        }
    }

    fn word(&mut self, w: &str, v: Sj) -> Option<Sj> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Some(v)
        } else {
            None
        }
    }

    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i) != Some(&b'"') {
            return None;
        }
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = *self.s.get(self.i)?;
            self.i += 1;
            match c {
                b'"' => return Some(crate::value::gostr::from_bytes(&out)),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.i) == Some(&b'\\')
                                && self.s.get(self.i + 1) == Some(&b'u')
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    self.i = save;
                                }
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                        }
                        _ => return None,
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = std::str::from_utf8(self.s.get(self.i..self.i + 4)?).ok()?;
        self.i += 4;
        u32::from_str_radix(h, 16).ok()
    }
}
