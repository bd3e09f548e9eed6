//! A batch of employees events folded into one change per employee, written
//! in one statement: the rows of employees hired in the batch inserted whole,
//! the others updated in the columns their events changed.
//!
//! The result equals applying the events one by one with
//! [`super::apply`]. Where it could not (a hire of an employee already
//! there), the statement fails, and the consumer applies the batch one event
//! at a time instead.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use prost::Message;
use sqlx::PgConnection;
use tenure_kernel::consumer::Incoming;
use tenure_proto::tenure::employees::v1 as employees;
use uuid::Uuid;

use super::{ApplyError, date, display_name, optional_uuid};

/// What a batch's events leave of one employee's row: `None` keeps a column.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Change {
    /// Hired in this batch: every column is known and the row is inserted.
    hired_on: Option<NaiveDate>,
    display_name: Option<String>,
    department: Option<String>,
    role_title: Option<String>,
    manager_id: Option<Option<Uuid>>,
    active: Option<bool>,
    version: i64,
    /// Whether a column changed, not only the version (which keeps `updated_at`).
    touched: bool,
}

/// One change per `(tenant, employee)`, from `messages` in delivery order.
pub(super) fn fold(messages: &[&Incoming]) -> Result<BTreeMap<(Uuid, Uuid), Change>, ApplyError> {
    let mut people: BTreeMap<(Uuid, Uuid), Change> = BTreeMap::new();
    for message in messages {
        let tenant = message
            .tenant_id
            .ok_or_else(|| ApplyError::Malformed("event has no tenant header".into()))?;
        let change = people.entry((tenant, message.stream_id)).or_default();
        apply(change, message)?;
        change.version = message.stream_version;
    }
    Ok(people)
}

/// Folds one event into `change`, as [`super::apply`] writes it.
fn apply(change: &mut Change, message: &Incoming) -> Result<(), ApplyError> {
    let payload = &message.payload[..];
    match message.event_type.as_str() {
        // Changes before a hire in the same batch touched no row, or the
        // insert fails on the row they touched: the hire starts afresh.
        "EmployeeHired" => {
            let e = employees::EmployeeHired::decode(payload)?;
            *change = Change {
                hired_on: Some(date(&e.effective_date)?),
                display_name: Some(display_name(&e.given_name, &e.family_name)),
                department: Some(e.department),
                role_title: Some(e.role_title),
                manager_id: Some(optional_uuid(e.manager_id.as_deref())?),
                active: Some(true),
                version: 0,
                touched: true,
            };
            return Ok(());
        }
        "PersonalDetailsChanged" => {
            let e = employees::PersonalDetailsChanged::decode(payload)?;
            change.display_name = Some(display_name(&e.given_name, &e.family_name));
        }
        "RoleChanged" => {
            let e = employees::RoleChanged::decode(payload)?;
            change.role_title = Some(e.role_title);
            change.department = Some(e.department);
        }
        "ManagerAssigned" => {
            let e = employees::ManagerAssigned::decode(payload)?;
            change.manager_id = Some(optional_uuid(e.manager_id.as_deref())?);
        }
        "EmploymentEnded" => change.active = Some(false),
        "EmployeeRehired" => {
            let e = employees::EmployeeRehired::decode(payload)?;
            change.active = Some(true);
            if !e.role_title.is_empty() {
                change.role_title = Some(e.role_title);
            }
            if !e.department.is_empty() {
                change.department = Some(e.department);
            }
            change.manager_id = Some(optional_uuid(e.manager_id.as_deref())?);
        }
        // Events that change nothing here still advance the version.
        _ => return Ok(()),
    }
    change.touched = true;
    Ok(())
}

/// Writes the folded changes in one statement.
pub(super) async fn write(
    conn: &mut PgConnection,
    people: &BTreeMap<(Uuid, Uuid), Change>,
) -> Result<(), sqlx::Error> {
    if people.is_empty() {
        return Ok(());
    }
    let mut hired = Columns::default();
    let mut changed = Columns::default();
    for (&(tenant, employee), change) in people {
        let columns = if change.hired_on.is_some() {
            &mut hired
        } else {
            &mut changed
        };
        columns.push(tenant, employee, change);
    }
    sqlx::query(include_str!("write.sql"))
        .bind(&hired.tenant)
        .bind(&hired.employee)
        .bind(&hired.display_name)
        .bind(&hired.department)
        .bind(&hired.role_title)
        .bind(&hired.manager_id)
        .bind(&hired.hired_on)
        .bind(&hired.version)
        .bind(&changed.tenant)
        .bind(&changed.employee)
        .bind(&changed.display_name)
        .bind(&changed.department)
        .bind(&changed.role_title)
        .bind(&changed.sets_manager)
        .bind(&changed.manager_id)
        .bind(&changed.active)
        .bind(&changed.version)
        .bind(&changed.touched)
        .execute(conn)
        .await?;
    Ok(())
}

/// Changes as the statement's parameter arrays.
#[derive(Default)]
struct Columns<'a> {
    tenant: Vec<Uuid>,
    employee: Vec<Uuid>,
    display_name: Vec<Option<&'a str>>,
    department: Vec<Option<&'a str>>,
    role_title: Vec<Option<&'a str>>,
    sets_manager: Vec<bool>,
    manager_id: Vec<Option<Uuid>>,
    active: Vec<Option<bool>>,
    hired_on: Vec<Option<NaiveDate>>,
    version: Vec<i64>,
    touched: Vec<bool>,
}

impl<'a> Columns<'a> {
    fn push(&mut self, tenant: Uuid, employee: Uuid, change: &'a Change) {
        self.tenant.push(tenant);
        self.employee.push(employee);
        self.display_name.push(change.display_name.as_deref());
        self.department.push(change.department.as_deref());
        self.role_title.push(change.role_title.as_deref());
        self.sets_manager.push(change.manager_id.is_some());
        self.manager_id.push(change.manager_id.flatten());
        self.active.push(change.active);
        self.hired_on.push(change.hired_on);
        self.version.push(change.version);
        self.touched.push(change.touched);
    }
}

#[cfg(test)]
mod tests {
    use async_nats::HeaderMap;

    use super::*;

    fn event(stream: Uuid, version: i64, event_type: &str, payload: Vec<u8>) -> Incoming {
        Incoming {
            message_id: Uuid::now_v7(),
            subject: format!("t.employees.0.{event_type}"),
            event_type: event_type.to_owned(),
            schema_version: 1,
            tenant_id: Some(Uuid::nil()),
            stream_id: stream,
            stream_version: version,
            correlation_id: None,
            traceparent: None,
            stream_sequence: version as u64,
            delivered: 1,
            headers: HeaderMap::new(),
            payload: payload.into(),
        }
    }

    fn hired(stream: Uuid) -> Incoming {
        let e = employees::EmployeeHired {
            effective_date: "2025-01-06".to_owned(),
            given_name: "Ada".to_owned(),
            family_name: "Lovelace".to_owned(),
            department: "Engineering".to_owned(),
            role_title: "Engineer".to_owned(),
            ..Default::default()
        };
        event(stream, 1, "EmployeeHired", e.encode_to_vec())
    }

    #[test]
    fn a_hire_and_its_changes_become_one_new_row() {
        let ada = Uuid::now_v7();
        let role = employees::RoleChanged {
            role_title: "Staff Engineer".to_owned(),
            department: "Platform".to_owned(),
            ..Default::default()
        };
        let rehired = employees::EmployeeRehired {
            role_title: String::new(),
            department: "Research".to_owned(),
            ..Default::default()
        };
        let events = [
            hired(ada),
            event(ada, 2, "RoleChanged", role.encode_to_vec()),
            event(ada, 3, "EmploymentEnded", vec![]),
            event(ada, 4, "EmployeeRehired", rehired.encode_to_vec()),
            event(ada, 5, "InterestsChanged", vec![]),
        ];
        let refs: Vec<&Incoming> = events.iter().collect();
        let people = fold(&refs).ok().unwrap();
        let change = &people[&(Uuid::nil(), ada)];
        assert_eq!(change.hired_on, NaiveDate::from_ymd_opt(2025, 1, 6));
        assert_eq!(change.display_name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(change.role_title.as_deref(), Some("Staff Engineer"));
        assert_eq!(change.department.as_deref(), Some("Research"));
        assert_eq!(change.manager_id, Some(None));
        assert_eq!(change.active, Some(true));
        assert_eq!(change.version, 5);
    }

    #[test]
    fn changes_without_a_hire_keep_the_columns_they_do_not_name() {
        let ada = Uuid::now_v7();
        let events = [
            event(ada, 7, "EmploymentEnded", vec![]),
            event(ada, 8, "InterestsChanged", vec![]),
        ];
        let refs: Vec<&Incoming> = events.iter().collect();
        let people = fold(&refs).ok().unwrap();
        let change = &people[&(Uuid::nil(), ada)];
        assert_eq!(
            change,
            &Change {
                active: Some(false),
                version: 8,
                touched: true,
                ..Change::default()
            }
        );
        let only_version = [event(ada, 9, "InterestsChanged", vec![])];
        let refs: Vec<&Incoming> = only_version.iter().collect();
        assert!(!fold(&refs).ok().unwrap()[&(Uuid::nil(), ada)].touched);
    }

    #[test]
    fn an_unreadable_event_fails_the_fold() {
        let ada = Uuid::now_v7();
        let events = [event(ada, 1, "EmployeeHired", vec![0xff, 0xff])];
        let refs: Vec<&Incoming> = events.iter().collect();
        assert!(matches!(fold(&refs), Err(ApplyError::Malformed(_))));
    }
}
