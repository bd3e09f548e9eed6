//! A message as a handler sees it: the event's payload and what its headers say.

use async_nats::HeaderMap;
use async_nats::jetstream::Message;
use bytes::Bytes;
use uuid::Uuid;

use crate::relay::headers;

/// One delivered event, read from its headers.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The event id (`Nats-Msg-Id`): the inbox key.
    pub message_id: Uuid,
    pub subject: String,
    /// The event type, e.g. `EmployeeHired` (from `tenure-event-type`, else the last subject token).
    pub event_type: String,
    pub schema_version: i32,
    pub tenant_id: Option<Uuid>,
    /// The aggregate the event belongs to (`ce-subject`).
    pub stream_id: Option<Uuid>,
    /// The event's version in its stream, to notice reordering.
    pub stream_version: Option<i64>,
    pub correlation_id: Option<Uuid>,
    pub traceparent: Option<String>,
    /// Where the message sits in the JetStream stream.
    pub stream_sequence: u64,
    /// How often JetStream has delivered it, this time included.
    pub delivered: i64,
    pub headers: HeaderMap,
    pub payload: Bytes,
}

impl Incoming {
    /// Reads a delivered message; `Err` says why it cannot be processed at all.
    pub(crate) fn parse(message: &Message) -> Result<Incoming, String> {
        let info = message
            .info()
            .map_err(|e| format!("not a JetStream message: {e}"))?;
        let headers = message.headers.clone().unwrap_or_default();
        let message_id = headers::get_uuid(&headers, headers::MSG_ID)
            .ok_or_else(|| format!("{} header missing or not a UUID", headers::MSG_ID))?;
        let subject = message.subject.to_string();
        let event_type = headers::get(&headers, headers::EVENT_TYPE)
            .map(str::to_owned)
            .or_else(|| subject.rsplit('.').next().map(str::to_owned))
            .unwrap_or_default();
        Ok(Incoming {
            message_id,
            event_type,
            schema_version: headers::get(&headers, headers::SCHEMA_VERSION)
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
            tenant_id: headers::get_uuid(&headers, headers::TENANT),
            stream_id: headers::get_uuid(&headers, headers::CE_SUBJECT),
            stream_version: headers::get(&headers, headers::STREAM_VERSION)
                .and_then(|v| v.parse().ok()),
            correlation_id: headers::get_uuid(&headers, headers::CORRELATION_ID),
            traceparent: headers::get(&headers, headers::TRACEPARENT).map(str::to_owned),
            stream_sequence: info.stream_sequence,
            delivered: info.delivered,
            subject,
            headers,
            payload: message.payload.clone(),
        })
    }
}
