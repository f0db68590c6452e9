-- Fixed-window request counters shared by every instance (`--rate-limit-store postgres`).
-- Unlogged: no WAL per request, and a crash that empties the table only forgives the current
-- window. Each instance deletes ended windows once a minute.
create unlogged table rate_limit_counters (
    key text not null,
    window_start timestamptz not null,
    window_end timestamptz not null,
    hits integer not null,
    constraint rate_limit_counters_pkey primary key (key, window_start)
);
