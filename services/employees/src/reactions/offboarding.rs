//! `OffboardingCompleted` → the employment ends on the last working day.
//!
//! A case is normally opened by our `DepartureAnnounced`, so the employee is
//! leaving. HR may also have opened one by hand for an employee whose
//! departure was never announced here: then the departure is recorded first,
//! from the case. An employee who has already left is left alone (the case
//! was completed twice, or ended by hand).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use prost::Message;
use sqlx::PgConnection;
use tenure_kernel::Repository;
use tenure_kernel::consumer::{Failure, Incoming, MessageHandler, Outcome};
use tenure_proto::tenure::offboarding::v1 as offboarding;
use uuid::Uuid;

use super::{OrPoison, poison, react};
use crate::domain::codec::separation_type_from_proto;
use crate::domain::{
    AnnounceDeparture, Employee, EmployeeCommand, EmployeeStatus, EndEmployment, FreeText,
    ReasonCode, parse_date,
};

/// The actor recorded on events this reaction causes.
const ACTOR: &str = "service:employees/offboarding-completed";

pub struct OffboardingReaction {
    repository: Arc<Repository<Employee>>,
}

impl OffboardingReaction {
    pub fn new(repository: Arc<Repository<Employee>>) -> Self {
        Self { repository }
    }
}

#[async_trait]
impl MessageHandler for OffboardingReaction {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Outcome, Failure> {
        if message.event_type != "OffboardingCompleted" {
            return Ok(Outcome::Skipped);
        }
        let event =
            offboarding::OffboardingCompleted::decode(&message.payload[..]).or_poison("payload")?;
        let employee_id = Uuid::parse_str(&event.employee_id).or_poison("employee_id")?;
        let last_working_day = parse_date("last_working_day", &event.last_working_day)
            .or_poison("last_working_day")?;
        let tenant_id = message
            .tenant_id
            .ok_or_else(|| poison("the event names no tenant"))?;
        let employee = self
            .repository
            .load_with(conn, tenant_id, employee_id)
            .await
            .map_err(|e| Failure::retry(&e))?
            .state;
        let reason = FreeText::parse(
            "reason",
            &format!("offboarding case {} completed", event.case_id),
        )
        .or_poison("case_id")?;

        match employee.status() {
            None => {
                return Err(poison(format!(
                    "no employee {employee_id} to end the employment of"
                )));
            }
            Some(EmployeeStatus::Left) => return Ok(Outcome::Skipped),
            Some(EmployeeStatus::Leaving) => {}
            Some(EmployeeStatus::Active) => {
                // Offboarding's separation types mirror ours value for value.
                let separation_type =
                    separation_type_from_proto("separation_type", event.separation_type)
                        .or_poison("separation_type")?;
                let today = Utc::now().date_naive();
                let backdate_reason = (last_working_day < today)
                    .then(|| {
                        FreeText::parse(
                            "backdate_reason",
                            "recorded from a completed offboarding case",
                        )
                    })
                    .transpose()
                    .or_poison("backdate_reason")?;
                let announce = AnnounceDeparture {
                    separation_type,
                    reason_code: ReasonCode::parse("reason_code", "offboarding")
                        .or_poison("reason_code")?,
                    regrettable: None,
                    last_working_day,
                    note: None,
                    backdate_reason,
                    today,
                    reason_codes: None,
                };
                react(
                    &self.repository,
                    conn,
                    message,
                    ACTOR,
                    employee_id,
                    EmployeeCommand::AnnounceDeparture(announce),
                )
                .await?;
            }
        }
        let end = EndEmployment {
            ended_on: last_working_day,
            reason,
        };
        react(
            &self.repository,
            conn,
            message,
            ACTOR,
            employee_id,
            EmployeeCommand::EndEmployment(end),
        )
        .await
    }
}
