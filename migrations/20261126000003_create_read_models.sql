-- Read models. Each is rebuilt from the event log by its projection; nothing else writes here.
create table lead_providers (
    id uuid primary key,
    name text not null,
    ecf boolean not null,
    npq boolean not null,
    created_at timestamptz not null,
    updated_at timestamptz not null,
    constraint lead_providers_name_key unique (name)
);

create table statements (
    id uuid primary key,
    lead_provider_id uuid not null,
    programme text not null,
    cohort integer not null,
    name text not null,
    deadline_date date not null,
    payment_date date not null,
    output_fee boolean not null,
    paid boolean not null,
    created_at timestamptz not null,
    updated_at timestamptz not null
);

create index statements_provider_payment_idx
    on statements (lead_provider_id, payment_date, id);
