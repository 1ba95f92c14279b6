//! The caller's own API keys (`/api-keys`): the rules that depend on who asks. Managing keys
//! acts as the user, so it needs the user's own session; an API token cannot manage keys.

use std::time::Duration;

use crate::auth::{ApiKeyInfo, Auth, CreatedKey, Principal};
use crate::error::{AuthError, AuthResult};

/// How long the old secret of a rotated key may keep working: long enough to roll a fleet,
/// short enough that a leaked key cannot be kept alive by rotating it.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

impl Auth {
    pub async fn own_api_keys(&self, caller: &Principal) -> AuthResult<Vec<ApiKeyInfo>> {
        caller.require_session()?;
        self.list_api_keys(&caller.user_id).await
    }

    pub async fn delete_own_api_key(&self, caller: &Principal, kid: &str) -> AuthResult<()> {
        caller.require_session()?;
        let entry = self
            .audit_by(caller, crate::auth::AuditEvent::ApiKeyDeleted)
            .subject(&caller.user_id)
            .detail("key_id", kid);
        self.delete_api_key(&caller.user_id, kid, entry).await
    }

    /// A new secret for one of the caller's keys; the old one keeps working for `overlap`.
    pub async fn rotate_own_api_key(
        &self,
        caller: &Principal,
        kid: &str,
        overlap: Duration,
    ) -> AuthResult<CreatedKey> {
        if overlap > MAX_ROTATION_OVERLAP {
            return Err(AuthError::invalid_field(
                "overlap_seconds",
                "at most 7 days",
            ));
        }
        self.rotate_api_key(caller, kid, overlap).await
    }
}
