-- Each provider's participants, and each provider's own declarations, carry their place in
-- that provider's list (`ordinal`, from 1, in the list's order: created, then id). A page of an
-- unfiltered list is then a range of places read from an index, not the rows before it
-- skipped one by one, so the last page of a large provider costs what the first does. The
-- read models keep the places dense and in order: a row usually arrives at the end and takes
-- the next place; one that arrives earlier in the order, or leaves, renumbers the rows after it.
alter table provider_participants add column ordinal bigint;
update provider_participants pp set ordinal = placed.ordinal
from (
    select lead_provider_id, participant_id,
           row_number() over (partition by lead_provider_id
                              order by participant_created_at, participant_id) as ordinal
    from provider_participants
) placed
where pp.lead_provider_id = placed.lead_provider_id
  and pp.participant_id = placed.participant_id;
alter table provider_participants alter column ordinal set not null;
create index provider_participants_place_idx on provider_participants (lead_provider_id, ordinal);

alter table declarations add column ordinal bigint;
update declarations d set ordinal = placed.ordinal
from (
    select id, row_number() over (partition by lead_provider_id order by created_at, id) as ordinal
    from declarations
) placed
where d.id = placed.id;
alter table declarations alter column ordinal set not null;
create index declarations_place_idx on declarations (lead_provider_id, ordinal);
