-- Statements close after their deadline and are then paid.
alter table statements
    add column closed_at timestamptz,
    add column paid_at timestamptz;

create index statements_open_idx
    on statements (lead_provider_id, programme, cohort, deadline_date)
    where output_fee and closed_at is null;

create index declarations_statement_idx on declarations (statement_id);
create index declarations_clawback_statement_idx on declarations (clawback_statement_id);
