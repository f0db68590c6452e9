//! Streamed CSV exports: a task reads rows from a PostgreSQL cursor, writes them through the
//! `csv` writer and hands the body over in chunks through a small bounded channel, so an
//! export of any size holds only a few chunks in memory.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::http::ApiError;

/// Bytes gathered before a chunk is handed to the body.
const CHUNK: usize = 64 * 1024;
/// Chunks that may wait for a slow client before the export pauses.
const CHUNKS_IN_FLIGHT: usize = 4;

/// Why an export stopped early.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the rows failed.
    #[error("reading the export's rows failed: {0}")]
    Database(#[from] sqlx::Error),
    /// Writing a row failed.
    #[error("writing a CSV row failed: {0}")]
    Csv(#[from] csv::Error),
    /// The client went away.
    #[error("the client closed the connection")]
    Closed,
}

/// An `id` column, to put before a resource's attributes.
#[derive(Serialize)]
pub struct IdColumn {
    id: String,
}

/// A resource's row: `id`, then the fields of `attributes`.
pub fn with_id<A>(id: String, attributes: A) -> (IdColumn, A) {
    (IdColumn { id }, attributes)
}

/// Where an export writes its rows: a header from the first row's field names (none for an
/// empty export), then each row.
pub struct CsvSink {
    writer: csv::Writer<Vec<u8>>,
    chunks: mpsc::Sender<Result<Bytes, ExportError>>,
}

impl CsvSink {
    /// Writes one row.
    pub async fn row(&mut self, row: impl Serialize) -> Result<(), ExportError> {
        self.writer.serialize(row)?;
        if self.writer.get_ref().len() >= CHUNK {
            self.send().await?;
        }
        Ok(())
    }

    /// Writes each of `rows`, made into a CSV row by `item`.
    pub async fn rows<R, C: Serialize>(
        &mut self,
        rows: impl Stream<Item = Result<R, sqlx::Error>>,
        item: impl Fn(R) -> C,
    ) -> Result<(), ExportError> {
        let mut rows = std::pin::pin!(rows);
        while let Some(row) = rows.next().await {
            self.row(item(row?)).await?;
        }
        Ok(())
    }

    async fn send(&mut self) -> Result<(), ExportError> {
        // The header went out with the first row; later writers only add rows.
        let next = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(CHUNK));
        let full = std::mem::replace(&mut self.writer, next);
        let chunk = full
            .into_inner()
            .map_err(|error| csv::Error::from(error.into_error()))?;
        if chunk.is_empty() {
            return Ok(());
        }
        self.chunks
            .send(Ok(Bytes::from(chunk)))
            .await
            .map_err(|_| ExportError::Closed)
    }
}

/// A `text/csv` response whose body `export` writes, in a task of its own, while the client
/// reads. The status waits for the first chunk (or the end of a small export), so a failing
/// first fetch gets its own status and JSON body. A failure after rows went out aborts the
/// connection, so a client never takes a cut body for a whole one; it is logged.
pub async fn csv_response<F, Fut>(export: F) -> Result<Response, ApiError>
where
    F: FnOnce(CsvSink) -> Fut,
    Fut: Future<Output = Result<CsvSink, ExportError>> + Send + 'static,
{
    let (chunks, mut receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let failures = chunks.clone();
    let sink = CsvSink {
        writer: csv::Writer::from_writer(Vec::new()),
        chunks,
    };
    let task = export(sink);
    tokio::spawn(async move {
        let finished = match task.await {
            Ok(mut sink) => sink.send().await,
            Err(error) => Err(error),
        };
        match finished {
            Ok(()) | Err(ExportError::Closed) => {}
            Err(error) => {
                tracing::error!(%error, "CSV export failed");
                let _ = failures.send(Err(error)).await;
            }
        }
    });
    let first = match receiver.recv().await {
        Some(Err(error)) => return Err(error.into()),
        Some(Ok(chunk)) => Some(Ok(chunk)),
        None => None,
    };
    let rest = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let body = futures::stream::iter(first).chain(rest);
    Ok((
        [(header::CONTENT_TYPE, "text/csv")],
        Body::from_stream(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Line {
        text: &'static str,
    }

    fn failure() -> ExportError {
        ExportError::Database(sqlx::Error::PoolClosed)
    }

    #[tokio::test]
    async fn a_failing_first_fetch_gets_a_json_error_instead_of_a_200() {
        let response = csv_response(|_sink| async { Err::<CsvSink, _>(failure()) }).await;
        let response = response.map(|_| ()).expect_err("no response");
        assert!(matches!(response, ApiError::Internal(_)));
    }

    #[tokio::test]
    async fn a_failure_after_rows_went_out_cuts_the_body_with_an_error() {
        let response = csv_response(|mut sink| async move {
            for n in 0..10_000 {
                let line = Line {
                    text: "a row long enough to fill chunks",
                };
                sink.row(with_id(n.to_string(), line)).await?;
            }
            Err(failure())
        })
        .await
        .expect("rows went out first");
        assert_eq!(response.status(), axum::http::StatusCode::OK);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX).await;
        assert!(body.is_err(), "the body ended cleanly");
    }

    #[tokio::test]
    async fn an_empty_export_is_an_empty_body() {
        let response = csv_response(|sink| async { Ok(sink) }).await.expect("ok");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert!(body.is_empty());
    }
}
