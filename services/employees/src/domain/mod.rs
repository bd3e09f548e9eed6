//! The pure domain of the employees service: who works here, on which
//! contract, in which role, under which manager, and how their employment
//! begins, ends and begins again. No I/O, no async, no gRPC.
//!
//! - value types that `parse` (names, email, contract, work agreement,
//!   interests, reason codes) and the [`FieldViolation`] a parse reports;
//! - the [`Employee`] aggregate: [`EmployeeCommand`]s decided into
//!   [`EmployeeEvent`]s, or refused with a [`RuleViolation`];
//! - as-of replay ([`employee_as_of`]) and service length
//!   ([`continuous_service_days`], [`cumulative_service_days`]);
//! - [`codec`]: events as the protobuf messages they are stored and
//!   published as.

mod as_of;
pub mod calendar;
pub mod codec;
mod commands;
mod contract;
mod decide;
mod departure;
mod employee;
mod events;
mod field_violation;
mod ids;
mod interests;
mod job;
mod person_name;
mod recorded_on;
mod rule_violation;
mod status;
mod tenure;
mod text;
mod work_agreement;
mod work_email;

#[cfg(test)]
pub(crate) mod testing;

pub use as_of::employee_as_of;
pub use calendar::{MonthDay, format_date, parse_date};
pub use commands::{
    AnnounceDeparture, AssignManager, ChangeContract, ChangePersonalDetails, ChangeRole,
    EmployeeCommand, EndEmployment, HireEmployee, ManagerFacts, RecordWorkAgreement,
    RehireEmployee, SetInterests, WithdrawDeparture,
};
pub use contract::{Contract, ContractChangeKind, ContractKind, ContractTerms, SeasonWindow};
pub use departure::{Departure, ReasonCode, SeparationType};
pub use employee::Employee;
pub use events::{
    ContractChanged, DepartureAnnounced, DepartureWithdrawn, EmployeeEvent, EmployeeHired,
    EmployeeRehired, EmploymentEnded, InterestsChanged, ManagerAssigned, PersonalDetailsChanged,
    RoleChanged, WorkAgreementRecorded,
};
pub use field_violation::{FieldViolation, FieldViolations, field_path};
pub use ids::parse_id;
pub use interests::Interests;
pub use job::{Department, RoleTitle};
pub use person_name::PersonName;
pub use recorded_on::parse_recorded_on;
pub use rule_violation::RuleViolation;
pub use status::EmployeeStatus;
pub use tenure::{TenurePeriod, continuous_service_days, cumulative_service_days};
pub use text::FreeText;
pub use work_agreement::{CoreHours, WorkAgreement, WorkAgreementTerms, weekday_name};
pub use work_email::WorkEmail;
