//! The ProwJob record: Prow's API types, the state machine, and what the pod of a
//! job carries (labels, annotations, environment, `JOB_SPEC`, build id).

pub mod artifacts;
pub mod build_id;
pub mod decorate;
pub mod from_config;
mod go_order;
pub mod jobspec;
pub mod labels;
pub mod latest;
pub mod new;
pub mod pipeline_run;
pub mod pod;
pub mod state;
mod types;

pub use types::*;
