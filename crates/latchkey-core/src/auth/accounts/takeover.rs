//! Pre-account hijacking: anyone can sign up with someone else's address (a password
//! sign-up needs no proof). Proving control of the address (a mailed sign-in code, a
//! provider that vouches for it, the verification link on its own, a password-reset link)
//! to an account whose address was never proven takes the account over for the prover:
//! every credential and session set up before goes, and the address becomes verified. An
//! unverified account never blocks nor captures the address's owner.

use crate::auth::publish::new_batch;
use crate::auth::{AuditEvent, Auth, ClientInfo};
use crate::domain::User;
use crate::error::AuthResult;

impl Auth {
    /// Takes over `user` (whose address is unproven) for whoever just proved the address by
    /// `method` (`code`, `provider`, `link`, `password_reset`). False when the address was
    /// proven meanwhile by another request (nothing changed here). The removals are in force
    /// when this returns: revocations and key tombstones published, then swept once more so
    /// a request of the former holder that was already under way leaves nothing behind.
    pub(in crate::auth) async fn take_over(
        &self,
        user: &User,
        method: &str,
        client: &ClientInfo,
    ) -> AuthResult<bool> {
        let now = self.clock.now_ms();
        let batch = new_batch();
        let entry = self
            .audit_as(&user.id, client, AuditEvent::AccountTakenOver)
            .org(&user.org_id)
            .detail("method", method);
        let Some(done) = self
            .db
            .take_over_account(&user.id, now, &batch, entry)
            .await?
        else {
            return Ok(false);
        };
        self.flush(&batch).await?;
        let again = new_batch();
        let late = self.db.sweep_taken_over(&user.id, now, &again).await?;
        self.flush(&again).await?;
        tracing::warn!(
            user_id = %user.id,
            method,
            sessions = done.sessions.len() + late.sessions.len(),
            api_keys = done.api_keys + late.api_keys,
            identities = done.identities + late.identities,
            password = done.password,
            totp = done.totp || late.totp,
            other_members = done.other_members,
            "account taken over by the owner of its address"
        );
        Ok(true)
    }
}
