//! A training record changing owner when its person's id is retired.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

/// Moves a record to the kept person: the kept person gets a row (the retired one's name and
/// TRN) if they had no ECF record, and the retired person leaves the lists of providers they
/// no longer have a record with.
pub(super) async fn reassign(
    conn: &mut PgConnection,
    record: Uuid,
    kept: Uuid,
    at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let retired = sqlx::query_scalar!(
        "select participant_id from training_records where id = $1",
        record
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(retired) = retired else {
        return Ok(());
    };
    sqlx::query!(
        r#"
        insert into participants (id, full_name, trn, created_at, updated_at)
        select $2, p.full_name, p.trn, p.created_at, $3 from participants p where p.id = $1
        on conflict (id) do nothing
        "#,
        retired,
        kept,
        at,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update training_records set participant_id = $2, updated_at = $3 where id = $1",
        record,
        kept,
        at,
    )
    .execute(&mut *conn)
    .await?;
    super::places::unlist_without_placement(conn, retired).await
}
