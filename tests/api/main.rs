//! Integration tests: the whole service against real PostgreSQL, a fresh database per test.

mod audit;
mod auth;
mod csv_exports;
mod declarations;
mod finance;
mod helpers;
mod leadership;
mod ledger;
mod legacy;
mod metrics;
mod npq;
mod participants;
mod partnerships;
mod plumbing;
mod private_postgres;
mod sandbox_clock;
mod schools;
mod seed;
mod shutdown;
mod spec;
mod statements;
mod transfers;
mod versions;
