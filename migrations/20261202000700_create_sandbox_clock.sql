-- A database seeded as the sandbox says so here, with the instant its requests and schedulers
-- run at, so every instance and CLI command on it follows the same clock whatever its flags.
-- No row: not a sandbox, the real clock.
create table sandbox_clock (
    singleton boolean primary key default true,
    now timestamptz not null,
    updated_at timestamptz not null default now(),
    constraint sandbox_clock_singleton_check check (singleton)
);
