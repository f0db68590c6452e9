//! Renderers shared by the HTTP API and the CLI: a statement's breakdown and the list of
//! statements as CSV and text, a statement's printable page, and the transferred-provider trail as CSV and text. They
//! render what they are given and do no IO of their own besides writing.

pub mod statement_page;
pub mod statements;
pub mod transfers;
