//! The rules of employment: which events a command produces from an
//! employee's state, or which rule it breaks. Pure and synchronous; facts
//! that need I/O arrive inside the command.

use chrono::NaiveDate;
use uuid::Uuid;

use super::commands::{
    AnnounceDeparture, AssignManager, ChangeContract, ChangePersonalDetails, ChangeRole,
    EndEmployment, HireEmployee, ManagerFacts, RecordWorkAgreement, RehireEmployee, SetInterests,
    WithdrawDeparture,
};
use super::events::{
    ContractChanged, DepartureAnnounced, DepartureWithdrawn, EmployeeHired, EmployeeRehired,
    EmploymentEnded, InterestsChanged, ManagerAssigned, PersonalDetailsChanged, RoleChanged,
    WorkAgreementRecorded,
};
use super::{
    Employee, EmployeeCommand, EmployeeEvent, EmployeeStatus, RuleViolation, TenurePeriod,
};

/// The events `command` produces from `state`; an empty list when the
/// command changes nothing.
pub(super) fn decide(
    state: &Employee,
    command: &EmployeeCommand,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    match command {
        EmployeeCommand::Hire(command) => hire(state, command),
        EmployeeCommand::ChangePersonalDetails(command) => change_personal_details(state, command),
        EmployeeCommand::ChangeContract(command) => change_contract(state, command),
        EmployeeCommand::ChangeRole(command) => change_role(state, command),
        EmployeeCommand::AssignManager(command) => assign_manager(state, command),
        EmployeeCommand::RecordWorkAgreement(command) => record_work_agreement(state, command),
        EmployeeCommand::SetInterests(command) => set_interests(state, command),
        EmployeeCommand::AnnounceDeparture(command) => announce_departure(state, command),
        EmployeeCommand::WithdrawDeparture(command) => withdraw_departure(state, command),
        EmployeeCommand::EndEmployment(command) => end_employment(state, command),
        EmployeeCommand::Rehire(command) => rehire(state, command),
    }
}

fn hire(state: &Employee, command: &HireEmployee) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    if state.is_hired() {
        return Err(RuleViolation::AlreadyHired {
            name: state.full_name(),
        });
    }
    let name = format!("{} {}", command.given_name, command.family_name);
    let manager_id = check_manager(command.employee_id, &name, command.manager.as_ref())?;
    Ok(vec![EmployeeEvent::Hired(EmployeeHired {
        employee_id: command.employee_id,
        effective_date: command.contract.start(),
        given_name: command.given_name.clone(),
        family_name: command.family_name.clone(),
        work_email: command.work_email.clone(),
        department: command.department.clone(),
        role_title: command.role_title.clone(),
        manager_id,
        contract: command.contract.clone(),
    })])
}

fn change_personal_details(
    state: &Employee,
    command: &ChangePersonalDetails,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    employed(state)?;
    let changed = PersonalDetailsChanged {
        employee_id: state.id,
        effective_date: command.today,
        given_name: command
            .given_name
            .clone()
            .unwrap_or_else(|| state.given_name.clone()),
        family_name: command
            .family_name
            .clone()
            .unwrap_or_else(|| state.family_name.clone()),
        work_email: command
            .work_email
            .clone()
            .unwrap_or_else(|| state.work_email.clone()),
    };
    if changed.given_name == state.given_name
        && changed.family_name == state.family_name
        && changed.work_email == state.work_email
    {
        return Ok(vec![]);
    }
    Ok(vec![EmployeeEvent::PersonalDetailsChanged(changed)])
}

fn change_contract(
    state: &Employee,
    command: &ChangeContract,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = employed(state)?;
    not_before_period(state, period, "a contract change", command.effective_date)?;
    if command.contract == period.contract {
        return Ok(vec![]);
    }
    if let Some(reason) = command
        .change_kind
        .explain_mismatch(&period.contract, &command.contract)
    {
        return Err(RuleViolation::ContractChangeMismatch {
            change_kind: command.change_kind,
            reason,
        });
    }
    Ok(vec![EmployeeEvent::ContractChanged(ContractChanged {
        employee_id: state.id,
        effective_date: command.effective_date,
        change_kind: command.change_kind,
        contract: command.contract.clone(),
    })])
}

fn change_role(
    state: &Employee,
    command: &ChangeRole,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = employed(state)?;
    not_before_period(state, period, "a role change", command.effective_date)?;
    if command.role_title == state.role_title && command.department == state.department {
        return Ok(vec![]);
    }
    Ok(vec![EmployeeEvent::RoleChanged(RoleChanged {
        employee_id: state.id,
        effective_date: command.effective_date,
        role_title: command.role_title.clone(),
        department: command.department.clone(),
    })])
}

fn assign_manager(
    state: &Employee,
    command: &AssignManager,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = employed(state)?;
    not_before_period(
        state,
        period,
        "a manager assignment",
        command.effective_date,
    )?;
    if command.manager.as_ref().map(|manager| manager.id) == state.manager_id {
        return Ok(vec![]);
    }
    let manager_id = check_manager(state.id, &state.full_name(), command.manager.as_ref())?;
    Ok(vec![EmployeeEvent::ManagerAssigned(ManagerAssigned {
        employee_id: state.id,
        effective_date: command.effective_date,
        manager_id,
    })])
}

fn record_work_agreement(
    state: &Employee,
    command: &RecordWorkAgreement,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    employed(state)?;
    if state.work_agreement.as_ref() == Some(&command.agreement) {
        return Ok(vec![]);
    }
    Ok(vec![EmployeeEvent::WorkAgreementRecorded(
        WorkAgreementRecorded {
            employee_id: state.id,
            effective_date: command.agreement.agreed_on(),
            agreement: command.agreement.clone(),
        },
    )])
}

fn set_interests(
    state: &Employee,
    command: &SetInterests,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    employed(state)?;
    if command.tags.same_tags_as(&state.interests) {
        return Ok(vec![]);
    }
    Ok(vec![EmployeeEvent::InterestsChanged(InterestsChanged {
        employee_id: state.id,
        effective_date: command.today,
        tags: command.tags.clone(),
    })])
}

fn announce_departure(
    state: &Employee,
    command: &AnnounceDeparture,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = employed(state)?;
    if state.departure.is_some() {
        return Err(RuleViolation::NotActive {
            name: state.full_name(),
            status: EmployeeStatus::Leaving,
        });
    }
    if command.regrettable.is_some() && !command.separation_type.allows_regrettable() {
        return Err(RuleViolation::RegrettableNotVoluntary {
            separation_type: command.separation_type,
        });
    }
    if let Some(codes) = &command.reason_codes
        && !codes
            .iter()
            .any(|code| code == command.reason_code.as_str())
    {
        return Err(RuleViolation::UnknownReasonCode {
            reason_code: command.reason_code.to_string(),
        });
    }
    not_before_period(
        state,
        period,
        "the last working day",
        command.last_working_day,
    )?;
    let backdated = command.last_working_day < command.today;
    if backdated && command.backdate_reason.is_none() {
        return Err(RuleViolation::LastWorkingDayInPast {
            last_working_day: command.last_working_day,
            today: command.today,
        });
    }
    Ok(vec![EmployeeEvent::DepartureAnnounced(
        DepartureAnnounced {
            employee_id: state.id,
            effective_date: command.today,
            separation_type: command.separation_type,
            reason_code: command.reason_code.clone(),
            regrettable: command.regrettable,
            last_working_day: command.last_working_day,
            note: command.note.clone(),
            // Recorded only for a departure that is in fact backdated.
            backdate_reason: command.backdate_reason.clone().filter(|_| backdated),
            contract_kind: period.contract.kind(),
            department: state.department.clone(),
            role_title: state.role_title.clone(),
        },
    )])
}

fn withdraw_departure(
    state: &Employee,
    command: &WithdrawDeparture,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    employed(state)?;
    let Some(departure) = &state.departure else {
        return Err(RuleViolation::NoDepartureToWithdraw {
            name: state.full_name(),
        });
    };
    if command.today >= departure.last_working_day {
        return Err(RuleViolation::LastWorkingDayReached {
            name: state.full_name(),
            last_working_day: departure.last_working_day,
        });
    }
    Ok(vec![EmployeeEvent::DepartureWithdrawn(
        DepartureWithdrawn {
            employee_id: state.id,
            effective_date: command.today,
            reason: command.reason.clone(),
        },
    )])
}

fn end_employment(
    state: &Employee,
    command: &EndEmployment,
) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = employed(state)?;
    let Some(departure) = &state.departure else {
        return Err(RuleViolation::NotLeaving {
            name: state.full_name(),
        });
    };
    if command.ended_on < departure.last_working_day {
        return Err(RuleViolation::EndBeforeLastWorkingDay {
            ended_on: command.ended_on,
            last_working_day: departure.last_working_day,
        });
    }
    Ok(vec![EmployeeEvent::EmploymentEnded(EmploymentEnded {
        employee_id: state.id,
        effective_date: command.ended_on,
        reason: command.reason.clone(),
        separation_type: departure.separation_type,
        reason_code: departure.reason_code.clone(),
        regrettable: departure.regrettable,
        period_start_date: period.start,
        contract: period.contract.clone(),
        role_title: state.role_title.clone(),
        department: state.department.clone(),
    })])
}

fn rehire(state: &Employee, command: &RehireEmployee) -> Result<Vec<EmployeeEvent>, RuleViolation> {
    let period = state.current_period().ok_or(RuleViolation::NotHired)?;
    let Some(previous_end) = period.end else {
        let status = state.status().unwrap_or(EmployeeStatus::Active);
        return Err(RuleViolation::NotLeft {
            name: state.full_name(),
            status,
        });
    };
    let start = command.contract.start();
    if start <= previous_end {
        return Err(RuleViolation::RehireBeforePreviousEnd {
            start,
            previous_end,
        });
    }
    let manager_id = check_manager(state.id, &state.full_name(), command.manager.as_ref())?;
    Ok(vec![EmployeeEvent::Rehired(EmployeeRehired {
        employee_id: state.id,
        effective_date: start,
        contract: command.contract.clone(),
        role_title: command
            .role_title
            .clone()
            .unwrap_or_else(|| state.role_title.clone()),
        department: command
            .department
            .clone()
            .unwrap_or_else(|| state.department.clone()),
        manager_id,
    })])
}

/// The current tenure period of a hired employee who has not left: nothing
/// but a rehire changes a former employee.
fn employed(state: &Employee) -> Result<&TenurePeriod, RuleViolation> {
    let period = state.current_period().ok_or(RuleViolation::NotHired)?;
    if period.end.is_some() {
        return Err(RuleViolation::HasLeft {
            name: state.full_name(),
        });
    }
    Ok(period)
}

/// Refuses a date before the start of the current employment.
fn not_before_period(
    state: &Employee,
    period: &TenurePeriod,
    what: &'static str,
    date: NaiveDate,
) -> Result<(), RuleViolation> {
    if date < period.start {
        return Err(RuleViolation::BeforeCurrentEmployment {
            name: state.full_name(),
            what,
            date,
            period_start: period.start,
        });
    }
    Ok(())
}

/// A manager is an active employee of the same tenant, not the employee
/// themself, and not one of the employee's (indirect) reports.
fn check_manager(
    employee_id: Uuid,
    name: &str,
    manager: Option<&ManagerFacts>,
) -> Result<Option<Uuid>, RuleViolation> {
    let Some(manager) = manager else {
        return Ok(None);
    };
    if manager.id == employee_id {
        return Err(RuleViolation::OwnManager {
            name: name.to_owned(),
        });
    }
    if !manager.same_tenant {
        return Err(RuleViolation::ManagerOfOtherTenant {
            manager_id: manager.id,
        });
    }
    if !manager.active {
        return Err(RuleViolation::ManagerNotActive {
            manager_id: manager.id,
        });
    }
    if manager.reports_chain.contains(&employee_id) {
        return Err(RuleViolation::ManagementCycle {
            name: name.to_owned(),
            manager_id: manager.id,
        });
    }
    Ok(Some(manager.id))
}

#[cfg(test)]
mod tests;
