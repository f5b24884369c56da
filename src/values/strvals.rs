//! Helm's `--set` syntax (pkg/strvals/parser.go), re-implemented rune for
//! rune: `a.b=c,d[0]=e,f={x,y},g\.h=i`. Where Go would panic on a type
//! assertion (`--set a=1,a.b=2`), this returns the error Helm prints after
//! recovering.

use serde_json::{Map, Value};

const MAX_INDEX: usize = 65536;
pub(super) const MAX_NESTED_NAME_LEVEL: usize = 30;

type Reader<'a> = &'a dyn Fn(&str) -> Result<Value, String>;

/// `--set`: typed values (int64, bool, null, else string).
pub fn parse_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), String> {
    Parser::new(s, &|v: &str| Ok(typed_val(v, false)), false).parse(dest)
}

/// `--set-string`: every value is a string.
pub fn parse_string_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), String> {
    Parser::new(s, &|v: &str| Ok(typed_val(v, true)), false).parse(dest)
}

/// `--set-json key=<json>`.
pub fn parse_json_into(s: &str, dest: &mut Map<String, Value>) -> Result<(), String> {
    Parser::new(s, &|v: &str| Ok(Value::String(v.to_string())), true).parse(dest)
}

/// `--set-file key=path`: the value is the file's contents.
pub fn parse_file_into(
    s: &str,
    dest: &mut Map<String, Value>,
    read: &dyn Fn(&str) -> Result<String, String>,
) -> Result<(), String> {
    let reader = |p: &str| read(p).map(Value::String);
    Parser::new(s, &reader, false).parse(dest)
}

/// strvals.typedVal.
fn typed_val(v: &str, as_string: bool) -> Value {
    if as_string {
        return Value::String(v.to_string());
    }
    if v.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if v.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if v.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if v == "0" {
        return Value::from(0i64);
    }
    if !v.is_empty() && !v.starts_with('0') {
        // Go's ParseInt accepts a leading sign.
        if let Ok(i) = v.parse::<i64>() {
            return Value::from(i);
        }
    }
    Value::String(v.to_string())
}

enum Stop {
    Eof,
    At(char),
}

struct Parser<'a> {
    runes: Vec<char>,
    pos: usize,
    reader: Reader<'a>,
    json: bool,
}

impl<'a> Parser<'a> {
    fn new(s: &str, reader: Reader<'a>, json: bool) -> Self {
        Parser {
            runes: s.chars().collect(),
            pos: 0,
            reader,
            json,
        }
    }

    fn parse(mut self, dest: &mut Map<String, Value>) -> Result<(), String> {
        loop {
            match self.key(dest, 0) {
                Ok(()) => continue,
                Err(Err2::Eof) => return Ok(()),
                Err(Err2::Msg(m)) => return Err(m),
            }
        }
    }

    fn read_rune(&mut self) -> Option<char> {
        let r = self.runes.get(self.pos).copied();
        if r.is_some() {
            self.pos += 1;
        }
        r
    }

    fn unread(&mut self) {
        self.pos -= 1;
    }

    /// runesUntil: read up to a stop rune, honouring backslash escapes.
    fn runes_until(&mut self, stop: &[char]) -> (String, Stop) {
        let mut v = String::new();
        loop {
            match self.read_rune() {
                None => return (v, Stop::Eof),
                Some(r) if stop.contains(&r) => return (v, Stop::At(r)),
                Some('\\') => match self.read_rune() {
                    None => return (v, Stop::Eof),
                    Some(n) => v.push(n),
                },
                Some(r) => v.push(r),
            }
        }
    }

    fn key(&mut self, data: &mut Map<String, Value>, mut level: usize) -> Result<(), Err2> {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        match last {
            Stop::Eof => {
                if k.is_empty() {
                    Err(Err2::Eof)
                } else {
                    Err(Err2::Msg(format!("key {k:?} has no value")))
                }
            }
            Stop::At('[') => {
                let i = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(a)) => a.clone(),
                    Some(other) => return Err(Err2::Msg(clash(other, "[]interface {}"))),
                };
                let (list, res) = self.list_item(list, i, level);
                set(data, &k, Value::Array(list));
                res
            }
            Stop::At('=') => {
                if self.json {
                    return self.json_value().map(|v| set(data, &k, v));
                }
                match self.val_list() {
                    Ok(vl) => {
                        set(data, &k, Value::Array(vl));
                        Ok(())
                    }
                    Err(ListErr::Eof) => {
                        set(data, &k, Value::String(String::new()));
                        Err(Err2::Eof)
                    }
                    Err(ListErr::NotList) => {
                        let rs = self.val();
                        let v = (self.reader)(&rs).map_err(Err2::Msg)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(ListErr::Msg(m)) => Err(Err2::Msg(m)),
                }
            }
            Stop::At(',') => {
                set(data, &k, Value::String(String::new()));
                Err(Err2::Msg(format!(
                    "key {k:?} has no value (cannot end with ,)"
                )))
            }
            Stop::At(_) => {
                // '.'
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(Err2::Msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(m)) => m.clone(),
                    Some(other) => return Err(Err2::Msg(clash(other, "map[string]interface {}"))),
                };
                let e = self.key(&mut inner, level);
                if e.is_ok() && inner.is_empty() {
                    return Err(Err2::Msg(format!("key map {k:?} has no value")));
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<usize, Err2> {
        let (v, last) = self.runes_until(&[']']);
        if let Stop::Eof = last {
            return Err(Err2::Eof);
        }
        let i: i64 = v.parse().map_err(|_| {
            Err2::Msg(format!(
                "error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax"
            ))
        })?;
        if i < 0 {
            return Err(Err2::Msg(format!("negative {i} index not allowed")));
        }
        Ok(i as usize)
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: usize,
        level: usize,
    ) -> (Vec<Value>, Result<(), Err2>) {
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                // Go formats the []rune with %q: each rune quoted.
                Err(Err2::Msg(format!(
                    "unexpected data at end of array index: [{}]",
                    k.chars()
                        .map(berth_template::gofmt::quote_rune)
                        .collect::<Vec<_>>()
                        .join(" ")
                ))),
            );
        }
        match last {
            Stop::Eof => (list, Err(Err2::Eof)),
            Stop::At('=') => {
                if self.json {
                    return match self.json_value() {
                        Ok(v) => set_index(list, i, v),
                        Err(e) => (list, Err(e)),
                    };
                }
                match self.val_list() {
                    Ok(vl) => set_index(list, i, Value::Array(vl)),
                    Err(ListErr::Eof) => set_index(list, i, Value::String(String::new())),
                    Err(ListErr::NotList) => {
                        let rs = self.val();
                        match (self.reader)(&rs) {
                            Ok(v) => set_index(list, i, v),
                            Err(m) => (list, Err(Err2::Msg(m))),
                        }
                    }
                    Err(ListErr::Msg(m)) => (list, Err(Err2::Msg(m))),
                }
            }
            Stop::At('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let current = match list.get(i) {
                    Some(Value::Array(a)) => a.clone(),
                    Some(Value::Null) | None => Vec::new(),
                    Some(other) => {
                        let msg = clash(other, "[]interface {}");
                        return (list, Err(Err2::Msg(msg)));
                    }
                };
                let shared = current.len();
                let (inner, res) = self.list_item(current, next, level);
                if let Err(e) = res {
                    // Go's nested list shares its elements with list[i]:
                    // what changed in them before the stop stays.
                    if let Some(Value::Array(a)) = list.get_mut(i) {
                        for (slot, v) in a.iter_mut().zip(inner.into_iter().take(shared)) {
                            *slot = v;
                        }
                    }
                    return (list, Err(e));
                }
                set_index(list, i, Value::Array(inner))
            }
            Stop::At(_) => {
                // '.'
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
                    // Where the list reaches i, Go's inner is list[i]'s own
                    // map: what key set before it stopped (`x=` at the end
                    // of the expression) stays; a new element is dropped.
                    if let Some(slot) = list.get_mut(i) {
                        *slot = Value::Object(inner);
                    }
                    return (list, Err(e));
                }
                set_index(list, i, Value::Object(inner))
            }
        }
    }

    /// After `=` in --set-json: an empty value is null, otherwise one JSON value.
    fn json_value(&mut self) -> Result<Value, Err2> {
        if self.empty_val() {
            return Ok(Value::Null);
        }
        let rest: String = self.runes[self.pos..].iter().collect();
        // Helm reads it with a json.Decoder: its errors are encoding/json's.
        use berth_template::json::{PrefixError, unmarshal_prefix};
        let (v, taken) = match unmarshal_prefix(&rest) {
            Ok(Some(found)) => found,
            Ok(None) => return Err(Err2::Msg("EOF".into())),
            Err(PrefixError::UnexpectedEof) => return Err(Err2::Msg("unexpected EOF".into())),
            Err(PrefixError::Syntax(msg, _)) => return Err(Err2::Msg(msg)),
        };
        let v = berth_template::value::json::to_json(&v);
        self.pos += rest[..taken].chars().count();
        self.empty_val();
        Ok(super::helm_numbers(v))
    }

    /// Skip whitespace up to a comma or the end; false if something else follows.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.read_rune() {
                None | Some(',') => return true,
                Some(r) if r.is_whitespace() => continue,
                Some(_) => {
                    self.unread();
                    return false;
                }
            }
        }
    }

    fn val(&mut self) -> String {
        self.runes_until(&[',']).0
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListErr> {
        match self.read_rune() {
            None => return Err(ListErr::Eof),
            Some('{') => {}
            Some(_) => {
                self.unread();
                return Err(ListErr::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                Stop::Eof => return Err(ListErr::Msg("list must terminate with '}'".into())),
                Stop::At('}') => {
                    if let Some(r) = self.read_rune()
                        && r != ','
                    {
                        self.unread();
                    }
                    list.push((self.reader)(&rs).map_err(ListErr::Msg)?);
                    return Ok(list);
                }
                Stop::At(_) => list.push((self.reader)(&rs).map_err(ListErr::Msg)?),
            }
        }
    }
}

enum Err2 {
    Eof,
    Msg(String),
}

enum ListErr {
    Eof,
    NotList,
    Msg(String),
}

/// The message Go prints when Helm's parser recovers from a failed type
/// assertion on an existing value.
pub(super) fn clash(existing: &Value, wanted: &str) -> String {
    let go_type = match existing {
        Value::Null => "nil",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    };
    format!("unable to parse key: interface conversion: interface {{}} is {go_type}, not {wanted}")
}

pub(super) fn set(data: &mut Map<String, Value>, key: &str, v: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), v);
    }
}

fn set_index(list: Vec<Value>, i: usize, v: Value) -> (Vec<Value>, Result<(), Err2>) {
    let (list, res) = set_index_checked(list, i, v);
    (list, res.map_err(Err2::Msg))
}

/// strvals.setIndex: grow the list with nulls up to `i`, within Helm's limit.
pub(super) fn set_index_checked(
    mut list: Vec<Value>,
    i: usize,
    v: Value,
) -> (Vec<Value>, Result<(), String>) {
    if i > MAX_INDEX {
        return (
            list,
            Err(format!(
                "index of {i} is greater than maximum supported index of {MAX_INDEX}"
            )),
        );
    }
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = v;
    (list, Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(s: &str) -> Result<Value, String> {
        let mut m = Map::new();
        parse_into(s, &mut m).map(|_| Value::Object(m))
    }

    #[test]
    fn scalars_are_typed_like_helm() {
        assert_eq!(
            set("a=1,b=true,c=null,d=0,e=007,f=-3,g=1.5,h=").unwrap(),
            json!({"a":1,"b":true,"c":null,"d":0,"e":"007","f":-3,"g":"1.5","h":""})
        );
    }

    #[test]
    fn nesting_lists_and_escapes() {
        assert_eq!(
            set("a.b.c=x,l[1]=y,m={p,q},n\\.o=z,arr[0].name=w").unwrap(),
            json!({"a":{"b":{"c":"x"}},"l":[null,"y"],"m":["p","q"],"n.o":"z","arr":[{"name":"w"}]})
        );
    }

    #[test]
    fn errors_match_helm() {
        assert_eq!(set("a").unwrap_err(), "key \"a\" has no value");
        assert_eq!(
            set("a,").unwrap_err(),
            "key \"a\" has no value (cannot end with ,)"
        );
        assert_eq!(
            set("a[x]=1").unwrap_err(),
            "error parsing index: strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            set("a=1,a.b=2").unwrap_err(),
            "unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}"
        );
        assert_eq!(set("a[-1]=2").unwrap_err(), "negative -1 index not allowed");
        assert_eq!(set("a.b=1,a=2").unwrap(), serde_json::json!({"a": 2}));
        assert_eq!(
            set("a[0]=1,a[0].b=2").unwrap(),
            serde_json::json!({"a": [{"b": 2}]})
        );
        assert_eq!(set("a={}").unwrap(), serde_json::json!({"a": [""]}));
        assert_eq!(
            set("x=+5,y=1e3").unwrap(),
            serde_json::json!({"x": 5, "y": "1e3"})
        );
        assert!(set("a[70000]=1").is_err());
    }

    #[test]
    fn json_values() {
        let mut m = Map::new();
        parse_json_into("a={\"b\":1},c=[1,2]", &mut m).unwrap();
        assert_eq!(Value::Object(m), json!({"a":{"b":1.0},"c":[1.0,2.0]}));
    }

    #[test]
    fn json_errors_are_encoding_json_s() {
        let err = |s: &str| parse_json_into(s, &mut Map::new()).unwrap_err();
        assert_eq!(err("a=[1"), "unexpected EOF");
        assert_eq!(
            err("a=x"),
            "invalid character 'x' looking for beginning of value"
        );
        assert_eq!(
            err("a={bad"),
            "invalid character 'b' looking for beginning of object key string"
        );
        assert_eq!(
            err("a=1e400"),
            "json: cannot unmarshal number 1e400 into Go value of type float64"
        );
        assert_eq!(
            err("b=[1,a={}"),
            "invalid character 'a' looking for beginning of value"
        );
        assert_eq!(
            parse_into("n[0][1],a[0]=true", &mut Map::new()).unwrap_err(),
            "unexpected data at end of array index: [',' 'a']"
        );
        assert_eq!(
            parse_into("a[0]\"q'=1", &mut Map::new()).unwrap_err(),
            "unexpected data at end of array index: ['\"' 'q' '\\'']"
        );
    }
}
