//! `AlumnusRehired` → the former employee is rehired: a new tenure period of
//! the same person, on the contract the alumni service agreed. An employee
//! already back since that start date is left alone (redelivered elsewhere).

use std::sync::Arc;

use async_trait::async_trait;
use prost::Message;
use sqlx::{PgConnection, PgPool};
use tenure_kernel::Repository;
use tenure_kernel::consumer::{HandlerError, Incoming, MessageHandler};
use tenure_proto::tenure::alumni::v1 as alumni;
use uuid::Uuid;

use super::react;
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
    ) -> Result<(), HandlerError> {
        if message.event_type != "AlumnusRehired" {
            return Ok(());
        }
        let event = alumni::AlumnusRehired::decode(&message.payload[..])?;
        let employee_id = Uuid::parse_str(&event.employee_id)?;
        let start = parse_date("start_date", &event.start_date)?;
        let contract =
            contract_from_proto("contract", event.contract.as_ref()).map_err(|violations| {
                let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
                text.join("; ")
            })?;
        if contract.start() != start {
            return Err(format!(
                "the contract starts on {}, not on the rehire's start {start}",
                contract.start()
            )
            .into());
        }
        let tenant_id = message.tenant_id.ok_or("the event names no tenant")?;
        let employee = self
            .repository
            .load_with(conn, tenant_id, employee_id)
            .await?
            .state;
        let back_already = employee.status() != Some(EmployeeStatus::Left)
            && employee
                .current_period()
                .is_some_and(|period| period.start == start);
        if back_already {
            return Ok(());
        }
        let manager = match event.manager_id.as_deref() {
            Some(raw) => {
                Some(queries::manager_facts(&self.pool, tenant_id, Uuid::parse_str(raw)?).await?)
            }
            None => None,
        };
        let rehire = RehireEmployee {
            contract,
            role_title: event
                .role_title
                .as_deref()
                .map(|r| RoleTitle::parse("role_title", r))
                .transpose()?,
            department: event
                .department
                .as_deref()
                .map(|d| Department::parse("department", d))
                .transpose()?,
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
