-- The event store. postgres-es reads and writes the first seven columns; the rest give every
-- event an identity, the time it was recorded and a place in one gap-free global order.
create table events (
    aggregate_type text not null,
    aggregate_id text not null,
    sequence bigint not null,
    event_type text not null,
    event_version text not null,
    payload jsonb not null,
    metadata jsonb not null,
    event_id uuid not null default gen_random_uuid(),
    recorded_at timestamptz not null default now(),
    transaction_id xid8 not null default pg_current_xact_id(),
    position bigint generated always as identity,
    constraint events_pkey primary key (aggregate_type, aggregate_id, sequence),
    constraint events_sequence_check check (sequence >= 0),
    constraint events_event_id_key unique (event_id),
    constraint events_position_key unique (position)
);

-- Readers follow (transaction_id, position), reading only below the oldest running transaction.
create index events_global_order_idx on events (transaction_id, position);
create index events_type_global_order_idx on events (aggregate_type, transaction_id, position);

-- Wakes projection runners in any process when events commit.
create function notify_events_committed() returns trigger
language plpgsql as $$
begin
    perform pg_notify('events_committed', '');
    return null;
end;
$$;

create trigger events_notify
after insert on events
for each statement execute function notify_events_committed();

-- postgres-es keeps aggregate snapshots here when snapshotting is switched on.
create table snapshots (
    aggregate_type text not null,
    aggregate_id text not null,
    last_sequence bigint not null,
    current_snapshot bigint not null,
    payload jsonb not null,
    constraint snapshots_pkey primary key (aggregate_type, aggregate_id, last_sequence)
);

-- Where each read model has got to in the global order; written with its rows.
create table projection_checkpoints (
    projection text primary key,
    transaction_id xid8 not null default '0',
    position bigint not null default 0,
    updated_at timestamptz not null default now()
);
