//! The tree `parse` builds: nodes, mapping entries and values, each with its mark.

use super::Mark;

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// A mapping entry: the key's text and position, and the value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_mark: Mark,
    pub value: Node,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    /// `plain` is false for quoted and block scalars, which are always strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

impl Node {
    pub fn null(mark: Mark) -> Node {
        Node {
            value: Value::Null,
            mark,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// What kind of node this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The position of the node at a field path below this one (`["spec",
    /// "containers", "0", "image"]`), or of the deepest ancestor that exists.
    pub fn locate(&self, path: &[&str]) -> Mark {
        let mut node = self;
        let mut mark = self.mark;
        for seg in path {
            let next = match &node.value {
                Value::Map(entries) => entries.iter().find(|e| e.key == *seg).map(|e| {
                    // A key with an empty value is best pointed at by its key.
                    mark = e.key_mark;
                    &e.value
                }),
                Value::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => {
                    // Scalars are pointed at directly; a mapping or list is
                    // pointed at by its key, which is where a reader looks.
                    if matches!(n.value, Value::Scalar { .. })
                        || (matches!(node.value, Value::Seq(_)) && !n.is_null())
                    {
                        mark = n.mark;
                    }
                    node = n;
                }
                None => break,
            }
        }
        mark
    }

    /// The position of the key `key` in this mapping, or of the mapping itself.
    pub fn key_mark(&self, key: &str) -> Mark {
        self.get(key).map_or(self.mark, |e| e.key_mark)
    }
}
