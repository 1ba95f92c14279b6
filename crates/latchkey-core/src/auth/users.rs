//! Users as the hot path sees them: cached in memory, dropped from the cache on every write
//! this process makes to them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::Auth;
use crate::error::{AuthError, AuthResult};
use crate::store::User;

#[derive(Default)]
pub(super) struct UserCache {
    map: RwLock<HashMap<String, Arc<User>>>,
}

const CAPACITY: usize = 100_000;

impl UserCache {
    fn get(&self, id: &str) -> Option<Arc<User>> {
        self.map.read().ok()?.get(id).cloned()
    }

    fn put(&self, user: Arc<User>) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert(user.id.clone(), user);
        }
    }

    pub(super) fn forget(&self, id: &str) {
        if let Ok(mut map) = self.map.write() {
            map.remove(id);
        }
    }
}

impl Auth {
    pub(super) async fn user(&self, id: &str) -> AuthResult<Arc<User>> {
        if let Some(user) = self.users.get(id) {
            return Ok(user);
        }
        let user = Arc::new(
            self.db
                .user_by_id(id)
                .await?
                .ok_or(AuthError::NotFound("user"))?,
        );
        self.users.put(user.clone());
        Ok(user)
    }

    /// Disables (or re-enables) an account. Disabling ends every session at once.
    pub async fn set_user_disabled(&self, user_id: &str, disabled: bool) -> AuthResult<()> {
        let now = self.clock.now_ms();
        if !self.db.set_user_disabled(user_id, disabled, now).await? {
            return Err(AuthError::NotFound("user"));
        }
        self.users.forget(user_id);
        if disabled {
            self.revoke_all_sessions(user_id, "account disabled")
                .await?;
        }
        Ok(())
    }
}
