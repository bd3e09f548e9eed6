//! Who is calling, for which tenant, in which trace: read from request metadata.
//!
//! Until bearer tokens are verified, the tenant comes from the `x-tenant-id`
//! header and the actor from `x-actor`; a later JWT layer fills the same
//! [`Caller`] from the token's claims, and handlers do not change.

use tonic::Status;
use tonic::metadata::MetadataMap;
use uuid::Uuid;

pub const TENANT_HEADER: &str = "x-tenant-id";
pub const ACTOR_HEADER: &str = "x-actor";
pub const CORRELATION_HEADER: &str = "x-correlation-id";
pub const TRACEPARENT_HEADER: &str = "traceparent";

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant_id: Uuid,
    pub actor: String,
    /// From `x-correlation-id` when the client sent one, else new.
    pub correlation_id: Uuid,
    pub traceparent: Option<String>,
}

impl Caller {
    /// Reads the caller; a missing or malformed tenant is `UNAUTHENTICATED`.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Caller, Status> {
        let text = |name: &str| {
            metadata
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
        };
        let tenant_id = match text(TENANT_HEADER) {
            Some(value) => Uuid::parse_str(value)
                .map_err(|_| Status::unauthenticated(format!("{TENANT_HEADER} must be a UUID")))?,
            None => {
                return Err(Status::unauthenticated(format!(
                    "{TENANT_HEADER} header is required"
                )));
            }
        };
        let actor = text(ACTOR_HEADER)
            .filter(|a| !a.is_empty() && a.len() <= 200)
            .unwrap_or("anonymous")
            .to_owned();
        let correlation_id = text(CORRELATION_HEADER)
            .and_then(|v| Uuid::parse_str(v).ok())
            .unwrap_or_else(Uuid::now_v7);
        let traceparent = text(TRACEPARENT_HEADER)
            .filter(|t| t.len() <= 128)
            .map(str::to_owned);
        Ok(Caller {
            tenant_id,
            actor,
            correlation_id,
            traceparent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_is_required_and_must_be_a_uuid() {
        let mut metadata = MetadataMap::new();
        let missing = Caller::from_metadata(&metadata).unwrap_err();
        assert_eq!(missing.code(), tonic::Code::Unauthenticated);

        metadata.insert(TENANT_HEADER, "nope".parse().unwrap());
        assert_eq!(
            Caller::from_metadata(&metadata).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );

        let tenant = Uuid::now_v7();
        metadata.insert(TENANT_HEADER, tenant.to_string().parse().unwrap());
        metadata.insert(ACTOR_HEADER, "hr:ada".parse().unwrap());
        let caller = Caller::from_metadata(&metadata).unwrap();
        assert_eq!(
            (caller.tenant_id, caller.actor.as_str()),
            (tenant, "hr:ada")
        );
    }
}
