//! The gRPC API of the employees service: translation only. `status.rs` is
//! the one place codes are chosen.

pub mod convert;
pub mod fingerprint;
mod import;
pub mod import_record;
pub mod listing;
mod queries;
mod service;
pub mod status;

pub use service::EmployeesApi;
