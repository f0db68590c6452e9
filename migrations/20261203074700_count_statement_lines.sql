-- Adding, closing and paying a statement each move every line on it in one update of
-- `declarations`. Those updates stay heap-only (no index entries written, as
-- 20261202000401 left room for) only while no indexed column changes, so the lines a
-- statement holds are found through `statement_lines` rather than indexes on
-- `declarations.statement_id` and `clawback_statement_id`; and pricing reads
-- `statement_line_counts` instead of grouping every line.
drop index declarations_statement_idx;
drop index declarations_clawback_statement_idx;

-- Which declarations each statement holds: its billable lines, and (`clawback`) the lines it
-- claws back. The declarations read model writes it beside `declarations.statement_id`.
create table statement_lines (
    statement_id uuid not null,
    clawback boolean not null,
    declaration_id uuid not null,
    constraint statement_lines_pkey primary key (statement_id, clawback, declaration_id)
);

insert into statement_lines (statement_id, clawback, declaration_id)
select statement_id, false, id from declarations where statement_id is not null
union all
select clawback_statement_id, true, id from declarations where clawback_statement_id is not null;

-- The lines of each statement counted as pricing groups them: `declarations` grouped by
-- statement (billable, or clawed back), state, type, course and uplift, kept by the triggers
-- below in the same statement as every change to `declarations`. A key whose lines have all
-- moved on stays with `lines = 0`.
create table statement_line_counts (
    statement_id uuid not null,
    clawback boolean not null,
    state text not null,
    declaration_type text not null,
    course_identifier text not null,
    uplift boolean not null,
    lines bigint not null,
    constraint statement_line_counts_pkey
        primary key (statement_id, clawback, state, declaration_type, course_identifier, uplift)
);

-- Adds the rows a statement inserted (`new_rows`) and takes away those it deleted
-- (`old_rows`); an update does both.
create function count_statement_lines() returns trigger
language plpgsql as $$
begin
    execute format($sql$
        insert into statement_line_counts as c (statement_id, clawback, state, declaration_type,
            course_identifier, uplift, lines)
        select held.statement_id, held.clawback, d.state, d.declaration_type,
               d.course_identifier,
               d.pupil_premium_uplift or d.sparsity_uplift or d.targeted_delivery_funding,
               sum(d.n)
        from (%s) d
        cross join lateral (values (d.statement_id, false), (d.clawback_statement_id, true))
            as held (statement_id, clawback)
        where held.statement_id is not null
        group by 1, 2, 3, 4, 5, 6
        having sum(d.n) <> 0
        on conflict on constraint statement_line_counts_pkey
        do update set lines = c.lines + excluded.lines
        $sql$,
        case tg_op
            when 'INSERT' then 'select *, 1 as n from new_rows'
            when 'DELETE' then 'select *, -1 as n from old_rows'
            else 'select *, 1 as n from new_rows union all select *, -1 from old_rows'
        end
    );
    return null;
end
$$;

create trigger declarations_counted_on_insert after insert on declarations
    referencing new table as new_rows
    for each statement execute function count_statement_lines();
create trigger declarations_counted_on_update after update on declarations
    referencing old table as old_rows new table as new_rows
    for each statement execute function count_statement_lines();
create trigger declarations_counted_on_delete after delete on declarations
    referencing old table as old_rows
    for each statement execute function count_statement_lines();

-- The lines already on statements.
insert into statement_line_counts (statement_id, clawback, state, declaration_type,
    course_identifier, uplift, lines)
select held.statement_id, held.clawback, d.state, d.declaration_type, d.course_identifier,
       d.pupil_premium_uplift or d.sparsity_uplift or d.targeted_delivery_funding, count(*)
from declarations d
cross join lateral (values (d.statement_id, false), (d.clawback_statement_id, true))
    as held (statement_id, clawback)
where held.statement_id is not null
group by 1, 2, 3, 4, 5, 6;
