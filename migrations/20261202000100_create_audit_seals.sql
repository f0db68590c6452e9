-- Seals are evidence, not a read model: each event is sealed once, in the order sealing takes
-- the events, into a hash chain numbered from 1 without gaps, and no rebuild, migration or
-- start ever deletes or recomputes a seal. The earlier event_seals were a rebuildable read
-- model with another link format; the log is sealed afresh into this table from its start.
create table audit_seals (
    seal bigint primary key,
    event_id uuid not null,
    position bigint not null,
    transaction_id xid8 not null,
    -- Every transaction below this one had finished when the seal's batch began: an event of
    -- theirs left unsealed by a later batch was put in the log behind sealing's back.
    complete_below xid8 not null,
    -- The transaction that wrote the seal; seals written together form one batch.
    sealed_by xid8 not null default pg_current_xact_id(),
    sealed_at timestamptz not null default now(),
    link bytea not null,
    constraint audit_seals_event_id_key unique (event_id),
    constraint audit_seals_seal_check check (seal >= 1)
);

-- Refuses any change to a table that only grows.
create function refuse_changes() returns trigger
language plpgsql as $$
begin
    raise exception '% is append-only: % is refused', tg_table_name, tg_op
        using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_seals_append_only
before update or delete on audit_seals
for each row execute function refuse_changes();

create trigger audit_seals_no_truncate
before truncate on audit_seals
for each statement execute function refuse_changes();

drop table event_seals;
delete from projection_checkpoints where projection = 'audit_seals';
