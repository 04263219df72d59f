//! Decoration: Prow's pod utilities around a job's test (clonerefs,
//! initupload, entrypoint, sidecar). Core builds the decorated pod as Prow's
//! `decorate` does ([`decorate()`]); on Kubernetes Prow's own images do the
//! work, and the local cluster does it natively from the same options.
//!
//! - [`options`]: the JSON each utility reads from its environment, and the
//!   clone records it writes;
//! - [`paths`]: where everything is inside the pod;
//! - [`podspec`]: the decorated pod spec.

pub mod options;
pub mod paths;
pub mod podspec;

pub use podspec::decorate;

#[cfg(test)]
mod tests;
