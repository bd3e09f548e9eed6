//! The service binaries the child-process scenarios run: next to the bench's
//! own executable, built there with the bench's profile (see the testkit).

pub use tenure_testkit::service_binaries::{DEVELOPMENT, EMPLOYEES, locate};
