//! Integration tests: the whole service against real PostgreSQL, a fresh database per test.

mod access;
mod api_docs;
mod audit;
mod auth;
mod compatibility;
mod csv_exports;
mod declarations;
mod finance;
mod finance_web;
mod helpers;
mod ledger;
mod legacy;
mod npq;
mod participants;
mod partnerships;
mod plumbing;
mod private_postgres;
mod read_side;
mod route_coverage;
mod schools;
mod seed;
mod spec;
mod statements;
mod transfers;
mod versions;
