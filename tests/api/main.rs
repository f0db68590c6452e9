//! Integration tests: the whole service against real PostgreSQL, a fresh database per test.

mod audit;
mod auth;
mod declarations;
mod finance;
mod helpers;
mod ledger;
mod npq;
mod participants;
mod partnerships;
mod plumbing;
mod private_postgres;
mod schools;
mod seed;
mod statements;
mod transfers;
