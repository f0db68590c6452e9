-- Two read-side rules, each defined once here, so that the query gathering a declaration
-- submission's facts asks them in the same round trip as the rest. Both are SQL table
-- functions of one SELECT: PostgreSQL inlines them into the query that calls them and plans
-- them with it.

-- The person a participant id names now: itself, the person it merged into (NPQ, by TRN), or
-- the person kept when it was retired (either after the other).
create function person_named(participant_id uuid) returns table (id uuid)
language sql stable as $$
    select coalesce(r.kept_id, a.participant_id, $1)
    from (values (1)) as one
    left join participant_aliases a on a.alias_id = $1
    left join participant_retirements r on r.retired_id = coalesce(a.participant_id, $1)
$$;

-- The statement a provider's new line goes on: of the provider's open output-fee statements
-- for the programme and cohort whose deadline has not passed on `today`, the earliest.
create function open_statement(lead_provider_id uuid, programme text, cohort int, today date)
returns table (id uuid)
language sql stable as $$
    select s.id from statements s
    where s.lead_provider_id = $1 and s.programme = $2 and s.cohort = $3 and s.output_fee
      and s.closed_at is null and s.deadline_date >= $4
    order by s.deadline_date, s.payment_date, s.id
    limit 1
$$;

-- What a person is known as: 'person' for an ECF participant, each training record's type,
-- and 'npq' (accepted) or 'applicant' for each NPQ application.
create function profile_kinds(participant_id uuid) returns table (kind text)
language sql stable as $$
    select 'person' from participants p where p.id = $1
    union all
    select r.participant_type from training_records r where r.participant_id = $1
    union all
    select case when a.status = 'accepted' then 'npq' else 'applicant' end
    from npq_applications a where a.participant_id = $1
$$;
