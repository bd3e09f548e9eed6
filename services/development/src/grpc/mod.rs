//! The gRPC API of the development service: translation only.

mod service;
mod status;

pub use service::DevelopmentApi;
