//! The serde `Deserializer` over a node tree, which locates every error and
//! collects every unknown key on the way down.

use std::cell::RefCell;

use serde::de::{self, Visitor};

use super::access::{MapDe, SeqDe};
use super::scalar::{parse_bool, parse_float, parse_int};
use super::{Error, Node, Path, UnknownKey, Value};

/// Deserializes `T` from `node`, returning it with the unknown keys found anywhere
/// below. `path` names the node in messages.
pub fn from_node<'de, T: de::Deserialize<'de>>(
    node: &'de Node,
    path: &Path,
) -> Result<(T, Vec<UnknownKey>), Error> {
    let unknown = RefCell::new(Vec::new());
    let value = T::deserialize(NodeDe {
        node,
        path,
        unknown: &unknown,
        top_fields: None,
    })?;
    Ok((value, unknown.into_inner()))
}

pub(super) struct NodeDe<'de, 'p> {
    pub(super) node: &'de Node,
    pub(super) path: &'p Path<'p>,
    pub(super) unknown: &'p RefCell<Vec<UnknownKey>>,
    /// Set for a composite part: record the struct's fields instead of checking.
    pub(super) top_fields: Option<&'p std::cell::Cell<&'static [&'static str]>>,
}

impl<'de, 'p> NodeDe<'de, 'p> {
    pub(super) fn child<'q>(&self, node: &'de Node, path: &'q Path<'q>) -> NodeDe<'de, 'q>
    where
        'p: 'q,
    {
        NodeDe {
            node,
            path,
            unknown: self.unknown,
            top_fields: None,
        }
    }

    fn invalid(&self, expected: &str) -> Error {
        let found = match &self.node.value {
            Value::Scalar { text, .. } => format!("{text:?}"),
            _ => self.node.kind().to_string(),
        };
        Error {
            message: format!("expected {expected}, found {found}"),
            mark: Some(self.node.mark),
            path: self.path.to_string(),
        }
    }

    fn scalar(&self) -> Option<(&'de str, bool)> {
        match &self.node.value {
            Value::Scalar { text, plain } => Some((text.as_str(), *plain)),
            _ => None,
        }
    }

    fn located<T>(&self, r: Result<T, Error>) -> Result<T, Error> {
        r.map_err(|e| e.locate(self.node.mark, self.path))
    }
}

macro_rules! forward_int {
    ($($method:ident => $visit:ident as $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
            let v = match self.scalar() {
                Some((text, true)) => parse_int(text).and_then(|v| <$t>::try_from(v).ok()),
                _ => None,
            };
            match v {
                Some(v) => self.located(visitor.$visit(v)),
                None => Err(self.invalid(concat!("an integer (", stringify!($t), ")"))),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for NodeDe<'de, '_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_unit(),
            Value::Scalar { text, plain: false } => visitor.visit_borrowed_str(text),
            Value::Scalar { text, plain: true } => {
                if let Some(b) = text.parse::<bool>().ok().filter(|_| text.len() >= 4) {
                    visitor.visit_bool(b)
                } else if let Some(i) = parse_int(text) {
                    if let Ok(i) = i64::try_from(i) {
                        visitor.visit_i64(i)
                    } else if let Ok(u) = u64::try_from(i) {
                        visitor.visit_u64(u)
                    } else {
                        visitor.visit_borrowed_str(text)
                    }
                } else if let Some(f) = parse_float(text) {
                    visitor.visit_f64(f)
                } else {
                    visitor.visit_borrowed_str(text)
                }
            }
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                de: &self,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                de: &self,
            }),
        };
        self.located(r)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.scalar() {
            Some((text, true)) => match parse_bool(text) {
                Some(b) => self.located(visitor.visit_bool(b)),
                None => Err(self.invalid("true or false")),
            },
            _ => Err(self.invalid("true or false")),
        }
    }

    forward_int! {
        deserialize_i8 => visit_i8 as i8,
        deserialize_i16 => visit_i16 as i16,
        deserialize_i32 => visit_i32 as i32,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u8 as u8,
        deserialize_u16 => visit_u16 as u16,
        deserialize_u32 => visit_u32 as u32,
        deserialize_u64 => visit_u64 as u64,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self
            .scalar()
            .and_then(|(t, plain)| plain.then(|| parse_float(t)).flatten())
        {
            Some(f) => self.located(visitor.visit_f64(f)),
            None => Err(self.invalid("a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // Go leaves a string empty when the YAML value is null; Skiff also keeps
        // plain `1.10` or `yes` as the text written rather than retyping it.
        let r = match &self.node.value {
            Value::Null => visitor.visit_borrowed_str(""),
            Value::Scalar { text, .. } => visitor.visit_borrowed_str(text),
            _ => return Err(self.invalid("a string")),
        };
        self.located(r)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            self.located(visitor.visit_none())
        } else {
            let r = visitor.visit_some(NodeDe {
                node: self.node,
                path: self.path,
                unknown: self.unknown,
                top_fields: self.top_fields,
            });
            self.located(r)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.node.is_null() {
            self.located(visitor.visit_unit())
        } else {
            Err(self.invalid("null"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        let (mark, path) = (self.node.mark, self.path);
        visitor
            .visit_newtype_struct(self)
            .map_err(|e| e.locate(mark, path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_seq(SeqDe {
                items: [].iter().enumerate(),
                de: &self,
            }),
            Value::Seq(items) => visitor.visit_seq(SeqDe {
                items: items.iter().enumerate(),
                de: &self,
            }),
            _ => return Err(self.invalid("a list")),
        };
        self.located(r)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let r = match &self.node.value {
            Value::Null => visitor.visit_map(MapDe {
                entries: [].iter(),
                value: None,
                de: &self,
            }),
            Value::Map(entries) => visitor.visit_map(MapDe {
                entries: entries.iter(),
                value: None,
                de: &self,
            }),
            _ => return Err(self.invalid("a mapping")),
        };
        self.located(r)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.top_fields {
            Some(sink) => sink.set(fields),
            None => {
                for e in self.node.entries() {
                    if !fields.contains(&e.key.as_str()) {
                        self.unknown.borrow_mut().push(UnknownKey {
                            path: self.path.to_string(),
                            key: e.key.clone(),
                            mark: e.key_mark,
                            suggestion: crate::diagnostics::did_you_mean(
                                &e.key,
                                fields.iter().copied(),
                            ),
                        });
                    }
                }
            }
        }
        self.deserialize_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        match self.scalar() {
            Some((text, _)) => {
                if !variants.contains(&text) {
                    let hint = crate::diagnostics::did_you_mean(text, variants.iter().copied())
                        .map(|s| format!(" — did you mean `{s}`?"))
                        .unwrap_or_default();
                    return Err(self.invalid(&format!("one of {}{hint}", variants.join(", "))));
                }
                let d = de::value::BorrowedStrDeserializer::<'de, Error>::new(text);
                self.located(visitor.visit_enum(d))
            }
            None => Err(self.invalid(&format!("one of {}", variants.join(", ")))),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}
