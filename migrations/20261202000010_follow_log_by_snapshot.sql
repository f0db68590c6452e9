-- Read models follow the log by snapshot, as PgQ does: a batch is the events whose transaction
-- is visible in a new snapshot and was not in the last one applied, so a transaction held open
-- anywhere on the server delays nobody else's events. Within a batch, (transaction_id,
-- position) is the cursor. A read model that cannot apply an event halts there alone.
alter table projection_checkpoints
    add column applied pg_snapshot not null default '1:1:',
    add column target pg_snapshot,
    add column halted_position bigint,
    add column halted_event_id uuid,
    add column halted_error text,
    add column halted_at timestamptz;

-- Checkpoints written before this migration are a cursor in one batch running from the
-- start of the log to the snapshot now.
update projection_checkpoints set target = pg_current_snapshot();

comment on column projection_checkpoints.applied is
    'every event of a transaction visible in this snapshot has been applied';
comment on column projection_checkpoints.target is
    'the snapshot of the batch being applied; the cursor (transaction_id, position) runs within it';
