-- A rebuild writes a read model's tables afresh, beside the live ones, and swaps them in at its
-- end, in the same transaction: readers see the old rows until it commits. The indexes that
-- only readers use (the read model names them) are built once, in one pass each, at the swap,
-- instead of being kept row by row through a whole log; the rest (those enforcing uniqueness,
-- which `on conflict` needs, and those the read model's own statements look rows up by) are
-- there from the start.
--
-- Both functions name tables as `public.<table>` and the fresh ones as `<schema>.<table>`;
-- they run with a search path of pg_catalog alone, so every definition they read back is
-- written with its schema.

-- Makes `schema` and, in it, an empty table like each of `tables`: its columns, defaults,
-- checks, storage parameters, triggers, constraints and every index not in `later`.
create function fresh_tables(schema name, tables text[], later text[]) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    t text;
    live regclass;
    options text[];
    c record;
begin
    if exists (
        select from unnest(later) as l (name)
        where not exists (
            select from pg_index i join pg_class x on x.oid = i.indexrelid
            where x.relname = l.name
              and i.indrelid in (select format('public.%I', n)::regclass from unnest(tables) n)
              and not exists (select from pg_constraint k where k.conindid = i.indexrelid))
    ) then
        raise exception 'the indexes to build last (%) must be on the tables rebuilt (%) and enforce no constraint',
            later, tables;
    end if;
    execute format('create schema %I', schema);
    foreach t in array tables loop
        live := format('public.%I', t)::regclass;
        execute format('create table %I.%I (like %s including all excluding indexes)',
                       schema, t, live);
        select reloptions into options from pg_class where oid = live;
        if options is not null then
            execute format('alter table %I.%I set (%s)', schema, t,
                           array_to_string(options, ', '));
        end if;
        for c in
            select conname, pg_get_constraintdef(oid) as definition
            from pg_constraint
            where conrelid = live and contype in ('p', 'u', 'x')
            order by conname
        loop
            execute format('alter table %I.%I add constraint %I %s',
                           schema, t, c.conname, c.definition);
        end loop;
        for c in
            select pg_get_indexdef(i.indexrelid) as definition
            from pg_index i join pg_class x on x.oid = i.indexrelid
            where i.indrelid = live and x.relname <> all(later)
              and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid)
            order by x.relname
        loop
            execute replace(c.definition, format(' ON %s ', live),
                            format(' ON %I.%I ', schema, t));
        end loop;
        for c in
            select pg_get_triggerdef(oid) as definition
            from pg_trigger
            where tgrelid = live and not tgisinternal
            order by tgname
        loop
            execute replace(c.definition, format(' ON %s ', live),
                            format(' ON %I.%I ', schema, t));
        end loop;
    end loop;
end
$$;

-- Builds the fresh tables' indexes in `later` and their statistics, then puts them in place of
-- the live ones: the views over the live tables are dropped and made again over the fresh
-- ones, the live tables dropped, and `schema` with them. A swap that cannot have a lock at
-- once undoes what it did and starts again after a pause, holding nothing meanwhile, so two
-- rebuilds swapping tables under one view, or tables the other reads, cannot deadlock, and
-- readers are held up a moment at most.
create function swap_in_fresh_tables(schema name, tables text[], later text[]) returns void
language plpgsql
set search_path = pg_catalog
as $$
declare
    t text;
    live regclass[];
    i record;
    swapped text[];
    made text[];
    patience text := current_setting('lock_timeout');
begin
    select array_agg(format('public.%I', name)::regclass order by n)
    into live
    from unnest(tables) with ordinality as x (name, n);
    for i in
        select x.name, pg_get_indexdef(ix.indexrelid) as definition
        from unnest(tables) as x (name)
        join pg_index ix on ix.indrelid = format('public.%I', x.name)::regclass
        join pg_class c on c.oid = ix.indexrelid
        where c.relname = any(later)
        order by x.name, c.relname
    loop
        execute replace(i.definition, format(' ON public.%I ', i.name),
                        format(' ON %I.%I ', schema, i.name));
    end loop;
    foreach t in array tables loop
        execute format('analyze %I.%I', schema, t);
    end loop;

    select coalesce(array_agg(format('%I.%I', n.nspname, v.relname) order by v.relname), '{}')
    into swapped
    from pg_class v
    join pg_namespace n on n.oid = v.relnamespace
    where v.oid in (
        select w.ev_class
        from pg_depend d join pg_rewrite w on w.oid = d.objid
        where d.classid = 'pg_rewrite'::regclass
          and d.refclassid = 'pg_class'::regclass
          and d.refobjid = any(live)
          and w.ev_class <> d.refobjid
    );

    -- The swap waits at most a moment for each lock it takes; if one is not free, all it did
    -- is undone and it starts again after a pause, holding nothing meanwhile. (`lock table`
    -- on a view would lock the tables under it too, other read models' among them, so the
    -- views are locked by reading their definitions and dropping them.)
    perform set_config('lock_timeout', '100ms', true);
    loop
        begin
            execute format('lock table %s in access exclusive mode',
                           array_to_string(live::text[], ', '));
            select coalesce(array_agg(format('create view %s as %s', v,
                                             pg_get_viewdef(v::regclass)) order by v), '{}')
            into made
            from unnest(swapped) as v;
            foreach t in array swapped loop
                execute format('drop view %s', t);
            end loop;
            foreach t in array tables loop
                execute format('drop table public.%I', t);
                execute format('alter table %I.%I set schema public', schema, t);
            end loop;
            foreach t in array made loop
                execute t;
            end loop;
            exit;
        exception when lock_not_available or deadlock_detected then
            perform pg_sleep(0.05 + random() * 0.1);
        end;
    end loop;
    perform set_config('lock_timeout', patience, true);
    execute format('drop schema %I', schema);
end
$$;
