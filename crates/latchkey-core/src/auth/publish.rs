//! The database is the truth and the token store is derived from it. Every change to a user or
//! key writes, in its own transaction, a row to the publish outbox; the call then rewrites the
//! records the row names and deletes it. When the store cannot be reached the change still
//! stands: the caller hears that it is saved but not yet in effect (`Unpublished`), and every
//! instance retries what is left every few seconds. Records also expire after at most one
//! access-token lifetime, so even a lost row cannot keep a change out of force for longer.

use std::time::Duration;

use super::Auth;
use crate::error::{AuthError, AuthResult};
use crate::store::{Pending, PendingKind};

/// How often every instance retries the rows left behind.
pub const PUBLISH_RETRY_EVERY: Duration = Duration::from_secs(2);

pub(super) fn new_batch() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Any failure after the commit: the change stands, so the caller must not hear "failed".
pub(super) fn unpublished(cause: AuthError) -> AuthError {
    tracing::warn!(error = %cause, "a committed change could not be published yet; it will be retried");
    AuthError::Unpublished
}

impl Auth {
    /// Publishes the rows of the change just committed under `batch`.
    pub(super) async fn flush(&self, batch: &str) -> AuthResult<()> {
        let rows = self.db.pending_batch(batch).await.map_err(unpublished)?;
        for row in &rows {
            self.publish_row(row).await.map_err(unpublished)?;
        }
        Ok(())
    }

    /// Publishes everything pending about `user_id`, older changes first: a change must not
    /// take effect before an earlier one that is still unpublished (re-enabling an account
    /// before the revocations of its disabling are written would let its old tokens back in).
    pub(super) async fn flush_user(&self, user_id: &str) -> AuthResult<()> {
        let rows = self
            .db
            .pending_of_user(user_id)
            .await
            .map_err(unpublished)?;
        for row in &rows {
            self.publish_row(row).await.map_err(unpublished)?;
        }
        Ok(())
    }

    /// A retried call whose change was already committed (the target is gone, so the call
    /// itself cannot run again): finishes publishing that change, all of it (a removal names
    /// the user and each of their keys). `false` when nothing of `owner_id`'s was pending for
    /// `target_id`.
    pub(super) async fn finish_pending(&self, target_id: &str, owner_id: &str) -> AuthResult<bool> {
        let mut batches: Vec<String> = self
            .db
            .pending_for(target_id)
            .await?
            .into_iter()
            .filter(|p| p.owner_id == owner_id)
            .map(|p| p.batch)
            .collect();
        batches.dedup();
        for batch in &batches {
            self.flush(batch).await?;
        }
        Ok(!batches.is_empty())
    }

    /// The background retry: publishes the oldest rows left behind; how many were published.
    pub async fn publish_pending(&self) -> AuthResult<usize> {
        let rows = self.db.pending_oldest(100).await?;
        for row in &rows {
            self.publish_row(row).await?;
        }
        Ok(rows.len())
    }

    /// Rewrites the records from the database as it is now (the store keeps the newest
    /// version, so publishing twice or late is harmless), then forgets the row.
    async fn publish_row(&self, row: &Pending) -> AuthResult<()> {
        match row.kind {
            PendingKind::User => self.publish_user(&row.target_id).await?,
            PendingKind::Key => {
                if !self.publish_key(&row.target_id).await? {
                    self.state.drop_tokens(&row.target_id).await?;
                }
            }
            PendingKind::Session => self.publish_revocation(&row.target_id).await?,
        }
        self.db.pending_done(&row.id).await
    }
}
