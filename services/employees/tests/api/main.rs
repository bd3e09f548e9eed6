//! The employees service over real gRPC, PostgreSQL and NATS: one test
//! binary, a module per feature.

mod bad_input;
mod concurrency;
mod email;
mod helpers;
mod import;
mod queries;
mod reactions;
mod rebuild;
mod rules;
