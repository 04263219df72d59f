//! Decoration: Prow's pod utilities around a job's test (clonerefs,
//! initupload, entrypoint, sidecar). Core builds the decorated pod as Prow's
//! `decorate` does; on Kubernetes Prow's own images do the work, and the
//! local cluster does it natively from the same options.

pub mod options;
pub mod paths;
