-- Read models of the NPQ ledger: applications with the enrolments that accepting them made,
-- the ids merged into another person's, and outcomes.
create table npq_applications (
    id uuid primary key,
    stream_id text not null,
    -- The person now (after any merge) and as they applied.
    participant_id uuid not null,
    applicant_id uuid not null,
    lead_provider_id uuid not null,
    full_name text not null,
    email text not null,
    trn text,
    trn_validated boolean not null,
    course_identifier text not null,
    -- The application's cohort; it follows the enrolment's schedule when that moves cohort.
    cohort integer not null,
    works_in_school boolean not null,
    employer_name text,
    employment_role text,
    school_urn text,
    school_ukprn text,
    private_childcare_provider_urn text,
    headteacher_status text,
    funding_choice text,
    eligible_for_funding boolean not null,
    targeted_delivery_funding_eligibility boolean not null,
    teacher_catchment text,
    teacher_catchment_country text,
    teacher_catchment_iso_country_code text,
    lead_mentor boolean,
    itt_provider text,
    status text not null,
    -- The enrolment, once accepted.
    schedule_identifier text,
    training_status text,
    withdrawal_reason text,
    withdrawn_at timestamptz,
    deferral_reason text,
    deferred_at timestamptz,
    accepted_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index npq_applications_provider_idx on npq_applications (lead_provider_id, created_at, id);
create index npq_applications_participant_idx on npq_applications (participant_id);
create index npq_applications_trn_idx on npq_applications (trn);

-- An id that now resolves to another person's.
create table participant_aliases (
    alias_id uuid primary key,
    participant_id uuid not null
);

create table npq_outcomes (
    id uuid primary key,
    declaration_id uuid not null,
    participant_id uuid not null,
    lead_provider_id uuid not null,
    course_identifier text not null,
    state text not null,
    completion_date date not null,
    created_at timestamptz not null
);

create index npq_outcomes_provider_idx on npq_outcomes (lead_provider_id, created_at, id);
create index npq_outcomes_participant_idx on npq_outcomes (participant_id, lead_provider_id);

alter table declarations
    add column has_passed boolean,
    add column targeted_delivery_funding boolean not null default false;
