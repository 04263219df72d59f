pub mod moto;
pub mod sqs;
pub mod template;
