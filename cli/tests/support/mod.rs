//! Test support for end-to-end runs of `skiff dev`: the fake GitHub API, the
//! tiny HTTP client and the signature helper shared with the Lambda
//! end-to-end tests (`skiff-tests`).

#![allow(unused_imports)]

pub use skiff_tests::github::*;

mod dev;
pub use dev::{Dev, start_dev};
