//! The session store: tower-sessions' PostgreSQL store, with two changes.
//! A page's session record may be read inside the page's own transaction
//! (`authenticate`) and handed to the session layer, which then does not
//! read it again on a connection of its own ([`Sessions::preloaded`]). And
//! saving a session only updates its row: a session ended (its row
//! deleted) while one of its requests was under way is not written back
//! when that request ends.

use async_trait::async_trait;
use sqlx::PgConnection;
use std::cell::RefCell;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions_sqlx_store::PostgresStore;

tokio::task_local! {
    /// The record `authenticate` read for this request's session id, and
    /// taken by the session layer's first load.
    static PRELOADED: RefCell<Option<(Id, Option<Record>)>>;
}

/// Sessions in `tower_sessions.session`, as [`PostgresStore`] keeps them.
#[derive(Clone, Debug)]
pub struct Sessions {
    inner: PostgresStore,
    pool: sqlx::PgPool,
}

impl Sessions {
    pub fn new(pool: sqlx::PgPool) -> Sessions {
        Sessions { inner: PostgresStore::new(pool.clone()), pool }
    }

    /// Runs `work` (which loads the session `id`) with `record` taken as
    /// what the store holds for it: read by [`read`] in the caller's
    /// transaction.
    pub async fn preloaded<F: std::future::Future>(id: Id, record: Option<Record>, work: F) -> F::Output {
        PRELOADED.scope(RefCell::new(Some((id, record))), work).await
    }
}

/// The live record of session `id` (not past its expiry), read on `conn`:
/// the same row and encoding [`PostgresStore`] reads. A record that does
/// not decode is an error, as the store's own load makes it.
pub async fn read(conn: &mut PgConnection, id: &Id) -> Result<Option<Record>, String> {
    let data: Option<Vec<u8>> = sqlx::query_scalar(r#"SELECT data FROM "tower_sessions"."session" WHERE id = $1 AND expiry_date > now()"#)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(|error| error.to_string())?;
    data.map(|data| rmp_serde::from_slice(&data).map_err(|error| format!("a session record does not decode: {error}"))).transpose()
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await
    }

    /// Writes a session that was read at the start of the request: an
    /// update of its row, never an insert (the crate's store upserts), so
    /// that one ended meanwhile stays ended. New sessions go through
    /// `create`, and so does a changed id (`cycle_id`).
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data = rmp_serde::to_vec(record).map_err(|error| session_store::Error::Encode(error.to_string()))?;
        sqlx::query(r#"UPDATE "tower_sessions"."session" SET data = $2, expiry_date = $3 WHERE id = $1"#)
            .bind(record.id.to_string())
            .bind(data)
            .bind(record.expiry_date)
            .execute(&self.pool)
            .await
            .map_err(|error| session_store::Error::Backend(error.to_string()))?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let preloaded = PRELOADED.try_with(|cell| cell.borrow_mut().take()).ok().flatten();
        match preloaded {
            Some((read_id, record)) if read_id == *id => Ok(record),
            _ => self.inner.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.inner.delete(id).await
    }
}
