-- A provider sees another provider's declarations of a record only once it has taken the
-- record on after that provider, so its placement there is never the record's first (`seq`
-- 0). Saying so in the view changes nothing it returns, and lets the declarations list find
-- a provider's visible declarations from its later placements, which are few, rather than
-- from every other provider's declarations.
create or replace view declaration_viewers as
select d.id as declaration_id, s.lead_provider_id, s.seq
from declarations d
join stints s on s.training_record_id = d.training_record_id
where d.live and d.programme = 'ecf'
  and s.lead_provider_id <> d.lead_provider_id
  and s.latest and s.seq > 0 and s.end_at is null and s.training_status <> 'withdrawn';

create index stints_later_placements_idx on stints (lead_provider_id, training_record_id)
    where latest and seq > 0;
