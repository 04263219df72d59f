//! Building the tree from parser events: anchors, aliases, `<<` merge keys and
//! duplicate keys resolved as Go's yaml.v2 does, first document only.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::scalar::is_null;
use super::{Entry, Mark, Node, Value};

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
