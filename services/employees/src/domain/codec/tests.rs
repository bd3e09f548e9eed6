//! Every event survives encode → decode; bad payloads are refused with the
//! right codec error.

use chrono::Weekday;
use prost::Message;
use tenure_kernel::{CodecError, DomainEvent, EventData};
use tenure_proto::tenure::employees::v1 as proto;

use crate::domain::testing::fixtures::*;
use crate::domain::*;

fn text(raw: &str) -> FreeText {
    FreeText::parse("text", raw).unwrap()
}

fn seasonal() -> Contract {
    contract(ContractKind::Seasonal, "2026-03-01", Some("2026-10-31"))
}

/// One event of every type, with optional fields both set and unset.
fn every_event() -> Vec<EmployeeEvent> {
    let agreement = WorkAgreement::parse(
        "agreement",
        WorkAgreementTerms {
            office_days: &[Weekday::Mon, Weekday::Sun],
            remote_days: &[Weekday::Wed],
            core_hours_start: "09:30",
            core_hours_end: "15:00",
            agreements: &[
                "no meetings after 16:00".to_owned(),
                "team day\non Tuesday".to_owned(),
            ],
            agreed_on: "2026-03-01",
            review_date: Some("2026-09-01"),
        },
    )
    .unwrap();
    vec![
        ada_hired("2026-03-01"),
        EmployeeEvent::Hired(EmployeeHired {
            employee_id: grace_id(),
            effective_date: date("2026-03-01"),
            given_name: name("Grace"),
            family_name: name("Hopper"),
            work_email: email("grace@example.com"),
            department: department("Research"),
            role_title: role("Rear Admiral"),
            manager_id: Some(ada_id()),
            contract: seasonal(),
        }),
        EmployeeEvent::PersonalDetailsChanged(PersonalDetailsChanged {
            employee_id: ada_id(),
            effective_date: date("2026-04-01"),
            given_name: name("Ada"),
            family_name: name("King"),
            work_email: email("ada.king@example.com"),
        }),
        EmployeeEvent::ContractChanged(ContractChanged {
            employee_id: ada_id(),
            effective_date: date("2026-05-01"),
            change_kind: ContractChangeKind::Convert,
            contract: contract(ContractKind::FixedTerm, "2026-05-01", Some("2027-04-30")),
        }),
        EmployeeEvent::RoleChanged(RoleChanged {
            employee_id: ada_id(),
            effective_date: date("2026-06-01"),
            role_title: role("Team Lead"),
            department: department("Sales"),
        }),
        EmployeeEvent::ManagerAssigned(ManagerAssigned {
            employee_id: ada_id(),
            effective_date: date("2026-06-01"),
            manager_id: Some(grace_id()),
        }),
        EmployeeEvent::ManagerAssigned(ManagerAssigned {
            employee_id: ada_id(),
            effective_date: date("2026-06-02"),
            manager_id: None,
        }),
        EmployeeEvent::WorkAgreementRecorded(WorkAgreementRecorded {
            employee_id: ada_id(),
            effective_date: date("2026-03-01"),
            agreement,
        }),
        EmployeeEvent::InterestsChanged(InterestsChanged {
            employee_id: ada_id(),
            effective_date: date("2026-06-03"),
            tags: Interests::parse("tags", &["rust".to_owned(), "running".to_owned()]).unwrap(),
        }),
        EmployeeEvent::InterestsChanged(InterestsChanged {
            employee_id: ada_id(),
            effective_date: date("2026-06-04"),
            tags: Interests::default(),
        }),
        EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
            employee_id: ada_id(),
            effective_date: date("2026-07-01"),
            separation_type: SeparationType::Voluntary,
            reason_code: ReasonCode::parse("reason_code", "better_offer").unwrap(),
            regrettable: Some(false),
            last_working_day: date("2026-06-30"),
            note: Some(text("moving abroad")),
            backdate_reason: Some(text("letter found late")),
            contract_kind: ContractKind::FixedTerm,
            department: department("Sales"),
            role_title: role("Team Lead"),
        }),
        EmployeeEvent::DepartureAnnounced(DepartureAnnounced {
            employee_id: ada_id(),
            effective_date: date("2026-07-01"),
            separation_type: SeparationType::ContractEnd,
            reason_code: ReasonCode::parse("reason_code", "contract-ended").unwrap(),
            regrettable: None,
            last_working_day: date("2026-07-31"),
            note: None,
            backdate_reason: None,
            contract_kind: ContractKind::Seasonal,
            department: department("Sales"),
            role_title: role("Team Lead"),
        }),
        EmployeeEvent::DepartureWithdrawn(DepartureWithdrawn {
            employee_id: ada_id(),
            effective_date: date("2026-07-02"),
            reason: text("stays after all"),
        }),
        EmployeeEvent::EmploymentEnded(EmploymentEnded {
            employee_id: ada_id(),
            effective_date: date("2026-07-31"),
            reason: text("offboarding completed"),
            separation_type: SeparationType::Retirement,
            reason_code: ReasonCode::parse("reason_code", "retirement").unwrap(),
            regrettable: None,
            period_start_date: date("2026-03-01"),
            contract: seasonal(),
            role_title: role("Team Lead"),
            department: department("Sales"),
        }),
        EmployeeEvent::Rehired(EmployeeRehired {
            employee_id: ada_id(),
            effective_date: date("2027-03-01"),
            contract: contract(ContractKind::Project, "2027-03-01", Some("2027-06-30")),
            role_title: role("Consultant"),
            department: department("Sales"),
            manager_id: Some(grace_id()),
        }),
    ]
}

fn stored(event: &EmployeeEvent) -> EventData {
    EventData {
        event_type: event.event_type().to_owned(),
        schema_version: event.schema_version(),
        payload: event.encode(),
    }
}

#[test]
fn every_event_survives_encode_and_decode() {
    let events = every_event();
    let mut types: Vec<_> = events.iter().map(DomainEvent::event_type).collect();
    types.dedup();
    assert_eq!(
        types,
        EmployeeEvent::EVENT_TYPES,
        "one event of every type, in order"
    );
    for event in events {
        let decoded = EmployeeEvent::from_stored(stored(&event)).unwrap();
        assert_eq!(decoded, event);
    }
}

#[test]
fn the_payload_is_the_published_message() {
    let data = stored(&ada_hired("2026-03-01"));
    let message = proto::EmployeeHired::decode(data.payload.as_slice()).unwrap();
    assert_eq!(data.event_type, "EmployeeHired");
    assert_eq!(message.employee_id, ada_id().to_string());
    assert_eq!(message.effective_date, "2026-03-01");
    assert_eq!(
        (message.given_name.as_str(), message.family_name.as_str()),
        ("Ada", "Lovelace")
    );
    assert_eq!(message.manager_id, None);
    let contract = message.contract.unwrap();
    assert_eq!(contract.kind, proto::ContractKind::Permanent as i32);
    assert_eq!(
        (contract.start_date.as_str(), contract.end_date),
        ("2026-03-01", None)
    );
    assert_eq!(contract.hours_per_week, 40.0);
}

#[test]
fn an_unknown_event_type_is_refused() {
    let data = EventData {
        event_type: "EmployeePromotedToCeo".into(),
        schema_version: 1,
        payload: vec![],
    };
    assert!(matches!(
        EmployeeEvent::decode(&data),
        Err(CodecError::UnknownType { event_type }) if event_type == "EmployeePromotedToCeo"
    ));
}

#[test]
fn a_newer_schema_version_is_refused() {
    let data = EventData {
        schema_version: 2,
        ..stored(&ada_hired("2026-03-01"))
    };
    assert!(matches!(
        EmployeeEvent::decode(&data),
        Err(CodecError::UnknownVersion {
            schema_version: 2,
            ..
        })
    ));
}

#[test]
fn bytes_that_are_not_the_message_are_malformed() {
    let data = EventData {
        payload: vec![0xff, 0xff, 0xff],
        ..stored(&ada_hired("2026-03-01"))
    };
    assert!(matches!(
        EmployeeEvent::decode(&data),
        Err(CodecError::Malformed { .. })
    ));
}

#[test]
fn values_that_break_the_rules_are_malformed() {
    let message = proto::RoleChanged {
        employee_id: "not-a-uuid".into(),
        effective_date: "2026-02-30".into(),
        role_title: String::new(),
        department: "Sales".into(),
    };
    let data = EventData {
        event_type: "RoleChanged".into(),
        schema_version: 1,
        payload: message.encode_to_vec(),
    };
    match EmployeeEvent::decode(&data) {
        Err(CodecError::Malformed { event_type, reason }) => {
            assert_eq!(event_type, "RoleChanged");
            for field in ["employee_id", "effective_date", "role_title"] {
                assert!(reason.contains(field), "{reason}");
            }
        }
        other => panic!("expected a malformed event, got {other:?}"),
    }
}

#[test]
fn an_unknown_enum_value_is_malformed() {
    let mut message = proto::DepartureAnnounced::from(&match &every_event()[10] {
        EmployeeEvent::DepartureAnnounced(event) => event.clone(),
        other => panic!("{other:?}"),
    });
    message.separation_type = 42;
    let data = EventData {
        event_type: "DepartureAnnounced".into(),
        schema_version: 1,
        payload: message.encode_to_vec(),
    };
    assert!(matches!(
        EmployeeEvent::decode(&data),
        Err(CodecError::Malformed { reason, .. }) if reason.contains("separation_type")
    ));
}
