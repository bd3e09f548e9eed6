//! The employees service over real gRPC, PostgreSQL and NATS: one test
//! binary, a module per feature.

mod helpers;
mod reactions;
mod rebuild;
