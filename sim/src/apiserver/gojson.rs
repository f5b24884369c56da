//! A JSON value read into a typed struct as Go's `encoding/json` reads it: a `null` is the
//! zero value of whatever type the field has (an empty string, 0, false, an empty list or
//! map, an absent optional), where serde refuses a null for anything but an `Option`.
//!
//! kube-apiserver decodes built-in kinds that way, so a chart's `labels: {version: }` (a
//! label whose template rendered nothing) is stored as `""` rather than refused.

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Error, Value};

/// Deserializes the value it wraps with Go's treatment of `null`.
pub struct GoJson<'a>(pub &'a Value);

/// `T` from `v` as Go's `encoding/json` would fill it.
pub fn from_value<'a, T: serde::Deserialize<'a>>(v: &'a Value) -> Result<T, Error> {
    T::deserialize(GoJson(v))
}

struct Seq<'a>(std::slice::Iter<'a, Value>);

impl<'de> SeqAccess<'de> for Seq<'de> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        self.0
            .next()
            .map(|v| seed.deserialize(GoJson(v)))
            .transpose()
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct Map<'a> {
    entries: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
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
        seed.deserialize(GoJson(v))
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// What a `null` reads as where nothing else is expected: nothing at all.
fn empty_seq<'de, V: Visitor<'de>>(visitor: V) -> Result<V::Value, Error> {
    visitor.visit_seq(Seq([].iter()))
}

/// The zero value of the expected type, for a `null`; the value itself otherwise.
macro_rules! zero_for_null {
    ($($method:ident => $zero:expr),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            match self.0 {
                Value::Null => $zero(visitor),
                v => v.$method(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for GoJson<'de> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            Value::Object(m) => visitor.visit_map(Map {
                entries: m.iter(),
                value: None,
            }),
            v => v.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => empty_seq(visitor),
            Value::Array(items) => visitor.visit_seq(Seq(items.iter())),
            v => v.deserialize_seq(visitor),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.0 {
            Value::Null => visitor.visit_map(Map {
                entries: EMPTY.iter(),
                value: None,
            }),
            Value::Object(m) => visitor.visit_map(Map {
                entries: m.iter(),
                value: None,
            }),
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
        self.0.deserialize_enum(name, variants, visitor)
    }

    zero_for_null! {
        deserialize_bool => |v: V| v.visit_bool(false),
        deserialize_i8 => |v: V| v.visit_i64(0),
        deserialize_i16 => |v: V| v.visit_i64(0),
        deserialize_i32 => |v: V| v.visit_i64(0),
        deserialize_i64 => |v: V| v.visit_i64(0),
        deserialize_u8 => |v: V| v.visit_u64(0),
        deserialize_u16 => |v: V| v.visit_u64(0),
        deserialize_u32 => |v: V| v.visit_u64(0),
        deserialize_u64 => |v: V| v.visit_u64(0),
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
/// struct field left at its zero value, omitted when written back).
pub fn settle_nulls(stored: &mut Value, read: &Value) {
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
                    settle_nulls(v, rv);
                }
            }
        }
        (Value::Array(s), Value::Array(r)) if s.len() == r.len() => {
            for (sv, rv) in s.iter_mut().zip(r) {
                if sv.is_null() {
                    *sv = rv.clone();
                } else {
                    settle_nulls(sv, rv);
                }
            }
        }
        _ => {}
    }
}
