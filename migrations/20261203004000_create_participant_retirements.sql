-- Participant ids the DfE retired, and the id each now names. A read model like the others:
-- a rebuild refills it from the retirement events.
create table participant_retirements (
    retired_id uuid primary key,
    kept_id uuid not null,
    confirmed_same_person boolean not null,
    retired_at timestamptz not null
);

create index participant_retirements_kept_idx on participant_retirements (kept_id);
