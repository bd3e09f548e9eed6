//! End-to-end: the services together, over real gRPC, PostgreSQL and NATS.

mod faults;
mod operations;
mod stack;
mod walking_skeleton;
