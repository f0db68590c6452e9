-- Tamper evidence. Each event is sealed, in the global order and after it commits, into a hash
-- chain: its link covers the event and the previous link. Sealing needs no lock on writers.
create table event_seals (
    position bigint primary key,
    transaction_id xid8 not null,
    event_id uuid not null,
    link bytea not null
);

create index event_seals_chain_idx on event_seals (transaction_id, position);

-- The event log only grows: nobody may change or remove an event.
create function refuse_event_changes() returns trigger
language plpgsql as $$
begin
    raise exception 'the event log is append-only: % on events is refused', tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger events_append_only
before update or delete on events
for each row execute function refuse_event_changes();

create trigger events_no_truncate
before truncate on events
for each statement execute function refuse_event_changes();
