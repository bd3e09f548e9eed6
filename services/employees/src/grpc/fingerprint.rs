//! What a command request asked for, so that a request id sent again is told
//! apart: the same request (a retry, answered with the first outcome) or a
//! different one (refused).
//!
//! The fingerprint is the protobuf request as the client sent it, less
//! `request_id` and `expected_version`, and not the domain command, because:
//! - it holds exactly what the client chose. The facts the server adds to a
//!   command (the employee id a hire draws, the tenant's today, the manager's
//!   facts, the tenant's reason codes) are not in it, so a retry matches even
//!   a day later or after the manager moved; the employee id is in it exactly
//!   when the client names it;
//! - its bytes stay the same across releases by protobuf's own rules: field
//!   numbers keep their meaning, proto3 leaves unset fields out (a field a
//!   later release adds changes nothing for requests that do not set it), and
//!   prost writes fields in field-number order. The requests have no map
//!   fields, whose order could vary;
//! - domain commands change shape more often, and an explicit encoding of
//!   each would have to be kept in step with them by hand.
//!
//! A request that differs from the first only in spelling (`" Ada"` for
//! `"Ada"`) is a different request: refused, never answered with an outcome
//! that was not its own.

use prost::Message;
use tenure_kernel::RequestFingerprint;
use tenure_proto::tenure::employees::v1 as proto;

/// A command RPC's request: its options, and its content without them.
pub trait CommandRequest: Message + Clone {
    /// The RPC's name: the fingerprint's kind.
    const RPC: &'static str;

    fn expected_version(&self) -> Option<i64>;

    fn request_id(&self) -> &str;

    /// This request without `request_id` and `expected_version`.
    fn without_options(&self) -> Self;
}

/// The fingerprint of `request`'s content.
pub fn fingerprint<R: CommandRequest>(request: &R) -> RequestFingerprint {
    RequestFingerprint::new(R::RPC, &request.without_options().encode_to_vec())
}

macro_rules! command_requests {
    ($($request:ident => $rpc:literal),* $(,)?) => {$(
        impl CommandRequest for proto::$request {
            const RPC: &'static str = $rpc;

            fn expected_version(&self) -> Option<i64> {
                self.expected_version
            }

            fn request_id(&self) -> &str {
                &self.request_id
            }

            fn without_options(&self) -> Self {
                Self {
                    expected_version: None,
                    request_id: String::new(),
                    ..self.clone()
                }
            }
        }
    )*};
}

command_requests! {
    HireEmployeeRequest => "HireEmployee",
    ChangePersonalDetailsRequest => "ChangePersonalDetails",
    ChangeContractRequest => "ChangeContract",
    ChangeRoleRequest => "ChangeRole",
    AssignManagerRequest => "AssignManager",
    RecordWorkAgreementRequest => "RecordWorkAgreement",
    SetInterestsRequest => "SetInterests",
    AnnounceDepartureRequest => "AnnounceDeparture",
    WithdrawDepartureRequest => "WithdrawDeparture",
    EndEmploymentRequest => "EndEmployment",
    RehireEmployeeRequest => "RehireEmployee",
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change_role() -> proto::ChangeRoleRequest {
        proto::ChangeRoleRequest {
            employee_id: "0190f5c4-0000-7000-8000-000000000001".into(),
            role_title: "Lead".into(),
            department: "Platform".into(),
            effective_date: "2026-06-01".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_options_are_not_part_of_the_request() {
        let retry = proto::ChangeRoleRequest {
            request_id: "r-1".into(),
            expected_version: Some(4),
            ..change_role()
        };
        assert_eq!(fingerprint(&retry), fingerprint(&change_role()));
        assert_eq!(fingerprint(&retry).kind(), "ChangeRole");
    }

    #[test]
    fn every_field_the_client_sets_is() {
        let base = fingerprint(&change_role());
        let edits: [fn(&mut proto::ChangeRoleRequest); 4] = [
            |r| r.employee_id = "0190f5c4-0000-7000-8000-000000000002".into(),
            |r| r.role_title = "Principal".into(),
            |r| r.department = "Sales".into(),
            |r| r.effective_date = "2026-06-02".into(),
        ];
        for edit in edits {
            let mut request = change_role();
            edit(&mut request);
            assert_ne!(fingerprint(&request), base, "{request:?}");
        }
    }

    #[test]
    fn requests_of_two_rpcs_differ_even_when_their_bytes_agree() {
        let empty_end = proto::EndEmploymentRequest::default();
        let empty_withdraw = proto::WithdrawDepartureRequest::default();
        assert_ne!(fingerprint(&empty_end), fingerprint(&empty_withdraw));
    }

    #[test]
    fn a_fingerprint_is_the_same_in_every_release() {
        // Pinned: the request log keeps fingerprints across deploys. The
        // value is SHA-256 of the kind's length (u64, little-endian), the
        // kind, and fields 1-4 in protobuf wire format, computed apart.
        let digest = fingerprint(&change_role()).digest().to_vec();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "015ada8329d402199ac0d407157194252a96f671876bf1156ed47c91e4995166"
        );
    }
}
