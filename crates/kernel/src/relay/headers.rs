//! The headers of a published event: `Nats-Msg-Id`, CloudEvents attributes,
//! the tenant, the stream position and the trace context.

use async_nats::HeaderMap;
use uuid::Uuid;

use crate::aggregate::EventData;
use crate::event::Recorded;

pub const MSG_ID: &str = "Nats-Msg-Id";
pub const CE_SPECVERSION: &str = "ce-specversion";
pub const CE_ID: &str = "ce-id";
pub const CE_TYPE: &str = "ce-type";
pub const CE_SOURCE: &str = "ce-source";
pub const CE_TIME: &str = "ce-time";
pub const CE_SUBJECT: &str = "ce-subject";
pub const CE_DATACONTENTTYPE: &str = "ce-datacontenttype";
pub const TENANT: &str = "tenure-tenant";
pub const STREAM_TYPE: &str = "tenure-stream-type";
pub const STREAM_VERSION: &str = "tenure-stream-version";
pub const SCHEMA_VERSION: &str = "tenure-schema-version";
pub const EVENT_TYPE: &str = "tenure-event-type";
pub const ACTOR: &str = "tenure-actor";
pub const CORRELATION_ID: &str = "tenure-correlation-id";
pub const CAUSATION_ID: &str = "tenure-causation-id";
pub const TRACEPARENT: &str = "traceparent";

/// Headers for `event` published on `subject` by `service`.
pub fn for_event(event: &Recorded<EventData>, service: &str, subject: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let id = event.event_id.to_string();
    headers.insert(MSG_ID, id.as_str());
    headers.insert(CE_SPECVERSION, "1.0");
    headers.insert(CE_ID, id.as_str());
    headers.insert(CE_TYPE, subject);
    headers.insert(CE_SOURCE, format!("tenure/{service}").as_str());
    headers.insert(CE_TIME, event.recorded_at.to_rfc3339().as_str());
    headers.insert(CE_SUBJECT, event.stream_id.to_string().as_str());
    headers.insert(CE_DATACONTENTTYPE, "application/protobuf");
    headers.insert(TENANT, event.metadata.tenant_id.to_string().as_str());
    headers.insert(STREAM_TYPE, event.stream_type.as_str());
    headers.insert(STREAM_VERSION, event.version.to_string().as_str());
    headers.insert(EVENT_TYPE, event.event.event_type.as_str());
    headers.insert(
        SCHEMA_VERSION,
        event.event.schema_version.to_string().as_str(),
    );
    headers.insert(ACTOR, event.metadata.actor.as_str());
    headers.insert(
        CORRELATION_ID,
        event.metadata.correlation_id.to_string().as_str(),
    );
    if let Some(causation) = event.metadata.causation_id {
        headers.insert(CAUSATION_ID, causation.to_string().as_str());
    }
    if let Some(traceparent) = &event.metadata.traceparent {
        headers.insert(TRACEPARENT, traceparent.as_str());
    }
    headers
}

/// A header's value, if present.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.as_str())
}

/// A header's value parsed as a UUID, if present and well-formed.
pub fn get_uuid(headers: &HeaderMap, name: &str) -> Option<Uuid> {
    get(headers, name).and_then(|value| Uuid::parse_str(value).ok())
}
