//! One command flowing from employees, through the event store, the relay and
//! JetStream, into the development service's read model.

use std::time::{Duration, Instant};

use tenure_proto::tenure::development::v1::GetPersonRequest;
use tenure_proto::tenure::employees::v1::{
    Contract, ContractKind, GetEmployeeRequest, HireEmployeeRequest,
};
use tonic::Code;

use crate::stack::Stack;

fn hire(email: &str) -> HireEmployeeRequest {
    HireEmployeeRequest {
        given_name: "Ada".into(),
        family_name: "Lovelace".into(),
        work_email: email.into(),
        department: "Engineering".into(),
        role_title: "Analyst".into(),
        start_date: "2026-03-01".into(),
        contract: Some(Contract {
            kind: ContractKind::Permanent as i32,
            start_date: "2026-03-01".into(),
            hours_per_week: 36.0,
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hire_reaches_the_development_read_model() {
    let mut stack = Stack::start().await;
    let request = stack.request(hire("ada@example.com"));
    let hired = stack
        .employees
        .hire_employee(request)
        .await
        .expect("hire")
        .into_inner();
    assert_eq!(hired.version, 1);

    let request = stack.request(GetEmployeeRequest {
        employee_id: hired.employee_id.clone(),
        ..Default::default()
    });
    let employee = stack
        .employees
        .get_employee(request)
        .await
        .expect("get")
        .into_inner();
    let employee = employee.employee.expect("employee");
    assert_eq!(
        (employee.given_name.as_str(), employee.work_email.as_str()),
        ("Ada", "ada@example.com")
    );

    let started = Instant::now();
    let person = loop {
        let request = stack.request(GetPersonRequest {
            employee_id: hired.employee_id.clone(),
        });
        match stack.development.get_person(request).await {
            Ok(response) => break response.into_inner(),
            Err(status) if status.code() == Code::NotFound => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "the hire never reached development"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("GetPerson failed: {status:?}"),
        }
    };
    assert_eq!(person.display_name, "Ada Lovelace");
    assert_eq!(person.department, "Engineering");
    assert!(person.active);
    assert_eq!(person.hired_on, "2026-03-01");
    assert_eq!(person.last_event_version, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_hire_is_refused_naming_the_field_and_writes_nothing() {
    let mut stack = Stack::start().await;
    for (request, field) in [
        (
            HireEmployeeRequest {
                work_email: "not-an-email".into(),
                ..hire("x@example.com")
            },
            "work_email",
        ),
        (
            HireEmployeeRequest {
                given_name: "".into(),
                ..hire("y@example.com")
            },
            "given_name",
        ),
    ] {
        let status = stack
            .employees
            .hire_employee(stack.request(request))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains(field),
            "{field} named in {:?}",
            status.message()
        );
        let details = tonic_types::StatusExt::get_error_details(&status);
        let violations = details
            .bad_request()
            .expect("BadRequest details")
            .field_violations
            .clone();
        assert!(
            violations.iter().any(|v| v.field == field),
            "{violations:?}"
        );
    }
    // Nothing was written: the one valid hire afterwards is version 1 of the
    // first employee the directory lists.
    let listed = stack
        .employees
        .list_employees(stack.request(Default::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        listed.employees.is_empty(),
        "no employee was created: {listed:?}"
    );
}
