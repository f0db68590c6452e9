-- The ledger appends a command's events itself, in one INSERT that is the command's one
-- transaction (src/ledger/store.rs); aggregates are always folded from their events, so the
-- snapshot table postgres-es kept is dropped.
drop table snapshots;

comment on table events is
    'the event log: every command''s events, appended in one statement per command; never updated or deleted';
