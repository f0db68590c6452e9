-- How many rows each provider's list holds: its participants (`provider_participants`) and its
-- own declarations. Places in a list are dense from 1, so the list's last row is the one at
-- the place equal to its length, found by one probe of the place index. Found instead as the
-- highest place, by a backward scan of that index, it cost a walk over every entry of a row
-- deleted earlier in the same transaction: a rebuild deletes the whole list first, so each of
-- its batches walked what was left of the old list (quadratic in the list's length).
create table list_lengths (
    list text not null check (list in ('participants', 'declarations')),
    lead_provider_id uuid not null,
    length bigint not null,
    constraint list_lengths_pkey primary key (list, lead_provider_id)
);

insert into list_lengths (list, lead_provider_id, length)
select 'participants', lead_provider_id, count(*) from provider_participants group by 2
union all
select 'declarations', lead_provider_id, count(*) from declarations group by 2;

-- Adds the rows a statement inserted (`new_rows`) to their lists' lengths, or takes away those
-- it deleted (`old_rows`); the list is the trigger's argument. Rows never move between
-- providers, so updates leave the lengths as they are.
create function count_list_rows() returns trigger
language plpgsql as $$
begin
    if tg_op = 'INSERT' then
        insert into list_lengths as l (list, lead_provider_id, length)
        select tg_argv[0], r.lead_provider_id, count(*) from new_rows r group by 2
        on conflict on constraint list_lengths_pkey
        do update set length = l.length + excluded.length;
    else
        update list_lengths l set length = l.length - gone.rows
        from (select r.lead_provider_id, count(*) as rows from old_rows r group by 1) gone
        where l.list = tg_argv[0] and l.lead_provider_id = gone.lead_provider_id;
    end if;
    return null;
end
$$;

create trigger provider_participants_listed_on_insert after insert on provider_participants
    referencing new table as new_rows
    for each statement execute function count_list_rows('participants');
create trigger provider_participants_listed_on_delete after delete on provider_participants
    referencing old table as old_rows
    for each statement execute function count_list_rows('participants');
create trigger declarations_listed_on_insert after insert on declarations
    referencing new table as new_rows
    for each statement execute function count_list_rows('declarations');
create trigger declarations_listed_on_delete after delete on declarations
    referencing old table as old_rows
    for each statement execute function count_list_rows('declarations');
