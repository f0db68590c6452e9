-- The declarations read model keeps the lifecycle of every statement that has closed, so a
-- line's state follows from its statement's events: one event, one set-based update.
create table line_statements (
    statement_id uuid primary key,
    state text not null
);
