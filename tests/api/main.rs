//! Integration tests: the whole service against real PostgreSQL, a fresh database per test.

mod audit;
mod auth;
mod csv_exports;
mod declarations;
mod finance;
mod helpers;
mod ledger;
mod legacy;
mod npq;
mod participants;
mod partnerships;
mod pennies;
mod plumbing;
mod private_postgres;
mod schools;
mod seed;
mod spec;
mod statement_lifecycle;
mod statements;
mod transfers;
mod versions;
