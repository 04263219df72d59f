//! A node tree's shape without its values: the keys and positions a message
//! needs to point into a job, kept long after the tree itself is gone.
//!
//! Every job remembers where its fields were written until validation ends.
//! Keeping each job's whole [`Node`] tree (a deep copy) for that was about a
//! tenth of the heap of loading a test-infra-sized config (README
//! "Benchmarks"); an outline is two allocations per job instead of one per
//! key and value, and [`Outline::locate`] finds the same positions
//! [`Node::locate`] does.

use super::{Mark, Node, Value};

/// The outline of one node and everything below it, in preorder.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outline {
    slots: Box<[Slot]>,
    /// Every mapping key's text, one after another.
    keys: Box<str>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
struct Slot {
    mark: Mark,
    /// Where the key was written, for a mapping entry's value.
    key_mark: Mark,
    /// The key's bytes in `keys` (empty unless the parent is a mapping).
    key: (u32, u32),
    /// This slot and all below it: the next sibling is `size` slots on.
    size: u32,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Null,
    Scalar,
    Seq,
    Map,
}

/// One mapping entry of an outline: its key, where the key was written, and
/// the outline of its value.
#[derive(Clone, Copy, Debug)]
pub struct OutlineEntry<'a> {
    pub key: &'a str,
    pub key_mark: Mark,
    pub value: OutlineNode<'a>,
}

/// A node within an [`Outline`].
#[derive(Clone, Copy, Debug)]
pub struct OutlineNode<'a> {
    outline: &'a Outline,
    index: usize,
}

impl Outline {
    pub fn of(node: &Node) -> Outline {
        let mut slots = Vec::new();
        let mut keys = String::new();
        push(node, None, &mut slots, &mut keys);
        Outline {
            slots: slots.into_boxed_slice(),
            keys: keys.into_boxed_str(),
        }
    }

    fn root(&self) -> Option<OutlineNode<'_>> {
        (!self.slots.is_empty()).then_some(OutlineNode {
            outline: self,
            index: 0,
        })
    }

    /// Where the node starts.
    pub fn mark(&self) -> Mark {
        self.slots.first().map_or_else(Mark::default, |s| s.mark)
    }

    /// The entry `key` of the top mapping.
    pub fn get(&self, key: &str) -> Option<OutlineEntry<'_>> {
        self.root().and_then(|r| r.get(key))
    }

    /// The position of the node at a field path below the top, or of the
    /// deepest ancestor that exists: exactly [`Node::locate`] on the tree
    /// this outline was made from.
    pub fn locate(&self, path: &[&str]) -> Mark {
        let Some(mut node) = self.root() else {
            return Mark::default();
        };
        let mut mark = node.slot().mark;
        for seg in path {
            let next = match node.slot().kind {
                Kind::Map => node.get(seg).map(|e| {
                    // A key with an empty value is best pointed at by its key.
                    mark = e.key_mark;
                    e.value
                }),
                Kind::Seq => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| node.children().nth(i)),
                _ => None,
            };
            match next {
                Some(n) => {
                    // Scalars are pointed at directly; a mapping or list is
                    // pointed at by its key, which is where a reader looks.
                    let kind = n.slot().kind;
                    if kind == Kind::Scalar || (node.slot().kind == Kind::Seq && kind != Kind::Null)
                    {
                        mark = n.slot().mark;
                    }
                    node = n;
                }
                None => break,
            }
        }
        mark
    }
}

impl<'a> OutlineNode<'a> {
    fn slot(&self) -> &'a Slot {
        &self.outline.slots[self.index]
    }

    fn children(self) -> impl Iterator<Item = OutlineNode<'a>> {
        let end = self.index + self.slot().size as usize;
        let mut next = self.index + 1;
        std::iter::from_fn(move || {
            (next < end).then(|| {
                let at = OutlineNode {
                    outline: self.outline,
                    index: next,
                };
                next += at.slot().size as usize;
                at
            })
        })
    }

    /// The entries of a mapping; nothing for another kind of node.
    pub fn entries(self) -> impl Iterator<Item = OutlineEntry<'a>> {
        let is_map = self.slot().kind == Kind::Map;
        self.children().filter(move |_| is_map).map(|c| {
            let slot = c.slot();
            let (start, len) = slot.key;
            OutlineEntry {
                key: self
                    .outline
                    .keys
                    .get(start as usize..(start + len) as usize)
                    .unwrap_or_default(),
                key_mark: slot.key_mark,
                value: c,
            }
        })
    }

    pub fn get(self, key: &str) -> Option<OutlineEntry<'a>> {
        self.entries().find(|e| e.key == key)
    }
}

fn push(node: &Node, key: Option<(&str, Mark)>, slots: &mut Vec<Slot>, keys: &mut String) {
    let (key, key_mark) = match key {
        Some((text, mark)) => {
            let start = keys.len();
            keys.push_str(text);
            ((start as u32, text.len() as u32), mark)
        }
        None => ((0, 0), Mark::default()),
    };
    let index = slots.len();
    let kind = match &node.value {
        Value::Null => Kind::Null,
        Value::Scalar { .. } => Kind::Scalar,
        Value::Seq(_) => Kind::Seq,
        Value::Map(_) => Kind::Map,
    };
    slots.push(Slot {
        mark: node.mark,
        key_mark,
        key,
        size: 1,
        kind,
    });
    match &node.value {
        Value::Seq(items) => {
            for item in items {
                push(item, None, slots, keys);
            }
        }
        Value::Map(entries) => {
            for e in entries {
                push(&e.value, Some((&e.key, e.key_mark)), slots, keys);
            }
        }
        Value::Null | Value::Scalar { .. } => {}
    }
    let size = (slots.len() - index) as u32;
    if let Some(slot) = slots.get_mut(index) {
        slot.size = size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    const JOB: &str = "name: a\nspec:\n  containers:\n  - image: x\n    args: [a, b]\n    env:\n    - name: A\n      value:\n  - {}\ndecoration_config:\n  utility_images: {clonerefs: c, bogus: b}\nempty:\nlist: []\n";

    /// Every path a message could ask for, real and not, finds what the
    /// tree itself finds.
    #[test]
    fn locates_exactly_as_the_tree_does() {
        let doc = parse(JOB).unwrap();
        let outline = Outline::of(&doc.root);
        let paths: &[&[&str]] = &[
            &[],
            &["name"],
            &["nope"],
            &["spec"],
            &["spec", "containers"],
            &["spec", "containers", "0"],
            &["spec", "containers", "0", "image"],
            &["spec", "containers", "0", "args", "1"],
            &["spec", "containers", "0", "args", "7"],
            &["spec", "containers", "0", "args", "x"],
            &["spec", "containers", "0", "env", "0", "value"],
            &["spec", "containers", "1"],
            &["spec", "containers", "1", "image"],
            &["spec", "containers", "2"],
            &["decoration_config", "utility_images", "bogus"],
            &["name", "deeper"],
            &["empty"],
            &["empty", "x"],
            &["list", "0"],
        ];
        for p in paths {
            assert_eq!(outline.locate(p), doc.root.locate(p), "{p:?}");
        }
        assert_eq!(outline.mark(), doc.root.mark);
    }

    #[test]
    fn keeps_keys_and_their_marks() {
        let doc = parse(JOB).unwrap();
        let outline = Outline::of(&doc.root);
        assert!(outline.get("decoration_config").is_some());
        assert!(outline.get("context").is_none());
        let images = outline
            .get("decoration_config")
            .and_then(|dc| dc.value.get("utility_images"))
            .unwrap();
        let tree = doc
            .root
            .get("decoration_config")
            .unwrap()
            .value
            .get("utility_images")
            .unwrap();
        let keys: Vec<_> = images
            .value
            .entries()
            .map(|e| (e.key, e.key_mark))
            .collect();
        let want: Vec<_> = tree
            .value
            .entries()
            .iter()
            .map(|e| (e.key.as_str(), e.key_mark))
            .collect();
        assert_eq!(keys, want);
        // A list has no entries.
        let containers = outline
            .get("spec")
            .unwrap()
            .value
            .get("containers")
            .unwrap();
        assert_eq!(containers.value.entries().count(), 0);
    }

    #[test]
    fn an_empty_outline_points_nowhere_in_particular() {
        let o = Outline::default();
        assert_eq!(o.locate(&["a"]), Mark::default());
        assert!(o.get("a").is_none());
    }
}
