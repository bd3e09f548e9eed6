//! End-to-end: the services together, over real gRPC, PostgreSQL and NATS.

mod stack;
mod walking_skeleton;
