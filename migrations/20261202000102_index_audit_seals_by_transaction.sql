-- Every event of one transaction becomes visible, and so is sealed, in one sealing batch. An
-- unsealed event of a transaction that an earlier batch sealed events of was put in the log
-- behind sealing's back: sealing refuses it and verify reports it, found through this index.
create index audit_seals_transaction_idx on audit_seals (transaction_id);
