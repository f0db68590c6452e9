-- Which people each provider trains, in the order they were first registered, so a page of a
-- provider's participants is an index range instead of a search of every record.
create table provider_participants (
    lead_provider_id uuid not null,
    participant_id uuid not null,
    participant_created_at timestamptz not null,
    constraint provider_participants_pkey primary key (lead_provider_id, participant_id)
);

create index provider_participants_order_idx
    on provider_participants (lead_provider_id, participant_created_at, participant_id);

-- The participants read model gains a table: rebuild it from the start of the log.
delete from stints;
delete from training_records;
delete from participants;
delete from projection_checkpoints where projection = 'ecf_participants';
