//! The NPQ read model: applications, the enrolments accepting them made, and the ids merged
//! into another person's. It serves `/api/v3/npq-applications`, `/api/v3/participants/npq`
//! and the facts NPQ commands look up.

mod queries;

use aggregates::npq::{NpqCourse, NpqEvent as V};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cqrs_es::Aggregate;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::{Projection, ProjectionError, StoredEvent, read_model};

pub use queries::{
    ApplicationFilter, ApplicationRow, EnrolmentFilter, OutcomeRow, application, applications,
    enrolment, enrolments_of, latest_outcome, list_applications, list_participants, outcomes,
    person_with_trn, previously_funded, resolve, stream_applications,
};

/// Projects NPQ course events.
pub struct NpqApplications;

#[async_trait]
impl Projection for NpqApplications {
    read_model!(
        name: "npq_applications",
        reads: [NpqCourse::TYPE],
        tables: ["npq_applications", "participant_aliases"],
        read_indexes: ["npq_applications_provider_idx", "npq_applications_trn_idx"],
    );

    async fn apply(
        &self,
        conn: &mut PgConnection,
        event: &StoredEvent,
    ) -> Result<(), ProjectionError> {
        let at = event.recorded_at;
        let decoded = event
            .decode::<V>()
            .map_err(|e| ProjectionError::decode(event, e))?;
        match decoded {
            V::Applied(a) => {
                sqlx::query!(
                    r#"
                    insert into npq_applications (id, stream_id, participant_id, applicant_id,
                        lead_provider_id, full_name, email, trn, trn_validated,
                        course_identifier, cohort, works_in_school, employer_name,
                        employment_role, school_urn, school_ukprn, private_childcare_provider_urn,
                        headteacher_status, funding_choice, eligible_for_funding,
                        targeted_delivery_funding_eligibility, teacher_catchment,
                        teacher_catchment_country, teacher_catchment_iso_country_code,
                        lead_mentor, itt_provider, status, created_at, updated_at)
                    values ($1, $2, $3, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15,
                        $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, 'pending', $26, $26)
                    on conflict (id) do nothing
                    "#,
                    a.id.0,
                    event.aggregate_id,
                    a.participant_id.0,
                    a.lead_provider_id.0,
                    a.full_name,
                    a.email,
                    a.trn,
                    a.trn_validated,
                    a.course.as_str(),
                    a.cohort,
                    a.works_in_school,
                    a.employer_name,
                    a.employment_role,
                    a.school_urn,
                    a.school_ukprn,
                    a.private_childcare_provider_urn,
                    a.headteacher_status,
                    a.funding_choice,
                    a.eligible_for_funding,
                    a.targeted_delivery_funding_eligibility,
                    a.teacher_catchment,
                    a.teacher_catchment_country,
                    a.teacher_catchment_iso_country_code,
                    a.lead_mentor,
                    a.itt_provider,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Accepted {
                application_id,
                participant_id,
                merged_from,
                schedule_identifier,
                cohort,
                ..
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set status = 'accepted', participant_id = $2, schedule_identifier = $3,
                        cohort = $4, training_status = 'active', accepted_at = $5, updated_at = $5
                    where id = $1
                    "#,
                    application_id.0,
                    participant_id.0,
                    schedule_identifier,
                    cohort,
                    at,
                )
                .execute(&mut *conn)
                .await?;
                if let Some(old) = merged_from {
                    merge(conn, old.0, participant_id.0, at).await?;
                }
            }
            V::Rejected { application_id, .. } => {
                sqlx::query!(
                    "update npq_applications set status = 'rejected', updated_at = $2 where id = $1",
                    application_id.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Deferred {
                application_id,
                reason,
                at: when,
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'deferred', deferral_reason = $2, deferred_at = $3,
                        updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    reason,
                    when,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Resumed { application_id, .. } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'active', deferral_reason = null, deferred_at = null,
                        updated_at = $2
                    where id = $1
                    "#,
                    application_id.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Withdrawn {
                application_id,
                reason,
                at: when,
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set training_status = 'withdrawn', withdrawal_reason = $2, withdrawn_at = $3,
                        updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    reason,
                    when,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::Reassigned { from, to } => {
                sqlx::query!(
                    r#"
                    update npq_applications set participant_id = $3, updated_at = $4
                    where stream_id = $1 and participant_id = $2
                    "#,
                    event.aggregate_id,
                    from.0,
                    to.0,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
            V::ScheduleChanged {
                application_id,
                schedule_identifier,
                cohort,
                ..
            } => {
                sqlx::query!(
                    r#"
                    update npq_applications
                    set schedule_identifier = $2, cohort = $3, updated_at = $4
                    where id = $1
                    "#,
                    application_id.0,
                    schedule_identifier,
                    cohort,
                    at,
                )
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// Merges one person's id into another's: the old id resolves to the new one, and the old
/// person's applications follow.
async fn merge(
    conn: &mut PgConnection,
    old: Uuid,
    new: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"
        insert into participant_aliases (alias_id, participant_id) values ($1, $2)
        on conflict (alias_id) do update set participant_id = excluded.participant_id
        "#,
        old,
        new,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update participant_aliases set participant_id = $2 where participant_id = $1",
        old,
        new,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update npq_applications set participant_id = $2, updated_at = $3 where participant_id = $1",
        old,
        new,
        at,
    )
    .execute(&mut *conn)
    .await
    .map(drop)
}
