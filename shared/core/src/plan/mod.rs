//! Planning: which jobs an event or a scheduler tick starts, decided exactly as
//! Prow's hook, trigger plugin and horologium decide it. Pure: facts come in
//! through [`Facts`], the clock as arguments.

pub mod periodic;
