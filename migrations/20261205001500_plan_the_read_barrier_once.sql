-- The read barrier: the transactions whose events, of these aggregate types, the caller's
-- snapshot sees and `applied` does not (what a request waits for before the read models show
-- everything committed so far), and whether there may be more (one type had a thousand begun
-- since `applied`: ask again once these are shown). Those running at `applied` are looked up
-- by id, each until its first event of one of the types; those begun since are cut from each
-- type's index, in its order, so a transaction held open anywhere adds nothing to the cost and
-- the limit keeps the plan an ordered index scan, however far behind the read models are.
--
-- Every request asks this once, so it is planned once per connection (`force_generic_plan`).
-- Sent as a statement of its own, PostgreSQL planned it afresh on 70 % of calls: the custom
-- plans it had made while the log was small looked cheaper than the one plan for any bound.
create function unseen_transactions(kinds text[], applied pg_snapshot)
returns table (unseen bigint[], more boolean)
language plpgsql stable
set plan_cache_mode = force_generic_plan
as $$
begin
    return query
    select coalesce(array_agg(distinct pending.transaction_id), '{}'),
           coalesce(bool_or(pending.nth = 1000), false)
    from (
        select running::text::bigint as transaction_id, 0::bigint as nth
        from pg_snapshot_xip(applied) as running
        where exists (
            select 1 from events e
            where e.transaction_id = running and e.aggregate_type = any(kinds))
        union all
        select since.transaction_id::text::bigint, since.nth
        from unnest(kinds) as kind (name)
        cross join lateral (
            select first.transaction_id, row_number() over () as nth
            from (
                select e.transaction_id from events e
                where e.aggregate_type = kind.name
                  and e.transaction_id >= pg_snapshot_xmax(applied)
                order by e.aggregate_type, e.transaction_id
                limit 1000
            ) as first
        ) as since
    ) as pending;
end
$$;
