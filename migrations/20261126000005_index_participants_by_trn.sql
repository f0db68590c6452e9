-- Declarations look up other people with the same TRN (duplicate rule) on every submission.
create index participants_trn_idx on participants (trn) where trn is not null;
