//! Streamed CSV exports: a task reads rows from a PostgreSQL cursor, writes them through the
//! `csv` writer and hands the body over in chunks through a small bounded channel, so an
//! export of any size holds only a few chunks in memory.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use serde::Serialize;
use tokio::sync::mpsc;

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
    chunks: mpsc::Sender<Result<Bytes, io::Error>>,
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
/// reads. A failure after the first chunk can only cut the body short; it is logged.
pub fn csv_response<F, Fut>(export: F) -> Response
where
    F: FnOnce(CsvSink) -> Fut,
    Fut: Future<Output = Result<CsvSink, ExportError>> + Send + 'static,
{
    let (chunks, receiver) = mpsc::channel(CHUNKS_IN_FLIGHT);
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
                let _ = failures.send(Err(io::Error::other(error))).await;
            }
        }
    });
    let body = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    (
        [(header::CONTENT_TYPE, "text/csv")],
        Body::from_stream(body),
    )
        .into_response()
}
