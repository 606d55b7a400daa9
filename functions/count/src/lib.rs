//! The count function: configuration and handler, a library so that its
//! integration tests (tests/) can drive the handler.

pub mod config;
pub mod handler;
