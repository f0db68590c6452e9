//! A declaration in the shape of each version, built from the same row.

use aggregates::course::Course;
use aggregates::declaration::{DeclarationState, Uplifts};
use projections::declarations::DeclarationRow;
use serde::Serialize;

use crate::http::ApiVersion;
use crate::http::json_api::{Resource, timestamp};

/// A declaration's attributes, as in the v3 spec.
#[derive(Debug, Serialize)]
pub(super) struct DeclarationAttributes {
    participant_id: String,
    declaration_type: String,
    declaration_date: String,
    course_identifier: String,
    state: String,
    updated_at: String,
    created_at: String,
    delivery_partner_id: Option<String>,
    statement_id: Option<String>,
    clawback_statement_id: Option<String>,
    ineligible_for_funding_reason: Option<&'static str>,
    mentor_id: Option<String>,
    uplift_paid: bool,
    evidence_held: Option<String>,
    has_passed: Option<bool>,
    lead_provider_name: String,
}

/// A declaration's attributes in v1: v2's with `eligible_for_payment` and `voided`.
#[derive(Debug, Serialize)]
pub(super) struct DeclarationAttributesV1 {
    participant_id: String,
    declaration_type: String,
    declaration_date: String,
    course_identifier: String,
    eligible_for_payment: bool,
    voided: bool,
    state: String,
    updated_at: String,
    has_passed: Option<bool>,
}

/// A declaration's attributes in v2.
#[derive(Debug, Serialize)]
pub(super) struct DeclarationAttributesV2 {
    participant_id: String,
    declaration_type: String,
    declaration_date: String,
    course_identifier: String,
    state: String,
    updated_at: String,
    has_passed: Option<bool>,
}

/// A declaration in the shape of one version.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(super) enum DeclarationView {
    V1(DeclarationAttributesV1),
    V2(DeclarationAttributesV2),
    V3(DeclarationAttributes),
}

/// A declaration resource.
pub(super) type DeclarationResource = Resource<DeclarationView>;

/// A declaration as `version` shows it: v1 and v2 show less of the v3 attributes, and v1 adds
/// `eligible_for_payment` (eligible or payable) and `voided`.
pub(super) fn resource(row: DeclarationRow, version: ApiVersion) -> DeclarationResource {
    let Resource {
        id,
        kind,
        attributes,
    } = v3_resource(row);
    let attributes = match version {
        ApiVersion::V1 => DeclarationView::V1(DeclarationAttributesV1 {
            eligible_for_payment: DeclarationState::parse(&attributes.state)
                .is_some_and(DeclarationState::is_eligible_for_payment),
            voided: attributes.state == "voided",
            participant_id: attributes.participant_id,
            declaration_type: attributes.declaration_type,
            declaration_date: attributes.declaration_date,
            course_identifier: attributes.course_identifier,
            state: attributes.state,
            updated_at: attributes.updated_at,
            has_passed: attributes.has_passed,
        }),
        ApiVersion::V2 => DeclarationView::V2(DeclarationAttributesV2 {
            participant_id: attributes.participant_id,
            declaration_type: attributes.declaration_type,
            declaration_date: attributes.declaration_date,
            course_identifier: attributes.course_identifier,
            state: attributes.state,
            updated_at: attributes.updated_at,
            has_passed: attributes.has_passed,
        }),
        ApiVersion::V3 => DeclarationView::V3(attributes),
    };
    Resource {
        id,
        kind,
        attributes,
    }
}

fn v3_resource(row: DeclarationRow) -> Resource<DeclarationAttributes> {
    let uplifts = Uplifts {
        pupil_premium: row.pupil_premium_uplift,
        sparsity: row.sparsity_uplift,
        targeted_delivery_funding: row.targeted_delivery_funding,
    };
    let course = Course::parse(&row.course_identifier);
    let uplift_paid = DeclarationState::parse(&row.state)
        .is_some_and(|state| state.shows_uplift_paid(&row.declaration_type, course, uplifts));
    let ineligible = row.state == "ineligible" && row.superseded_by.is_some();
    Resource {
        id: row.id.to_string(),
        kind: "participant-declaration",
        attributes: DeclarationAttributes {
            participant_id: row.participant_id.to_string(),
            declaration_type: row.declaration_type,
            declaration_date: timestamp(row.declaration_date),
            course_identifier: row.course_identifier,
            state: row.state,
            updated_at: timestamp(row.updated_at),
            created_at: timestamp(row.created_at),
            delivery_partner_id: row.delivery_partner_id.map(|id| id.to_string()),
            statement_id: row.statement_id.map(|id| id.to_string()),
            clawback_statement_id: row.clawback_statement_id.map(|id| id.to_string()),
            ineligible_for_funding_reason: ineligible.then_some("duplicate_declaration"),
            mentor_id: row.mentor_id.map(|id| id.to_string()),
            uplift_paid,
            evidence_held: row.evidence_held,
            has_passed: row.has_passed,
            lead_provider_name: row.lead_provider_name,
        },
    }
}
