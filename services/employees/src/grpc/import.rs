//! ImportEmployees: reads the request stream, hands each record to the app's
//! [`Import`] and streams the results back as they come, batched into
//! responses, with the totals last.

use std::pin::Pin;

use futures::Stream;
use tenure_proto::tenure::employees::v1 as proto;
use tenure_runtime::Caller;
use tokio::sync::mpsc;
use tonic::{Status, Streaming};

use super::import_record::record_from_proto;
use super::status;
use crate::app::{EmployeesApp, IN_FLIGHT, Import, RecordOutcome};
use crate::domain::FieldViolation;

/// The response stream of ImportEmployees.
pub type ImportStream =
    Pin<Box<dyn Stream<Item = Result<proto::ImportEmployeesResponse, Status>> + Send>>;

/// The most results in one response.
const RESULTS_PER_RESPONSE: usize = 512;

/// A record's identity in its result.
struct Tag {
    index: u64,
    record_key: String,
    employee_id: String,
}

/// What is reported of a record.
enum Report {
    Invalid(Vec<FieldViolation>),
    Done(RecordOutcome),
}

/// Starts the import of `inbound` for `caller`; the stream ends after the
/// totals, or with the status of a failure.
pub fn import(
    app: EmployeesApp,
    caller: Caller,
    inbound: Streaming<proto::ImportEmployeesRequest>,
) -> ImportStream {
    let (results, reports) = mpsc::channel(IN_FLIGHT);
    let (responses, answered) = mpsc::channel(8);
    tokio::spawn(read(app, caller, inbound, results));
    tokio::spawn(respond(reports, responses));
    Box::pin(futures::stream::unfold(answered, |mut answered| async {
        answered.recv().await.map(|response| (response, answered))
    }))
}

/// Reads records until the client closes its side (or breaks off, or the
/// call has failed), starting each.
async fn read(
    app: EmployeesApp,
    caller: Caller,
    mut inbound: Streaming<proto::ImportEmployeesRequest>,
    results: mpsc::Sender<(Tag, Report)>,
) {
    let today = app.today(caller.tenant_id);
    let mut import = Import::new(app, caller, results.clone());
    let mut index = 0;
    // An error of the request stream is the client breaking off: the records
    // already started finish, and nobody is left to tell.
    while let Ok(Some(request)) = inbound.message().await {
        for record in request.records {
            if results.is_closed() {
                return;
            }
            let tag = Tag {
                index,
                record_key: record.record_key.clone(),
                employee_id: record.employee_id.clone(),
            };
            index += 1;
            match record_from_proto(&record, today) {
                Ok(parsed) => {
                    import
                        .apply(parsed.employee_id, parsed.command, parsed.options, |done| {
                            (tag, Report::Done(done))
                        })
                        .await;
                }
                Err(invalid) => {
                    if let Some(employee_id) = invalid.employee_id {
                        import.not_applied(employee_id);
                    }
                    let report = Report::Invalid(invalid.violations);
                    if results.send((tag, report)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Sends the results as they come, then the totals once every record is done.
async fn respond(
    mut reports: mpsc::Receiver<(Tag, Report)>,
    responses: mpsc::Sender<Result<proto::ImportEmployeesResponse, Status>>,
) {
    let mut summary = proto::ImportSummary::default();
    while let Some(first) = reports.recv().await {
        let mut results = Vec::with_capacity(RESULTS_PER_RESPONSE);
        let mut next = Some(first);
        while let Some((tag, report)) = next {
            match result_to_proto(tag, report, &mut summary) {
                Ok(result) => results.push(result),
                Err(failure) => {
                    responses.send(Err(failure)).await.ok();
                    return;
                }
            }
            next = match results.len() < RESULTS_PER_RESPONSE {
                true => reports.try_recv().ok(),
                false => None,
            };
        }
        let response = proto::ImportEmployeesResponse {
            results,
            summary: None,
        };
        if responses.send(Ok(response)).await.is_err() {
            return;
        }
    }
    let last = proto::ImportEmployeesResponse {
        results: Vec::new(),
        summary: Some(summary),
    };
    responses.send(Ok(last)).await.ok();
}

/// A record's result, counted in `summary`; a failure ends the call.
fn result_to_proto(
    tag: Tag,
    report: Report,
    summary: &mut proto::ImportSummary,
) -> Result<proto::ImportRecordResult, Status> {
    use proto::ImportRecordStatus as S;
    let mut result = proto::ImportRecordResult {
        index: tag.index,
        record_key: tag.record_key,
        employee_id: tag.employee_id,
        ..Default::default()
    };
    let status = match report {
        Report::Invalid(violations) => {
            result.field_violations = violations
                .into_iter()
                .map(|violation| proto::ImportFieldViolation {
                    field: violation.field,
                    description: violation.description,
                })
                .collect();
            summary.invalid += 1;
            S::Invalid
        }
        Report::Done(RecordOutcome::Applied(executed)) if executed.replayed => {
            result.version = executed.version;
            summary.already_imported += 1;
            S::AlreadyImported
        }
        Report::Done(RecordOutcome::Applied(executed)) => {
            result.version = executed.version;
            result.events = executed.events.len() as i32;
            summary.imported += 1;
            summary.events += executed.events.len() as u64;
            S::Imported
        }
        Report::Done(RecordOutcome::Refused(error)) => {
            let employee_id = uuid::Uuid::parse_str(result.employee_id.trim()).unwrap_or_default();
            result.reason = status::import_refusal(error, employee_id)?;
            summary.refused += 1;
            S::Refused
        }
        Report::Done(RecordOutcome::Skipped) => {
            result.reason =
                "an earlier record of this employee in this import was not applied".to_owned();
            summary.skipped += 1;
            S::Skipped
        }
    };
    result.status = status as i32;
    summary.records += 1;
    Ok(result)
}
