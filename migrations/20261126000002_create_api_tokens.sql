-- Bearer tokens, kept only as SHA-256 digests. These are credentials, not ledger facts, so
-- they live outside the event log; events record the token's role and lead provider.
create table api_tokens (
    id uuid primary key,
    digest bytea not null,
    role text not null,
    lead_provider_id uuid,
    description text not null,
    created_at timestamptz not null default now(),
    last_used_at timestamptz,
    constraint api_tokens_digest_key unique (digest),
    constraint api_tokens_role_check
        check (role in ('lead_provider', 'finance', 'auditor', 'admin')),
    constraint api_tokens_lead_provider_check
        check ((role = 'lead_provider') = (lead_provider_id is not null))
);
