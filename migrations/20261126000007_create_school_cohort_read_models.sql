-- Schools, delivery partners and partnerships as API v3 shows them.
alter table schools
    add column cip_only boolean not null default false,
    add column induction_tutor_name text,
    add column induction_tutor_email text;

alter table partnerships
    add column challenged_reason text,
    add column challenged_at timestamptz,
    add column challenge_deadline timestamptz;

create index partnerships_provider_idx on partnerships (lead_provider_id, created_at, id);

create table school_cohorts (
    school_id uuid not null,
    cohort integer not null,
    opened boolean not null default false,
    induction_programme_choice text,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint school_cohorts_pkey primary key (school_id, cohort)
);

create table cohorts (
    start_year integer primary key,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table delivery_partners (
    id uuid primary key,
    name text not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create table provider_relationships (
    lead_provider_id uuid not null,
    delivery_partner_id uuid not null,
    cohort integer not null,
    created_at timestamptz not null,
    constraint provider_relationships_pkey primary key (lead_provider_id, delivery_partner_id, cohort)
);

-- The reference data projection gains tables and event types: rebuild it from the log.
delete from schedules;
delete from schools;
delete from partnerships;
delete from projection_checkpoints where projection = 'reference_data';
