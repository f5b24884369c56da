//! A JSON value read into a typed struct as Go's `encoding/json` reads it: a `null` is the
//! zero value of whatever type the field has (an empty string, 0, false, an empty list or
//! map, an absent optional), where serde refuses a null for anything but an `Option`.
//!
//! kube-apiserver decodes built-in kinds that way, so a chart's `labels: {version: }` (a
//! label whose template rendered nothing) is stored as `""` rather than refused.
//!
//! A server-side apply goes through an unstructured object and apimachinery's
//! `FromUnstructured`, which also takes a whole float for an integer field (Helm renders
//! 1000000 from values.yaml as `1e+06`); other writes decode the JSON into the struct
//! directly and refuse it, as Go's decoder does.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Value};

/// Deserializes the value it wraps with Go's treatment of `null`; with `whole_floats`,
/// a float without a fraction is taken for an integer (`FromUnstructured`).
#[derive(Clone, Copy)]
pub struct GoJson<'a> {
    value: &'a Value,
    whole_floats: bool,
}

/// `T` from `v` as Go's `encoding/json` would fill it; `apply`: as a server-side apply
/// does, through `FromUnstructured`.
pub fn from_value<'a, T: serde::Deserialize<'a>>(v: &'a Value, apply: bool) -> Result<T, Error> {
    T::deserialize(GoJson {
        value: v,
        whole_floats: apply,
    })
}

impl<'a> GoJson<'a> {
    fn child(self, value: &'a Value) -> GoJson<'a> {
        GoJson { value, ..self }
    }

    /// The elements of a list, each read as this value is.
    fn seq(self, items: &'a [Value]) -> Seq<'a> {
        Seq {
            items: items.iter(),
            of: self,
        }
    }

    /// The entries of a map, each value read as this one is.
    fn map(self, entries: &'a serde_json::Map<String, Value>) -> Map<'a> {
        Map {
            entries: entries.iter(),
            value: None,
            of: self,
        }
    }

    /// The integer a whole float stands for, where that is taken.
    fn whole(self) -> Option<f64> {
        let f = self
            .value
            .as_f64()
            .filter(|_| self.whole_floats && self.value.is_f64())?;
        (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f)
    }
}

struct Seq<'a> {
    items: std::slice::Iter<'a, Value>,
    of: GoJson<'a>,
}

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        let of = self.of;
        self.items
            .next()
            .map(|v| seed.deserialize(of.child(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Map<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
    of: GoJson<'a>,
}

impl<'de> MapAccess<'de> for Map<'de> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some((k, v)) => {
                self.value = Some(v);
                seed.deserialize(BorrowedStrDeserializer::new(k)).map(Some)
            }
        }
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let v = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("a map value asked for before its key"))?;
        seed.deserialize(self.of.child(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The zero value of the expected type, for a `null`; the value itself otherwise.
macro_rules! zero_for_null {
    ($($method:ident => $zero:expr),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.value {
                Value::Null => $zero(visitor),
                v => v.$method(visitor),
            }
        }
    )*};
}

/// [`zero_for_null`] for integers, which also take a whole float where that is allowed.
macro_rules! integer {
    ($($method:ident => $visit:ident as $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match (self.value, self.whole()) {
                (Value::Null, _) => visitor.$visit(0),
                (_, Some(f)) => visitor.$visit(f as $t),
                (v, None) => v.$method(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for GoJson<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Array(items) => visitor.visit_seq(self.seq(items)),
            Value::Object(m) => visitor.visit_map(self.map(m)),
            v => v.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            // What a `null` reads as where a list is expected: an empty one.
            Value::Null => visitor.visit_seq(self.seq(&[])),
            Value::Array(items) => visitor.visit_seq(self.seq(items)),
            v => v.deserialize_seq(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_map(self.map(&EMPTY)),
            Value::Object(m) => visitor.visit_map(self.map(m)),
            v => v.deserialize_map(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.deserialize_enum(name, variants, visitor)
    }

    integer! {
        deserialize_i8 => visit_i64 as i64,
        deserialize_i16 => visit_i64 as i64,
        deserialize_i32 => visit_i64 as i64,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u64 as u64,
        deserialize_u16 => visit_u64 as u64,
        deserialize_u32 => visit_u64 as u64,
        deserialize_u64 => visit_u64 as u64,
    }

    zero_for_null! {
        deserialize_bool => |v: V| v.visit_bool(false),
        deserialize_f32 => |v: V| v.visit_f64(0.0),
        deserialize_f64 => |v: V| v.visit_f64(0.0),
        deserialize_str => |v: V| v.visit_borrowed_str(""),
        deserialize_string => |v: V| v.visit_borrowed_str(""),
        deserialize_bytes => |v: V| v.visit_borrowed_bytes(&[]),
        deserialize_byte_buf => |v: V| v.visit_borrowed_bytes(&[]),
        deserialize_char => |v: V| v.visit_borrowed_str(""),
    }

    serde::forward_to_deserialize_any! {
        unit unit_struct tuple tuple_struct identifier ignored_any
    }
}

/// The entries of a `null` read as a map.
static EMPTY: std::sync::LazyLock<serde_json::Map<String, Value>> =
    std::sync::LazyLock::new(serde_json::Map::new);

/// Makes `stored` hold what Go would have read: each `null` member replaced by what the
/// typed form `read` has there (a string map's `""`), or removed where it has nothing (a
/// struct field left at its zero value, omitted when written back); a whole float read as
/// an integer is that integer.
pub fn settle(stored: &mut Value, read: &Value) {
    match (stored, read) {
        (Value::Object(s), Value::Object(r)) => {
            let nulls: Vec<String> = s
                .iter()
                .filter(|(_, v)| v.is_null())
                .map(|(k, _)| k.clone())
                .collect();
            for k in nulls {
                match r.get(&k) {
                    Some(v) if !v.is_null() => {
                        s.insert(k, v.clone());
                    }
                    _ => {
                        s.remove(&k);
                    }
                }
            }
            for (k, v) in s.iter_mut() {
                if let Some(rv) = r.get(k) {
                    settle(v, rv);
                }
            }
        }
        (Value::Array(s), Value::Array(r)) if s.len() == r.len() => {
            for (sv, rv) in s.iter_mut().zip(r) {
                if sv.is_null() {
                    *sv = rv.clone();
                } else {
                    settle(sv, rv);
                }
            }
        }
        (Value::Number(s), Value::Number(r)) if s.is_f64() && !r.is_f64() => {
            *s = r.clone();
        }
        _ => {}
    }
}
