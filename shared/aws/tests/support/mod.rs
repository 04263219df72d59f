pub mod sqs;
pub mod template;
