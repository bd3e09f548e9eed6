//! `AlumnusRehired` → the former employee is rehired: a new tenure period of
//! the same person, on the contract the alumni service agreed. An employee
//! already back since that start date is left alone (redelivered elsewhere).

use std::sync::Arc;

use async_trait::async_trait;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use tenure_kernel::Repository;
use tenure_kernel::consumer::{Failure, Incoming, MessageHandler, Outcome};
use tenure_proto::tenure::alumni::v1 as alumni;
use uuid::Uuid;

use super::{OrPoison, poison, react};
use crate::domain::codec::contract_from_proto;
use crate::domain::{
    Department, Employee, EmployeeCommand, EmployeeStatus, RehireEmployee, RoleTitle, parse_date,
};
use crate::projections::queries;

const ACTOR: &str = "service:employees/alumnus-rehired";

pub struct AlumniReaction {
    repository: Arc<Repository<Employee>>,
    pool: PgPool,
}

impl AlumniReaction {
    pub fn new(repository: Arc<Repository<Employee>>, pool: PgPool) -> Self {
        Self { repository, pool }
    }
}

#[async_trait]
impl MessageHandler for AlumniReaction {
    async fn handle(
        &self,
        conn: &mut PgConnection,
        message: &Incoming,
    ) -> Result<Outcome, Failure> {
        if message.event_type != "AlumnusRehired" {
            return Ok(Outcome::Skipped);
        }
        let event = alumni::AlumnusRehired::decode(&message.payload[..]).or_poison("payload")?;
        let employee_id = Uuid::parse_str(&event.employee_id).or_poison("employee_id")?;
        let start = parse_date("start_date", &event.start_date).or_poison("start_date")?;
        let contract =
            contract_from_proto("contract", event.contract.as_ref()).map_err(|violations| {
                let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
                poison(text.join("; "))
            })?;
        if contract.start() != start {
            return Err(poison(format!(
                "the contract starts on {}, not on the rehire's start {start}",
                contract.start()
            )));
        }
        let tenant_id = message
            .tenant_id
            .ok_or_else(|| poison("the event names no tenant"))?;
        let employee = self
            .repository
            .load_with(conn, tenant_id, employee_id)
            .await
            .map_err(|e| Failure::retry(&e))?
            .state;
        let back_already = employee.status() != Some(EmployeeStatus::Left)
            && employee
                .current_period()
                .is_some_and(|period| period.start == start);
        if back_already {
            return Ok(Outcome::Skipped);
        }
        let manager = match event.manager_id.as_deref() {
            Some(raw) => {
                let manager_id = Uuid::parse_str(raw).or_poison("manager_id")?;
                Some(
                    queries::manager_facts(&self.pool, tenant_id, manager_id)
                        .await
                        .map_err(|e| Failure::retry(&e))?,
                )
            }
            None => None,
        };
        let rehire = RehireEmployee {
            contract,
            role_title: event
                .role_title
                .as_deref()
                .map(|r| RoleTitle::parse("role_title", r))
                .transpose()
                .or_poison("role_title")?,
            department: event
                .department
                .as_deref()
                .map(|d| Department::parse("department", d))
                .transpose()
                .or_poison("department")?,
            manager,
        };
        react(
            &self.repository,
            conn,
            message,
            ACTOR,
            employee_id,
            EmployeeCommand::Rehire(rehire),
        )
        .await
    }
}
