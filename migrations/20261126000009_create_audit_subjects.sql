-- Which people, providers and declarations each stream concerns, so an auditor can ask for
-- every event about one of them.
create table audit_subjects (
    aggregate_type text not null,
    aggregate_id text not null,
    participant_id uuid,
    lead_provider_id uuid,
    declaration_id uuid,
    constraint audit_subjects_key unique nulls not distinct
        (aggregate_type, aggregate_id, participant_id, lead_provider_id, declaration_id)
);

create index audit_subjects_participant_idx on audit_subjects (participant_id) where participant_id is not null;
create index audit_subjects_provider_idx on audit_subjects (lead_provider_id) where lead_provider_id is not null;
create index audit_subjects_declaration_idx on audit_subjects (declaration_id) where declaration_id is not null;
create index events_recorded_idx on events (recorded_at);
