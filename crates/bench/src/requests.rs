//! The commands the bench sends: hires of distinct new employees and interest
//! changes, with the tenant in the call's metadata.

use std::sync::atomic::{AtomicU64, Ordering};

use tenure_proto::tenure::employees::v1::{
    Contract, ContractKind, HireEmployeeRequest, HireEmployeeResponse, SetInterestsRequest,
};
use tenure_runtime::request::{ACTOR_HEADER, TENANT_HEADER};
use tonic::metadata::MetadataValue;
use uuid::Uuid;

/// The first day of every hired employee.
pub const START_DATE: &str = "2025-01-06";

/// Numbers every hire of the process, so no two share a work email.
static NEXT_HIRE: AtomicU64 = AtomicU64::new(1);

/// The tenant every request of one scenario is made for.
#[derive(Debug, Clone, Copy)]
pub struct Tenant(pub Uuid);

impl Tenant {
    pub fn random() -> Tenant {
        Tenant(Uuid::now_v7())
    }

    /// `message` as a call of this tenant by the bench's actor.
    pub fn request<T>(self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let tenant: MetadataValue<_> = self
            .0
            .to_string()
            .parse()
            .expect("a UUID is valid metadata");
        request.metadata_mut().insert(TENANT_HEADER, tenant);
        request
            .metadata_mut()
            .insert(ACTOR_HEADER, MetadataValue::from_static("hr:bench"));
        request
    }
}

/// A hire of a new employee on a permanent contract, with a unique work email.
pub fn hire() -> HireEmployeeRequest {
    let n = NEXT_HIRE.fetch_add(1, Ordering::Relaxed);
    HireEmployeeRequest {
        given_name: "Ada".to_owned(),
        family_name: format!("Bench{n}"),
        work_email: format!("ada.bench{n}.{}@example.com", std::process::id()),
        department: "Engineering".to_owned(),
        role_title: "Software Engineer".to_owned(),
        manager_id: None,
        contract: Some(Contract {
            kind: ContractKind::Permanent as i32,
            start_date: START_DATE.to_owned(),
            end_date: None,
            hours_per_week: 40.0,
            season_window: None,
        }),
        start_date: START_DATE.to_owned(),
        expected_version: None,
        request_id: String::new(),
    }
}

/// The employee a hire created, from its response.
pub fn hired(response: &HireEmployeeResponse) -> anyhow::Result<Uuid> {
    Uuid::parse_str(&response.employee_id).map_err(|error| {
        anyhow::anyhow!(
            "HireEmployee answered a bad employee id {:?}: {error}",
            response.employee_id
        )
    })
}

/// Sets one of two different interest sets, so every call records an event.
pub fn set_interests(employee_id: Uuid, round: u64) -> SetInterestsRequest {
    let tags = if round.is_multiple_of(2) {
        ["rust", "chess"]
    } else {
        ["go", "running"]
    };
    SetInterestsRequest {
        employee_id: employee_id.to_string(),
        tags: tags.map(str::to_owned).to_vec(),
        expected_version: None,
        request_id: String::new(),
    }
}
