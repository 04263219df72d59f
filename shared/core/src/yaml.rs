//! YAML as Prow reads it, with a position on every node.
//!
//! Prow turns YAML into JSON (sigs.k8s.io/yaml) and unmarshals that, silently
//! dropping unknown keys and reporting type errors without a line. Skiff parses into
//! a tree that remembers where each node came from, then deserializes typed values
//! straight from the tree, so every error and every unknown key names its file,
//! line, column and field path. Anchors, aliases and `<<` merge keys work as in
//! Go's yaml.v2; only the first document of a file is read, as Prow does.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

pub use crate::diagnostics::Mark;

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

/// A YAML syntax error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub mark: Mark,
    pub message: String,
}

/// A parsed document, plus the duplicate keys it had (the later value wins, as
/// in Prow, but it is almost always a mistake).
#[derive(Debug)]
pub struct Document {
    pub root: Node,
    pub duplicate_keys: Vec<(String, Mark)>,
}

fn mark_of(span: &Span) -> Mark {
    Mark {
        line: span.start.line() as u32,
        col: span.start.col() as u32 + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        mark: Mark,
        anchor: usize,
    },
    Map {
        entries: Vec<Entry>,
        key: Option<(String, Mark, bool)>,
        mark: Mark,
        anchor: usize,
    },
}

/// Parses the first document of `text`.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<Option<Node>> = Vec::new();
    let mut duplicate_keys = Vec::new();
    let mut root: Option<Node> = None;
    let mut doc_mark = Mark { line: 1, col: 1 };

    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| SyntaxError {
            mark: Mark {
                line: e.marker().line() as u32,
                col: e.marker().col() as u32 + 1,
            },
            message: e.info().to_string(),
        })?;
        let mark = mark_of(&span);
        let complete: Option<(Node, usize)> = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::DocumentStart(_) => {
                doc_mark = mark;
                None
            }
            Event::DocumentEnd | Event::StreamEnd => {
                if root.is_some() || matches!(event, Event::StreamEnd) {
                    break;
                }
                None
            }
            Event::Alias(id) => {
                let node = anchors.get(id).cloned().flatten().ok_or(SyntaxError {
                    mark,
                    message: "alias refers to an unknown anchor".to_string(),
                })?;
                Some((node, 0))
            }
            Event::Scalar(text, style, anchor, tag) => {
                let plain = matches!(style, ScalarStyle::Plain);
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if plain && !is_str_tag && is_null(&text) {
                    Value::Null
                } else {
                    Value::Scalar {
                        text: text.into_owned(),
                        plain: plain && !is_str_tag,
                    }
                };
                Some((Node { value, mark }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq {
                    items: Vec::new(),
                    mark,
                    anchor,
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map {
                    entries: Vec::new(),
                    key: None,
                    mark,
                    anchor,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    items,
                    mark,
                    anchor,
                }) => Some((
                    Node {
                        value: Value::Seq(items),
                        mark,
                    },
                    anchor,
                )),
                _ => return Err(unbalanced(mark)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    entries,
                    mark,
                    anchor,
                    ..
                }) => {
                    let entries = resolve_merge_keys(entries, &mut duplicate_keys);
                    Some((
                        Node {
                            value: Value::Map(entries),
                            mark,
                        },
                        anchor,
                    ))
                }
                _ => return Err(unbalanced(mark)),
            },
        };
        let Some((node, anchor)) = complete else {
            continue;
        };
        if anchor > 0 {
            if anchors.len() <= anchor {
                anchors.resize(anchor + 1, None);
            }
            anchors[anchor] = Some(node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => match node.value {
                    Value::Scalar { text, plain } => *key = Some((text, node.mark, plain)),
                    Value::Null => *key = Some((String::new(), node.mark, true)),
                    _ => {
                        return Err(SyntaxError {
                            mark: node.mark,
                            message: "mapping keys must be scalars".to_string(),
                        });
                    }
                },
                Some((k, key_mark, plain)) => {
                    // A plain `<<` is a merge key; a quoted one is an ordinary key.
                    let k = if plain || k != "<<" {
                        k
                    } else {
                        "\"<<\"".to_string()
                    };
                    entries.push(Entry {
                        key: k,
                        key_mark,
                        value: node,
                    });
                }
            },
        }
    }
    Ok(Document {
        root: root.unwrap_or(Node::null(doc_mark)),
        duplicate_keys,
    })
}

fn unbalanced(mark: Mark) -> SyntaxError {
    SyntaxError {
        mark,
        message: "unbalanced collection".to_string(),
    }
}

/// yaml.v2's null spellings, plus the empty plain scalar.
fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

/// Applies `<<` merge keys: keys of the merged mappings are added unless the
/// mapping sets them itself; among several merged mappings the first wins.
/// Duplicate explicit keys are recorded; the later one wins, as in Prow.
fn resolve_merge_keys(entries: Vec<Entry>, duplicates: &mut Vec<(String, Mark)>) -> Vec<Entry> {
    let mut own: Vec<Entry> = Vec::with_capacity(entries.len());
    let mut merged: Vec<Entry> = Vec::new();
    for e in entries {
        if e.key == "<<" {
            let sources: Vec<Node> = match e.value.value {
                Value::Seq(items) => items,
                _ => vec![e.value],
            };
            for src in sources {
                if let Value::Map(src_entries) = src.value {
                    for se in src_entries {
                        if !merged.iter().any(|m| m.key == se.key) {
                            merged.push(se);
                        }
                    }
                }
            }
            continue;
        }
        let e = if e.key == "\"<<\"" {
            Entry {
                key: "<<".to_string(),
                ..e
            }
        } else {
            e
        };
        if let Some(pos) = own.iter().position(|o| o.key == e.key) {
            duplicates.push((e.key.clone(), e.key_mark));
            own[pos] = e;
        } else {
            own.push(e);
        }
    }
    for m in merged {
        if !own.iter().any(|o| o.key == m.key) {
            own.push(m);
        }
    }
    own
}

/// A field path: `periodics[3].spec.containers[0].image`.
#[derive(Clone, Copy, Debug)]
pub enum Path<'a> {
    Root(&'a str),
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root(s) => f.write_str(s),
            Path::Key(parent, key) => {
                let p = parent.to_string();
                if p.is_empty() {
                    f.write_str(key)
                } else {
                    write!(f, "{p}.{key}")
                }
            }
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A deserialization error with the position and path of the node it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub mark: Option<Mark>,
    pub path: String,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error {
            message: msg.to_string(),
            mark: None,
            path: String::new(),
        }
    }
}

impl Error {
    /// The innermost node that fails claims the error; outer ones leave it alone.
    fn locate(mut self, mark: Mark, path: &Path) -> Self {
        if self.mark.is_none() {
            self.mark = Some(mark);
            self.path = path.to_string();
        }
        self
    }
}

/// A key present in YAML that the target type does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownKey {
    pub path: String,
    pub key: String,
    pub mark: Mark,
    pub suggestion: Option<&'static str>,
}

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

struct NodeDe<'de, 'p> {
    node: &'de Node,
    path: &'p Path<'p>,
    unknown: &'p RefCell<Vec<UnknownKey>>,
    /// Set for a composite part: record the struct's fields instead of checking.
    top_fields: Option<&'p std::cell::Cell<&'static [&'static str]>>,
}

impl<'de, 'p> NodeDe<'de, 'p> {
    fn child<'q>(&self, node: &'de Node, path: &'q Path<'q>) -> NodeDe<'de, 'q>
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

fn parse_int(text: &str) -> Option<i128> {
    let t = text.replace('_', "");
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    let v = if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix("0o") {
        i128::from_str_radix(oct, 8).ok()?
    } else if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        digits.parse().ok()?
    } else {
        return None;
    };
    Some(if neg { -v } else { v })
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" => return Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Some(f64::NAN),
        _ => {}
    }
    let looks_numeric = text
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && text.bytes().any(|b| b.is_ascii_digit());
    if looks_numeric {
        text.parse().ok()
    } else {
        None
    }
}

/// yaml.v2's booleans, which include YAML 1.1's yes/no/on/off.
fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => {
            Some(true)
        }
        "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => {
            Some(false)
        }
        _ => None,
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

struct SeqDe<'a, 'de, 'p> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Node>>,
    de: &'a NodeDe<'de, 'p>,
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

struct MapDe<'a, 'de, 'p> {
    entries: std::slice::Iter<'de, Entry>,
    value: Option<&'de Entry>,
    de: &'a NodeDe<'de, 'p>,
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
                let key_node = Node {
                    value: Value::Scalar {
                        text: entry.key.clone(),
                        plain: false,
                    },
                    mark: entry.key_mark,
                };
                // Keys are strings in Prow's JSON; numeric map keys still parse.
                let d: de::value::StrDeserializer<'_, Error> =
                    entry.key.as_str().into_deserializer();
                seed.deserialize(KeyDe {
                    inner: d,
                    text: Cow::Borrowed(entry.key.as_str()),
                })
                .map(Some)
                .map_err(|e| e.locate(key_node.mark, &path))
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Job {
        name: String,
        #[serde(default)]
        always_run: bool,
        #[serde(default)]
        max_concurrency: i64,
        #[serde(default)]
        branches: Vec<String>,
    }

    #[test]
    fn marks_are_one_based_line_and_column() {
        let doc = parse("a:\n  b: 1\n  c: [x, y]\n").unwrap();
        let b = doc.root.get("a").unwrap().value.get("b").unwrap();
        assert_eq!(b.key_mark, Mark { line: 2, col: 3 });
        assert_eq!(b.value.mark, Mark { line: 2, col: 6 });
        assert_eq!(doc.root.locate(&["a", "c", "1"]), Mark { line: 3, col: 10 });
    }

    #[test]
    fn type_errors_name_line_column_and_path() {
        let doc = parse("jobs:\n- name: a\n  max_concurrency: lots\n").unwrap();
        let seq = &doc.root.get("jobs").unwrap().value;
        let root = Path::Root("periodics");
        let err = from_node::<Vec<Job>>(seq, &root).unwrap_err();
        assert_eq!(err.mark, Some(Mark { line: 3, col: 20 }));
        assert_eq!(err.path, "periodics[0].max_concurrency");
        assert_eq!(err.message, "expected an integer (i64), found \"lots\"");
    }

    #[test]
    fn missing_field_points_at_the_mapping() {
        let doc = parse("- always_run: true\n").unwrap();
        let err = from_node::<Vec<Job>>(&doc.root, &Path::Root("p")).unwrap_err();
        assert_eq!(err.message, "missing field `name`");
        assert_eq!(err.path, "p[0]");
        assert_eq!(err.mark, Some(Mark { line: 1, col: 3 }));
    }

    #[test]
    fn unknown_keys_are_reported_with_a_suggestion() {
        let doc = parse("name: a\nalways_rn: true\n").unwrap();
        let (job, unknown) = from_node::<Job>(&doc.root, &Path::Root("j")).unwrap();
        assert_eq!(job.name, "a");
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].key, "always_rn");
        assert_eq!(unknown[0].suggestion, Some("always_run"));
        assert_eq!(unknown[0].mark, Mark { line: 2, col: 1 });
    }

    #[test]
    fn anchors_aliases_and_merge_keys_work_as_in_yaml_v2() {
        let text = "base: &b\n  name: x\n  always_run: true\njob:\n  <<: *b\n  name: y\n";
        let doc = parse(text).unwrap();
        let job = &doc.root.get("job").unwrap().value;
        let (j, unknown) = from_node::<Job>(job, &Path::Root("job")).unwrap();
        assert_eq!(
            j,
            Job {
                name: "y".into(),
                always_run: true,
                max_concurrency: 0,
                branches: vec![]
            }
        );
        assert!(unknown.is_empty());
    }

    #[test]
    fn duplicate_keys_keep_the_last_and_are_recorded() {
        let doc = parse("name: a\nname: b\n").unwrap();
        assert_eq!(doc.root.get("name").unwrap().value.as_str(), Some("b"));
        assert_eq!(
            doc.duplicate_keys,
            vec![("name".to_string(), Mark { line: 2, col: 1 })]
        );
    }

    #[test]
    fn yaml_1_1_booleans_are_booleans_where_a_bool_is_expected() {
        for (text, want) in [("yes", true), ("off", false), ("True", true)] {
            let doc = parse(&format!("name: a\nalways_run: {text}\n")).unwrap();
            let (j, _) = from_node::<Job>(&doc.root, &Path::Root("")).unwrap();
            assert_eq!(j.always_run, want, "{text}");
        }
        let doc = parse("name: a\nalways_run: \"true\"\n").unwrap();
        assert!(from_node::<Job>(&doc.root, &Path::Root("")).is_err());
    }

    #[test]
    fn syntax_errors_carry_a_position() {
        let err = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(err.mark.line >= 1, "{err:?}");
        assert!(!err.message.is_empty());
    }

    #[test]
    fn dynamic_values_keep_yaml_types() {
        let doc = parse("a: 1\nb: \"1\"\nc: true\nd: ~\ne: 1.5\nf: text\n").unwrap();
        let (v, _) = from_node::<serde_json::Value>(&doc.root, &Path::Root("")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"a": 1, "b": "1", "c": true, "d": null, "e": 1.5, "f": "text"})
        );
    }

    #[test]
    fn only_the_first_document_is_read() {
        let doc = parse("a: 1\n---\nb: 2\n").unwrap();
        assert!(doc.root.get("a").is_some());
        assert!(doc.root.get("b").is_none());
    }
}
