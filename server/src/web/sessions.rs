//! The session store: tower-sessions' PostgreSQL store, with one addition.
//! A page's session record may be read inside the page's own transaction
//! (`authenticate`) and handed to the session layer, which then does not
//! read it again on a connection of its own ([`Sessions::preloaded`]).

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
}

impl Sessions {
    pub fn new(pool: sqlx::PgPool) -> Sessions {
        Sessions { inner: PostgresStore::new(pool) }
    }

    /// Runs `work` (which loads the session `id`) with `record` taken as
    /// what the store holds for it: read by [`read`] in the caller's
    /// transaction.
    pub async fn preloaded<F: std::future::Future>(id: Id, record: Option<Record>, work: F) -> F::Output {
        PRELOADED.scope(RefCell::new(Some((id, record))), work).await
    }
}

/// The live record of session `id` (not past its expiry), read on `conn`:
/// the same row and encoding [`PostgresStore`] reads.
pub async fn read(conn: &mut PgConnection, id: &Id) -> Result<Option<Record>, sqlx::Error> {
    let data: Option<Vec<u8>> = sqlx::query_scalar(r#"SELECT data FROM "tower_sessions"."session" WHERE id = $1 AND expiry_date > now()"#)
        .bind(id.to_string())
        .fetch_optional(conn)
        .await?;
    Ok(data.and_then(|data| match rmp_serde::from_slice(&data) {
        Ok(record) => Some(record),
        Err(error) => {
            // Unreadable is signed out, as the store's own load would fail.
            tracing::warn!(%error, "a session record does not decode");
            None
        }
    }))
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.inner.save(record).await
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
