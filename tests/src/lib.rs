//! Cross-service end-to-end tests; they live in `e2e/` and start every
//! service in-process against real PostgreSQL and NATS.
