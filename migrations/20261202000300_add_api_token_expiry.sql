-- A token may be issued to expire; after that it authenticates nothing, like an unknown one.
-- Revocations are events in the log (aggregate type `api_token`), not a column here.
alter table api_tokens add column expires_at timestamptz;
