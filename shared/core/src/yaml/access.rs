//! Walking lists and mappings for serde, each child with its own path; mapping
//! keys as strings that may also be read as integers.

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::de::NodeDe;
use super::{Entry, Error, Node, Path};

pub(super) struct SeqDe<'a, 'de, 'p> {
    pub(super) items: std::iter::Enumerate<std::slice::Iter<'de, Node>>,
    pub(super) de: &'a NodeDe<'de, 'p>,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, 'de, '_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.items.next() {
            None => Ok(None),
            Some((i, node)) => {
                let path = Path::Index(self.de.path, i);
                seed.deserialize(self.de.child(node, &path)).map(Some)
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

pub(super) struct MapDe<'a, 'de, 'p> {
    pub(super) entries: std::slice::Iter<'de, Entry>,
    pub(super) value: Option<&'de Entry>,
    pub(super) de: &'a NodeDe<'de, 'p>,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, 'de, '_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.entries.next() {
            None => Ok(None),
            Some(entry) => {
                self.value = Some(entry);
                let path = Path::Key(self.de.path, &entry.key);
                // Keys are strings in Prow's JSON; numeric map keys still parse.
                let d: de::value::StrDeserializer<'_, Error> =
                    entry.key.as_str().into_deserializer();
                seed.deserialize(KeyDe {
                    inner: d,
                    text: Cow::Borrowed(entry.key.as_str()),
                })
                .map(Some)
                .map_err(|e| e.locate(entry.key_mark, &path))
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let entry = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("value requested before key"))?;
        let path = Path::Key(self.de.path, &entry.key);
        seed.deserialize(self.de.child(&entry.value, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// Map keys: strings, but parseable as integers for `BTreeMap<i64, _>` and friends.
struct KeyDe<'a> {
    inner: de::value::StrDeserializer<'a, Error>,
    text: Cow<'a, str>,
}

impl<'de> de::Deserializer<'de> for KeyDe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.inner.deserialize_any(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.text.parse::<i64>() {
            Ok(v) => visitor.visit_i64(v),
            Err(_) => Err(<Error as de::Error>::custom(format!(
                "expected an integer key, found {:?}",
                self.text
            ))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
