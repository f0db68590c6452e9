//! NPQ participants and outcomes in the shape of each version, built from the same rows.

use projections::npq::{ApplicationRow, OutcomeRow};
use serde::Serialize;
use uuid::Uuid;

use crate::http::ApiVersion;
use crate::http::json_api::{Resource, date, timestamp};
use crate::http::participants::{StatusChange, change};

/// An NPQ participant's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
pub(crate) struct ParticipantAttributes {
    full_name: String,
    teacher_reference_number: Option<String>,
    updated_at: String,
    npq_enrolments: Vec<Enrolment>,
}

/// One of the caller's enrolments of the person (v3).
#[derive(Debug, Serialize)]
struct Enrolment {
    email: String,
    course_identifier: String,
    schedule_identifier: Option<String>,
    cohort: String,
    npq_application_id: String,
    eligible_for_funding: bool,
    training_status: Option<String>,
    school_urn: Option<String>,
    targeted_delivery_funding_eligibility: bool,
    withdrawal: Option<StatusChange>,
    deferral: Option<StatusChange>,
    created_at: String,
}

/// An NPQ participant's attributes in v2.
#[derive(Debug, Serialize)]
pub(crate) struct ParticipantAttributesV2 {
    email: String,
    full_name: String,
    teacher_reference_number: Option<String>,
    updated_at: String,
    npq_enrolments: Vec<EnrolmentV2>,
}

/// One of the caller's enrolments of the person (v2, and the v2 enrolments CSV).
#[derive(Debug, Serialize)]
pub(crate) struct EnrolmentV2 {
    pub(crate) course_identifier: String,
    pub(crate) schedule_identifier: Option<String>,
    pub(crate) cohort: String,
    pub(crate) npq_application_id: String,
    pub(crate) eligible_for_funding: bool,
    pub(crate) training_status: Option<String>,
    pub(crate) school_urn: Option<String>,
    pub(crate) targeted_delivery_funding_eligibility: bool,
}

impl From<ApplicationRow> for EnrolmentV2 {
    fn from(row: ApplicationRow) -> Self {
        Self {
            course_identifier: row.course_identifier,
            schedule_identifier: row.schedule_identifier,
            cohort: row.cohort.to_string(),
            npq_application_id: row.id.to_string(),
            eligible_for_funding: row.eligible_for_funding,
            training_status: row.training_status,
            school_urn: row.school_urn,
            targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
        }
    }
}

/// An NPQ participant's attributes in v1: the courses only.
#[derive(Debug, Serialize)]
pub(crate) struct ParticipantAttributesV1 {
    participant_id: String,
    email: String,
    full_name: String,
    npq_courses: Vec<String>,
    teacher_reference_number: Option<String>,
    updated_at: String,
}

/// An NPQ participant in the shape of one version.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum ParticipantView {
    V1(ParticipantAttributesV1),
    V2(ParticipantAttributesV2),
    V3(ParticipantAttributes),
}

/// An NPQ participant resource.
pub(crate) type ParticipantResource = Resource<ParticipantView>;

/// A person with the caller's enrolments of them, as `version` shows them (the latest
/// application gives the name and email).
pub(crate) fn participant(
    id: Uuid,
    rows: Vec<ApplicationRow>,
    version: ApiVersion,
) -> ParticipantResource {
    let latest = rows.iter().max_by_key(|row| row.created_at);
    let full_name = latest.map(|row| row.full_name.clone()).unwrap_or_default();
    let email = latest.map(|row| row.email.clone()).unwrap_or_default();
    // Only a validated TRN is stored on the person (accepting never copies an unvalidated one).
    let trn = rows
        .iter()
        .filter(|row| row.trn_validated)
        .find_map(|row| row.trn.clone());
    let updated_at = rows
        .iter()
        .map(|row| row.updated_at)
        .max()
        .map(timestamp)
        .unwrap_or_default();
    let attributes = match version {
        ApiVersion::V1 => ParticipantView::V1(ParticipantAttributesV1 {
            participant_id: id.to_string(),
            email,
            full_name,
            npq_courses: rows.into_iter().map(|row| row.course_identifier).collect(),
            teacher_reference_number: trn,
            updated_at,
        }),
        ApiVersion::V2 => ParticipantView::V2(ParticipantAttributesV2 {
            email,
            full_name,
            teacher_reference_number: trn,
            updated_at,
            npq_enrolments: rows.into_iter().map(EnrolmentV2::from).collect(),
        }),
        ApiVersion::V3 => ParticipantView::V3(ParticipantAttributes {
            full_name,
            teacher_reference_number: trn,
            updated_at,
            npq_enrolments: rows.into_iter().map(enrolment).collect(),
        }),
    };
    Resource {
        id: id.to_string(),
        kind: "npq-participant",
        attributes,
    }
}

fn enrolment(row: ApplicationRow) -> Enrolment {
    let status = row.training_status.as_deref();
    Enrolment {
        withdrawal: change(
            &row.withdrawal_reason,
            row.withdrawn_at,
            status == Some("withdrawn"),
        ),
        deferral: change(
            &row.deferral_reason,
            row.deferred_at,
            status == Some("deferred"),
        ),
        email: row.email,
        course_identifier: row.course_identifier,
        schedule_identifier: row.schedule_identifier,
        cohort: row.cohort.to_string(),
        npq_application_id: row.id.to_string(),
        eligible_for_funding: row.eligible_for_funding,
        training_status: row.training_status,
        school_urn: row.school_urn,
        targeted_delivery_funding_eligibility: row.targeted_delivery_funding_eligibility,
        created_at: timestamp(row.accepted_at.unwrap_or(row.created_at)),
    }
}

/// An outcome's attributes; v3 adds `updated_at`. `completion_date` is a date-time at
/// midnight UTC in every version, as the real serializer writes it.
#[derive(Debug, Serialize)]
pub(crate) struct OutcomeAttributes {
    participant_id: String,
    course_identifier: String,
    state: String,
    completion_date: String,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
}

/// An outcome resource.
pub(crate) type OutcomeResource = Resource<OutcomeAttributes>;

/// An outcome as `version` shows it.
pub(crate) fn outcome(row: OutcomeRow, version: ApiVersion) -> OutcomeResource {
    let created_at = timestamp(row.created_at);
    Resource {
        id: row.id.to_string(),
        kind: "participant-outcome",
        attributes: OutcomeAttributes {
            participant_id: row.participant_id.to_string(),
            course_identifier: row.course_identifier,
            state: row.state,
            completion_date: format!("{}T00:00:00+00:00", date(row.completion_date)),
            updated_at: (version == ApiVersion::V3).then(|| created_at.clone()),
            created_at,
        },
    }
}
