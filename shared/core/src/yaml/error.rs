//! What deserialization reports: the field path, the located error, and the
//! unknown key.

use std::fmt;

use serde::de;

use super::Mark;

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
    pub(super) fn locate(mut self, mark: Mark, path: &Path) -> Self {
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
