//! A message as a handler sees it: the event's payload and what its headers say.

use async_nats::HeaderMap;
use async_nats::jetstream::Message;
use bytes::Bytes;
use uuid::Uuid;

use crate::relay::headers;

/// One delivered event, read from its headers.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// The event id (`Nats-Msg-Id`).
    pub message_id: Uuid,
    pub subject: String,
    /// The event type, e.g. `EmployeeHired` (from `tenure-event-type`, else the last subject token).
    pub event_type: String,
    pub schema_version: i32,
    pub tenant_id: Option<Uuid>,
    /// The stream (aggregate) the event belongs to (`ce-subject`).
    pub stream_id: Uuid,
    /// The event's version in its stream: events of a stream are applied in this order.
    pub stream_version: i64,
    pub correlation_id: Option<Uuid>,
    pub traceparent: Option<String>,
    /// Where the message sits in the JetStream stream.
    pub stream_sequence: u64,
    /// How often JetStream has delivered it, this time included (1 for a
    /// parked message applied later: its attempts are counted apart).
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
        Incoming::from_parts(
            message.subject.to_string(),
            headers,
            message.payload.clone(),
            info.stream_sequence,
            info.delivered,
        )
    }

    /// Reads a message from its parts, as delivered or as parked.
    pub(crate) fn from_parts(
        subject: String,
        headers: HeaderMap,
        payload: Bytes,
        stream_sequence: u64,
        delivered: i64,
    ) -> Result<Incoming, String> {
        let message_id = headers::get_uuid(&headers, headers::MSG_ID)
            .ok_or_else(|| format!("{} header missing or not a UUID", headers::MSG_ID))?;
        let stream_id = headers::get_uuid(&headers, headers::CE_SUBJECT).ok_or_else(|| {
            format!(
                "{} header (the stream id) missing or not a UUID",
                headers::CE_SUBJECT
            )
        })?;
        let stream_version = headers::get(&headers, headers::STREAM_VERSION)
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|v| *v > 0)
            .ok_or_else(|| {
                format!(
                    "{} header missing or not a positive number",
                    headers::STREAM_VERSION
                )
            })?;
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
            stream_id,
            stream_version,
            correlation_id: headers::get_uuid(&headers, headers::CORRELATION_ID),
            traceparent: headers::get(&headers, headers::TRACEPARENT).map(str::to_owned),
            stream_sequence,
            delivered,
            subject,
            headers,
            payload,
        })
    }
}

/// Headers as JSON (`name → [values]`), for the dead-letter and parked tables.
pub(crate) fn headers_to_json(headers: &HeaderMap) -> serde_json::Value {
    let map = headers
        .iter()
        .map(|(name, values)| {
            let values: Vec<&str> = values.iter().map(|v| v.as_str()).collect();
            (name.to_string(), serde_json::json!(values))
        })
        .collect::<serde_json::Map<_, _>>();
    serde_json::Value::Object(map)
}

/// Headers back from [`headers_to_json`].
pub(crate) fn headers_from_json(json: &serde_json::Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(map) = json.as_object() {
        for (name, values) in map {
            for value in values.as_array().into_iter().flatten() {
                if let Some(value) = value.as_str() {
                    headers.append(name.as_str(), value);
                }
            }
        }
    }
    headers
}
