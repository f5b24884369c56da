//! Helm's `--set-literal` (pkg/strvals/literal_parser.go): keys as in
//! `--set` (dots, indices) but no escapes and no lists, and the value is
//! everything after the first `=`, commas included, always a string.

use serde_json::{Map, Value};

use super::strvals::{MAX_NESTED_NAME_LEVEL, clash, set, set_index_checked};

/// Why a step stopped: the end of the input (not an error at top level)
/// or Helm's message.
enum Stop {
    Eof,
    Msg(String),
}

/// `strvals.ParseLiteralInto`.
pub fn parse_literal_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), String> {
    let mut p = Literal {
        runes: s.chars().collect(),
        pos: 0,
    };
    loop {
        match p.key(dest, 0) {
            Ok(()) => continue,
            Err(Stop::Eof) => return Ok(()),
            Err(Stop::Msg(m)) => return Err(m),
        }
    }
}

struct Literal {
    runes: Vec<char>,
    pos: usize,
}

impl Literal {
    /// runesUntilLiteral: up to a stop rune (returned) or the end (None).
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        while let Some(&r) = self.runes.get(self.pos) {
            self.pos += 1;
            if stop.contains(&r) {
                return (v, Some(r));
            }
            v.push(r);
        }
        (v, None)
    }

    fn rest(&mut self) -> String {
        self.until(&[]).0
    }

    fn key(&mut self, data: &mut Map<String, Value>, mut level: usize) -> Result<(), Stop> {
        let (key, last) = self.until(&['=', '[', '.']);
        match last {
            None if key.is_empty() => Err(Stop::Eof),
            None => Err(Stop::Msg(format!("key {key:?} has no value"))),
            Some('=') => {
                let value = self.rest();
                set(data, &key, Value::String(value));
                Ok(())
            }
            Some('.') => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(Stop::Msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&key) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => return Err(Stop::Msg(clash(other, "map[string]interface {}"))),
                };
                let res = self.key(&mut inner, level);
                if res.is_ok() && inner.is_empty() {
                    return Err(Stop::Msg(format!("key map {key:?} has no value")));
                }
                if !inner.is_empty() {
                    set(data, &key, Value::Object(inner));
                }
                res
            }
            Some(_) => {
                // '['
                let i = self.key_index()?;
                let list = match data.get(&key) {
                    None => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(other) => return Err(Stop::Msg(clash(other, "[]interface {}"))),
                };
                let (list, res) = self.list_item(list, i, level);
                set(data, &key, Value::Array(list));
                res
            }
        }
    }

    /// The index up to `]`, as strconv.Atoi reads it (a sign is allowed;
    /// negative indices are refused by the caller, as in Helm).
    fn key_index(&mut self) -> Result<i64, Stop> {
        let (v, last) = self.until(&[']']);
        if last.is_none() {
            // Helm wraps io.EOF ("error parsing index: EOF") with %w, and
            // its parse loop, testing with errors.Is, takes that for the
            // end of the input: no error.
            return Err(Stop::Eof);
        }
        v.parse::<i64>().map_err(|e| {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            Stop::Msg(format!(
                "error parsing index: strconv.Atoi: parsing {v:?}: {why}"
            ))
        })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> (Vec<Value>, Result<(), Stop>) {
        if i < 0 {
            return (
                list,
                Err(Stop::Msg(format!("negative {i} index not allowed"))),
            );
        }
        let i = i as usize;
        let (key, last) = self.until(&['[', '.', '=']);
        if !key.is_empty() {
            // Go formats the []rune with %q: each rune quoted.
            let runes: Vec<String> = key.chars().map(|c| format!("{c:?}")).collect();
            let msg = format!(
                "unexpected data at end of array index: [{}]",
                runes.join(" ")
            );
            return (list, Err(Stop::Msg(msg)));
        }
        match last {
            None => (list, Err(Stop::Eof)),
            Some('=') => {
                let value = self.rest();
                wrap(set_index_checked(list, i, Value::String(value)))
            }
            Some('.') => {
                let mut inner = match list.get(i) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                if let Some(slot) = list.get_mut(i)
                    && !slot.is_object()
                {
                    *slot = Value::Object(Map::new());
                }
                if let Err(e) = self.key(&mut inner, level) {
                    return (list, Err(e));
                }
                wrap(set_index_checked(list, i, Value::Object(inner)))
            }
            Some(_) => {
                // '[': a list in a list.
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i) {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        let msg = clash(other, "[]interface {}");
                        return (list, Err(Stop::Msg(msg)));
                    }
                };
                let (inner, res) = self.list_item(current, next, level);
                if let Err(e) = res {
                    return (list, Err(e));
                }
                wrap(set_index_checked(list, i, Value::Array(inner)))
            }
        }
    }
}

fn wrap(r: (Vec<Value>, Result<(), String>)) -> (Vec<Value>, Result<(), Stop>) {
    (r.0, r.1.map_err(Stop::Msg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lit(s: &str) -> Result<Value, String> {
        let mut m = Map::new();
        parse_literal_into(s, &mut m).map(|_| Value::Object(m))
    }

    #[test]
    fn the_value_is_the_rest_of_the_line_as_a_string() {
        assert_eq!(
            lit("a.b=1,c=d,{e}\\n").unwrap(),
            json!({"a": {"b": "1,c=d,{e}\\n"}})
        );
        assert_eq!(lit("x=true").unwrap(), json!({"x": "true"}));
        assert_eq!(lit("l[1].n=v").unwrap(), json!({"l": [null, {"n": "v"}]}));
        assert_eq!(lit("m[0][1]=z").unwrap(), json!({"m": [[null, "z"]]}));
        assert_eq!(lit("e=").unwrap(), json!({"e": ""}));
        // An index the input ends in is the end of the input, as in Helm.
        assert_eq!(lit("a[").unwrap(), json!({}));
        assert_eq!(lit("b=1,a[=0").unwrap(), json!({"b": "1,a[=0"}));
        assert_eq!(lit("a[=0").unwrap(), json!({}));
        assert_eq!(lit("a[0][").unwrap(), json!({"a": []}));
        assert_eq!(lit("x.a[1").unwrap(), json!({}));
        assert_eq!(lit("a[0].b[").unwrap(), json!({"a": []}));
    }

    #[test]
    fn errors_read_as_helms() {
        assert_eq!(lit("a").unwrap_err(), "key \"a\" has no value");
        assert_eq!(lit("a[-1]=2").unwrap_err(), "negative -1 index not allowed");
        assert_eq!(
            lit("a[x]=1").unwrap_err(),
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            lit("a[0]b=1").unwrap_err(),
            "unexpected data at end of array index: ['b']"
        );
    }
}
