-- Read models of the ECF ledger and the reference data it looks up.
create table schedules (
    identifier text not null,
    cohort integer not null,
    schedule_type text not null,
    name text not null,
    milestones jsonb not null,
    constraint schedules_pkey primary key (identifier, cohort)
);

create table schools (
    id uuid primary key,
    urn text not null,
    name text not null,
    eligible boolean not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint schools_urn_key unique (urn)
);

create table partnerships (
    id uuid primary key,
    lead_provider_id uuid not null,
    school_id uuid not null,
    delivery_partner_id uuid not null,
    cohort integer not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index partnerships_school_cohort_idx on partnerships (school_id, cohort);

-- A person in training; updated_at moves with any change to any of their records.
create table participants (
    id uuid primary key,
    full_name text not null,
    trn text,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index participants_created_idx on participants (created_at, id);

create table training_records (
    id uuid primary key,
    participant_id uuid not null,
    participant_type text not null,
    email text not null,
    trn_validated boolean not null,
    eligible_for_funding boolean,
    pupil_premium_uplift boolean not null,
    sparsity_uplift boolean not null,
    mentor_id uuid,
    cohort integer not null,
    schedule_identifier text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index training_records_participant_idx on training_records (participant_id);

-- One row per school placement; `latest` marks each provider's latest stint of a record.
create table stints (
    training_record_id uuid not null,
    seq integer not null,
    lead_provider_id uuid not null,
    school_id uuid not null,
    school_urn text not null,
    delivery_partner_id uuid not null,
    start_at timestamptz not null,
    end_at timestamptz,
    transfer boolean not null,
    latest boolean not null,
    training_status text not null,
    schedule_identifier text not null,
    withdrawal_reason text,
    withdrawn_at timestamptz,
    deferral_reason text,
    deferred_at timestamptz,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint stints_pkey primary key (training_record_id, seq)
);

create index stints_provider_latest_idx on stints (lead_provider_id, training_record_id) where latest;

create table declarations (
    id uuid primary key,
    slot_id text not null,
    participant_id uuid not null,
    training_record_id uuid not null,
    lead_provider_id uuid not null,
    course_identifier text not null,
    declaration_type text not null,
    declaration_date timestamptz not null,
    evidence_held text,
    state text not null,
    superseded_by uuid,
    delivery_partner_id uuid,
    mentor_id uuid,
    pupil_premium_uplift boolean not null,
    sparsity_uplift boolean not null,
    cohort integer not null,
    statement_id uuid,
    clawback_statement_id uuid,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index declarations_provider_created_idx on declarations (lead_provider_id, created_at, id);
create index declarations_training_record_idx on declarations (training_record_id);
create index declarations_participant_idx on declarations (participant_id, course_identifier, declaration_type);
