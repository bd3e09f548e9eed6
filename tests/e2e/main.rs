//! End-to-end: the services together, over real gRPC, PostgreSQL and NATS.

mod operations;
mod stack;
mod walking_skeleton;
