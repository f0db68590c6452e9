-- The declarations read model stores what the aggregate decides about each declaration, so
-- queries read a column instead of re-spelling the rule: whether it holds its milestone
-- (`DeclarationState::is_live`) and its course's programme (`Course::programme`).
alter table declarations
    add column live boolean not null default false,
    add column programme text not null default 'ecf';
alter table declarations
    alter column live drop default,
    alter column programme drop default;

-- Who sees a transferred participant's declarations, for the declarations list and the audit
-- trail alike: a provider now training the participant's ECF record (its latest placement,
-- not ended, not withdrawn) sees every other provider's live declaration of that record.
-- `seq` is the placement's, so viewers can be listed in the order they took the participant on.
create view declaration_viewers as
select d.id as declaration_id, s.lead_provider_id, s.seq
from declarations d
join stints s on s.training_record_id = d.training_record_id
where d.live and d.programme = 'ecf'
  and s.lead_provider_id <> d.lead_provider_id
  and s.latest and s.end_at is null and s.training_status <> 'withdrawn';

-- The declarations read model gains columns: rebuild it from the start of the log.
delete from line_statements;
delete from npq_outcomes;
delete from declarations;
delete from projection_checkpoints where projection = 'declarations';
