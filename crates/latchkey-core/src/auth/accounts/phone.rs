//! Proving a phone number: a 6-digit code by text message, 10 minutes, 5 tries, one send a
//! minute per account, the per-IP login limit on sends, and budgets per destination number
//! and per organization (`phone_sends_per_number`, `phone_sends_per_org`).

use std::time::Duration;

use crate::auth::{Auth, ClientInfo, Principal};
use crate::error::{AuthError, AuthResult};
use crate::secret::{ct_eq, sha256_hex};
use crate::sms::SmsSender;

pub const PHONE_CODE_TTL: Duration = Duration::from_secs(600);
pub const PHONE_CODE_TRIES: i64 = 5;
pub const PHONE_RESEND_AFTER: Duration = Duration::from_secs(60);

fn code_hash(user_id: &str, code: &str) -> String {
    sha256_hex(format!("{user_id}:{code}").as_bytes())
}

impl Auth {
    /// Sends a code to the phone number on the caller's account.
    pub async fn phone_verify_start(
        &self,
        caller: &Principal,
        sms: &SmsSender,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        caller.require_session()?;
        let phone = self
            .user_record(&caller.user_id)
            .await?
            .phone
            .ok_or_else(|| AuthError::invalid_field("phone", "the account has no phone number"))?;
        if let Some(ip) = client.ip_bucket() {
            self.take_attempt(&format!("phone:ip:{ip}"), self.settings.login_limit_per_ip)
                .await?;
        }
        // Texts cost money per message, and a number is not proven before its code comes
        // back: a budget per destination number (whichever accounts ask) and per organization
        // keeps fresh accounts from pumping messages to one number or range.
        let budgets = [
            (
                format!("phone:number:{phone}"),
                self.settings.phone_sends_per_number,
            ),
            (
                format!("phone:org:{}", caller.org_id),
                self.settings.phone_sends_per_org,
            ),
        ];
        let mut taken = Vec::new();
        for (key, limit) in budgets {
            match self.take_send(&key, limit).await {
                Ok(true) => taken.push(key),
                Ok(false) => {}
                Err(e) => {
                    self.give_back_sends(&taken).await;
                    return Err(e);
                }
            }
        }
        let code = format!("{:06}", rand::random_range(0..1_000_000u32));
        let stored = self
            .db
            .put_phone_code(
                &caller.user_id,
                &phone,
                &code_hash(&caller.user_id, &code),
                self.clock.now_ms(),
                PHONE_CODE_TTL.as_millis() as i64,
                PHONE_RESEND_AFTER.as_millis() as i64,
            )
            .await?;
        if !stored {
            // Nothing is sent: the budgets keep what they lent.
            self.give_back_sends(&taken).await;
            return Err(AuthError::RateLimited {
                retry_after: PHONE_RESEND_AFTER,
            });
        }
        sms.send(
            &phone,
            &format!("Your verification code is {code}. It expires in 10 minutes."),
        )
        .await
        .map_err(|e| AuthError::Unavailable(e.context("the text message could not be sent")))?;
        Ok(())
    }

    /// One text against a budget of `phone_send_window`; whether it was counted (0 = off).
    async fn take_send(&self, key: &str, limit: u32) -> AuthResult<bool> {
        if limit == 0 {
            return Ok(false);
        }
        match self
            .state
            .take(key, limit, self.settings.phone_send_window)
            .await?
        {
            Ok(()) => Ok(true),
            Err(crate::state::RetryAfter(retry_after)) => {
                Err(AuthError::RateLimited { retry_after })
            }
        }
    }

    async fn give_back_sends(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.state.give_back(key).await {
                tracing::warn!(error = %e, "text budget not given back");
            }
        }
    }

    /// Checks a code; the number it was sent to is verified. Returns that number.
    pub async fn phone_verify(&self, caller: &Principal, code: &str) -> AuthResult<String> {
        caller.require_session()?;
        let wrong = || {
            AuthError::invalid_field(
                "code",
                "the code is wrong, expired or out of tries; request a new one",
            )
        };
        let pending = self
            .db
            .try_phone_code(&caller.user_id, self.clock.now_ms(), PHONE_CODE_TRIES)
            .await?
            .ok_or_else(wrong)?;
        let given = code_hash(&caller.user_id, code.trim());
        if !ct_eq(given.as_bytes(), pending.code_hash.as_bytes()) {
            return Err(wrong());
        }
        let entry = self
            .audit_by(caller, crate::auth::AuditEvent::PhoneVerified)
            .subject(&caller.user_id);
        self.db
            .set_phone_verified(&caller.user_id, self.clock.now_ms(), &[entry])
            .await?;
        tracing::info!(user_id = %caller.user_id, "phone number verified");
        Ok(pending.phone)
    }
}
