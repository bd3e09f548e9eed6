//! Where an employee stands in the employment lifecycle.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `active → leaving → left`; a withdrawn departure makes a leaving employee
/// active again, a rehire makes a left one active again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EmployeeStatus {
    /// Employed, no departure announced.
    Active,
    /// Employed, with an announced departure that has not yet taken place.
    Leaving,
    /// Employment has ended; only a rehire changes a left employee.
    Left,
}

impl fmt::Display for EmployeeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Active => "active",
            Self::Leaving => "leaving",
            Self::Left => "left",
        })
    }
}
