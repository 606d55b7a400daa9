//! The invite function's handler, a library so that integration tests
//! (tests/) can drive it in a process of their own.

pub mod config;
pub mod handler;
