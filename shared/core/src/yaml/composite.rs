//! Reading one mapping as several inline structs, as Prow's Go structs embed
//! `JobBase`, `Brancher` and friends.

use std::cell::RefCell;

use serde::de;

use super::de::NodeDe;
use super::{Error, Node, Path, UnknownKey};

/// Reads several structs from the same mapping, the way Prow's Go structs embed
/// `JobBase`, `Brancher` and friends inline: each part takes the keys it knows,
/// and a key no part knows is reported once.
pub struct Composite<'de, 'p> {
    node: &'de Node,
    path: &'p Path<'p>,
    unknown: RefCell<Vec<UnknownKey>>,
    known: Vec<&'static str>,
}

impl<'de, 'p> Composite<'de, 'p> {
    pub fn new(node: &'de Node, path: &'p Path<'p>) -> Self {
        Composite {
            node,
            path,
            unknown: RefCell::new(Vec::new()),
            known: Vec::new(),
        }
    }

    pub fn part<T: de::Deserialize<'de>>(&mut self) -> Result<T, Error> {
        let fields = std::cell::Cell::new(&[][..]);
        let value = T::deserialize(NodeDe {
            node: self.node,
            path: self.path,
            unknown: &self.unknown,
            top_fields: Some(&fields),
        })?;
        self.known.extend_from_slice(fields.get());
        Ok(value)
    }

    /// Keys that are handled outside serde (such as `matrix`).
    pub fn allow(&mut self, key: &'static str) {
        self.known.push(key);
    }

    pub fn finish(self) -> Vec<UnknownKey> {
        let mut unknown = self.unknown.into_inner();
        for e in self.node.entries() {
            if !self.known.contains(&e.key.as_str()) {
                unknown.push(UnknownKey {
                    path: self.path.to_string(),
                    key: e.key.clone(),
                    mark: e.key_mark,
                    suggestion: crate::diagnostics::did_you_mean(
                        &e.key,
                        self.known.iter().copied(),
                    ),
                });
            }
        }
        unknown.sort_by_key(|u| u.mark);
        unknown
    }
}
