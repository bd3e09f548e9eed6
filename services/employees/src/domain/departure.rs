//! Departures: why an employment ends, the tenant's reason codes, and an
//! announced departure that has not yet taken place.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::text::FreeText;
use super::text::shorten;

/// Why an employment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SeparationType {
    /// The employee chose to leave.
    Voluntary,
    /// The employer ended the employment.
    Involuntary,
    /// A fixed-term, project or seasonal contract ran out.
    ContractEnd,
    Retirement,
    /// Ended by mutual agreement.
    Mutual,
    Other,
}

impl SeparationType {
    /// Every type, in the order of the contract's enum.
    pub const ALL: [SeparationType; 6] = [
        Self::Voluntary,
        Self::Involuntary,
        Self::ContractEnd,
        Self::Retirement,
        Self::Mutual,
        Self::Other,
    ];

    /// Whether a departure of this type may be flagged regrettable (only
    /// voluntary ones).
    pub fn allows_regrettable(self) -> bool {
        self == Self::Voluntary
    }
}

impl fmt::Display for SeparationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Voluntary => "voluntary",
            Self::Involuntary => "involuntary",
            Self::ContractEnd => "end of contract",
            Self::Retirement => "retirement",
            Self::Mutual => "mutual agreement",
            Self::Other => "other",
        })
    }
}

/// A departure reason code from the tenant's own list, e.g. `better_offer`:
/// 1..=64 characters of `a-z`, `0-9`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReasonCode(String);

impl ReasonCode {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldViolation> {
        let code = raw.trim();
        if code.is_empty() {
            return Err(FieldViolation::new(field, "must not be empty"));
        }
        if code.len() > Self::MAX_CHARS {
            return Err(FieldViolation::new(
                field,
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        if !code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            return Err(FieldViolation::new(
                field,
                format!(
                    "{:?} may only hold lowercase letters a-z, digits, '_' and '-'",
                    shorten(code)
                ),
            ));
        }
        Ok(Self(code.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An announced departure that has not yet taken place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Departure {
    pub separation_type: SeparationType,
    pub reason_code: ReasonCode,
    /// Set only for voluntary departures.
    pub regrettable: Option<bool>,
    pub last_working_day: NaiveDate,
    pub announced_on: NaiveDate,
    pub note: Option<FreeText>,
    /// Why the last working day lies before the announcement; only then set.
    pub backdate_reason: Option<FreeText>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_are_lowercase_slugs() {
        assert_eq!(
            ReasonCode::parse("reason_code", " better_offer ")
                .unwrap()
                .as_str(),
            "better_offer"
        );
        assert!(ReasonCode::parse("reason_code", "relocation-abroad-2").is_ok());
        assert!(ReasonCode::parse("reason_code", &"a".repeat(64)).is_ok());
        for raw in [
            "",
            "Better_Offer",
            "better offer",
            "beter.offer",
            "émigré",
            &"a".repeat(65),
        ] {
            assert_eq!(
                ReasonCode::parse("reason_code", raw).unwrap_err().field,
                "reason_code",
                "{raw:?}"
            );
        }
    }

    #[test]
    fn only_voluntary_departures_may_be_regrettable() {
        let allowed: Vec<_> = SeparationType::ALL
            .into_iter()
            .filter(|t| t.allows_regrettable())
            .collect();
        assert_eq!(allowed, [SeparationType::Voluntary]);
    }
}
