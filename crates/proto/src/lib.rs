//! The Tenure protobuf contract compiled to Rust: messages, gRPC servers and clients, and the descriptor set for server reflection.
//!
//! Modules follow the protobuf packages, e.g. [`tenure::employees::v1`] holds
//! the employees service (`employees_service_server::EmployeesServiceServer`,
//! `employees_service_client::EmployeesServiceClient`), its messages and the
//! events it publishes.

#[allow(
    clippy::all,
    clippy::pedantic,
    clippy::nursery,
    missing_docs,
    rustdoc::all,
    unreachable_pub
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/tenure.rs"));
}

pub use generated::*;

/// The encoded `google.protobuf.FileDescriptorSet` of every file in `proto/`
/// (with its imports and source comments), for the gRPC reflection service.
pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/descriptor.bin"));
