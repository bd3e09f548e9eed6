//! The headers of a published event: `Nats-Msg-Id`, CloudEvents attributes,
//! the tenant, the stream version, the commit-order position and the trace
//! context.

use async_nats::HeaderMap;
use async_nats::header::HeaderName;
use uuid::Uuid;

use crate::aggregate::EventData;
use crate::event::{GlobalPosition, Recorded};

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

/// The event's place in the service's commit order, `<tx_id>:<position>`:
/// a relay starting again goes on after the last event the stream stored.
pub const POSITION: &str = "tenure-position";

/// The headers every event of a service shares, built once; [`Template::for_event`]
/// adds each event's own. Header names are parsed once here too.
#[derive(Debug, Clone)]
pub struct Template {
    shared: HeaderMap,
    names: Names,
}

#[derive(Debug, Clone)]
struct Names {
    msg_id: HeaderName,
    ce_id: HeaderName,
    ce_type: HeaderName,
    ce_time: HeaderName,
    ce_subject: HeaderName,
    tenant: HeaderName,
    stream_type: HeaderName,
    stream_version: HeaderName,
    event_type: HeaderName,
    schema_version: HeaderName,
    actor: HeaderName,
    correlation_id: HeaderName,
    causation_id: HeaderName,
    traceparent: HeaderName,
    position: HeaderName,
}

fn name(name: &str) -> HeaderName {
    name.parse().expect("the kernel's header names are valid")
}

impl Template {
    /// The template of `service`'s events.
    pub fn new(service: &str) -> Self {
        let mut shared = HeaderMap::new();
        shared.insert(CE_SPECVERSION, "1.0");
        shared.insert(CE_SOURCE, format!("tenure/{service}").as_str());
        shared.insert(CE_DATACONTENTTYPE, "application/protobuf");
        Self {
            shared,
            names: Names {
                msg_id: name(MSG_ID),
                ce_id: name(CE_ID),
                ce_type: name(CE_TYPE),
                ce_time: name(CE_TIME),
                ce_subject: name(CE_SUBJECT),
                tenant: name(TENANT),
                stream_type: name(STREAM_TYPE),
                stream_version: name(STREAM_VERSION),
                event_type: name(EVENT_TYPE),
                schema_version: name(SCHEMA_VERSION),
                actor: name(ACTOR),
                correlation_id: name(CORRELATION_ID),
                causation_id: name(CAUSATION_ID),
                traceparent: name(TRACEPARENT),
                position: name(POSITION),
            },
        }
    }

    /// Headers for `event` published on `subject`.
    pub fn for_event(&self, event: &Recorded<EventData>, subject: &str) -> HeaderMap {
        let n = &self.names;
        let mut headers = self.shared.clone();
        let id = event.event_id.to_string();
        headers.insert(n.msg_id.clone(), id.as_str());
        headers.insert(n.ce_id.clone(), id);
        headers.insert(n.ce_type.clone(), subject);
        headers.insert(n.ce_time.clone(), event.recorded_at.to_rfc3339());
        headers.insert(n.ce_subject.clone(), event.stream_id.to_string());
        headers.insert(n.tenant.clone(), event.metadata.tenant_id.to_string());
        headers.insert(n.stream_type.clone(), event.stream_type.as_str());
        headers.insert(n.stream_version.clone(), event.version.to_string());
        headers.insert(n.event_type.clone(), event.event.event_type.as_str());
        headers.insert(
            n.schema_version.clone(),
            event.event.schema_version.to_string(),
        );
        headers.insert(n.actor.clone(), event.metadata.actor.as_str());
        headers.insert(
            n.correlation_id.clone(),
            event.metadata.correlation_id.to_string(),
        );
        if let Some(causation) = event.metadata.causation_id {
            headers.insert(n.causation_id.clone(), causation.to_string());
        }
        if let Some(traceparent) = &event.metadata.traceparent {
            headers.insert(n.traceparent.clone(), traceparent.as_str());
        }
        headers.insert(n.position.clone(), event.global.to_string());
        headers
    }
}

/// Headers for `event` published on `subject` by `service`.
pub fn for_event(event: &Recorded<EventData>, service: &str, subject: &str) -> HeaderMap {
    Template::new(service).for_event(event, subject)
}

/// The commit-order position a relayed message carries, if well-formed.
pub fn get_position(headers: &HeaderMap) -> Option<GlobalPosition> {
    let (tx_id, position) = get(headers, POSITION)?.split_once(':')?;
    Some(GlobalPosition {
        tx_id: tx_id.parse().ok()?,
        position: position.parse().ok()?,
    })
}

/// A header's value, if present.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).map(|value| value.as_str())
}

/// A header's value parsed as a UUID, if present and well-formed.
pub fn get_uuid(headers: &HeaderMap, name: &str) -> Option<Uuid> {
    get(headers, name).and_then(|value| Uuid::parse_str(value).ok())
}
