//! The second factor: TOTP (RFC 6238: SHA-1, 6 digits, 30 s, ±1 step) with recovery codes,
//! asked for by password and code logins of accounts that turned it on.

use std::time::Duration;

use totp_rs::{Algorithm, Secret as TotpSecret, Totp};

use crate::auth::audit::{AuditEntry, AuditEvent};
use crate::auth::codes::Target;
use crate::auth::{Auth, ClientInfo, LoginOutcome, Principal};
use crate::error::{AuthError, AuthResult};
use crate::secret::{Secret, hmac_b64, random_bytes, random_token, sha256_hex};

/// Second-factor tries a login allows.
pub const MAX_MFA_ATTEMPTS: i64 = 5;
/// How long a password login's MFA token lives.
const MFA_TOKEN_TTL: Duration = Duration::from_secs(300);
const RECOVERY_CODES: usize = 10;

/// `POST /mfa/totp/enroll`: what an authenticator app needs.
#[derive(Debug, Clone)]
pub struct TotpEnrollment {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

impl Auth {
    fn totp_for(&self, secret_b32: &str, account: &str) -> AuthResult<Totp> {
        let secret = TotpSecret::try_from_base32(secret_b32)
            .map_err(|e| AuthError::Unexpected(anyhow::anyhow!("stored TOTP secret: {e}")))?;
        let issuer = self
            .settings
            .issuer
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .replace(':', "-");
        totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(6)
            .with_skew(1)
            .with_step_duration(30)
            .with_secret(secret)
            .with_issuer(Some(issuer))
            .with_account_name(account.replace(':', "-"))
            .build()
            .map_err(|e| AuthError::Unexpected(anyhow::anyhow!("TOTP: {e}")))
    }

    /// A new pending secret (replacing an unconfirmed one). Refused once MFA is on.
    pub async fn totp_enroll(&self, caller: &Principal) -> AuthResult<TotpEnrollment> {
        // A stolen access token must not put its holder's authenticator on the account.
        self.require_recent_auth(caller).await?;
        let rec = self.user_record(&caller.user_id).await?;
        let secret = TotpSecret::from(random_bytes::<20>().to_vec()).to_base32();
        let totp = self.totp_for(&secret, &rec.email)?;
        let uri = totp
            .to_url()
            .map_err(|e| AuthError::Unexpected(anyhow::anyhow!("otpauth URI: {e}")))?;
        let qr = qrcode::QrCode::new(uri.as_bytes())
            .map_err(|e| AuthError::Unexpected(anyhow::anyhow!("QR code: {e}")))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build();
        let now = self.clock.now_ms();
        if !self
            .db
            .put_pending_totp(&caller.user_id, &secret, now)
            .await?
        {
            return Err(AuthError::Conflict(
                "two-factor authentication is already on",
            ));
        }
        Ok(TotpEnrollment {
            secret,
            otpauth_uri: uri,
            qr_svg,
        })
    }

    /// Turns MFA on with a first code; returns the recovery codes (shown once). The user's
    /// other sessions end.
    pub async fn totp_confirm(&self, caller: &Principal, code: &str) -> AuthResult<Vec<String>> {
        let sid = caller.require_session()?;
        self.require_recent_auth(caller).await?;
        self.take_mfa_change_attempt(&caller.user_id).await?;
        let row = self
            .db
            .totp(&caller.user_id)
            .await?
            .filter(|r| !r.enabled)
            .ok_or(AuthError::Conflict(
                "nothing to confirm: enroll first (or two-factor authentication is already on)",
            ))?;
        let step = self
            .totp_step(&row.secret, code)?
            .ok_or(AuthError::InvalidMfaCode {
                attempts_left: None,
            })?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_hash(&caller.user_id, c))
            .collect();
        let now = self.clock.now_ms();
        if !self
            .db
            .use_totp_step(
                &caller.user_id,
                step,
                Some((&hashes, now)),
                &[self
                    .audit_by(caller, AuditEvent::MfaTotpEnabled)
                    .subject(&caller.user_id)],
            )
            .await?
        {
            return Err(AuthError::InvalidMfaCode {
                attempts_left: None,
            });
        }
        self.end_other_sessions(&caller.user_id, sid, "mfa-enabled")
            .await?;
        tracing::info!(user_id = %caller.user_id, "two-factor authentication enabled");
        self.notify_change(
            &caller.user_id,
            "Two-factor authentication was turned on for your account, and your other sessions were signed out.",
        )
        .await;
        Ok(codes)
    }

    /// Turns MFA off with a current TOTP code or a recovery code; the other sessions end.
    /// The code is itself a fresh proof of the factor: no separate re-authentication.
    pub async fn totp_disable(&self, caller: &Principal, code: &str) -> AuthResult<()> {
        let sid = caller.require_session()?;
        self.take_mfa_change_attempt(&caller.user_id).await?;
        if !self.mfa_enabled(&caller.user_id).await? {
            return Err(AuthError::NotFound("two-factor authentication"));
        }
        let recovery = self
            .audit_by(caller, AuditEvent::MfaRecoveryCodeUsed)
            .subject(&caller.user_id);
        if !self
            .check_second_factor(&caller.user_id, code, recovery)
            .await?
        {
            return Err(AuthError::InvalidMfaCode {
                attempts_left: None,
            });
        }
        self.db
            .remove_totp(
                &caller.user_id,
                &[self
                    .audit_by(caller, AuditEvent::MfaTotpDisabled)
                    .subject(&caller.user_id)],
            )
            .await?;
        self.end_other_sessions(&caller.user_id, sid, "mfa-disabled")
            .await?;
        tracing::info!(user_id = %caller.user_id, "two-factor authentication disabled");
        self.notify_change(
            &caller.user_id,
            "Two-factor authentication was turned off for your account.",
        )
        .await;
        Ok(())
    }

    /// New recovery codes for an account with TOTP on (after a recent re-authentication); the
    /// old ones stop working. Shown once.
    pub async fn regenerate_recovery_codes(&self, caller: &Principal) -> AuthResult<Vec<String>> {
        self.require_recent_auth(caller).await?;
        let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| self.recovery_hash(&caller.user_id, c))
            .collect();
        let entry = self
            .audit_by(caller, AuditEvent::MfaRecoveryCodesRegenerated)
            .subject(&caller.user_id);
        if !self
            .db
            .replace_recovery_codes(&caller.user_id, &hashes, &[entry])
            .await?
        {
            return Err(AuthError::NotFound("two-factor authentication"));
        }
        self.notify_change(
            &caller.user_id,
            "New recovery codes were made for your account; the earlier ones no longer work.",
        )
        .await;
        Ok(codes)
    }

    /// Whether the caller's account has TOTP on (for the account's security page).
    pub async fn totp_on(&self, caller: &Principal) -> AuthResult<bool> {
        self.mfa_enabled(&caller.user_id).await
    }

    pub(in crate::auth) async fn mfa_enabled(&self, user_id: &str) -> AuthResult<bool> {
        Ok(self.db.totp(user_id).await?.is_some_and(|r| r.enabled))
    }

    /// A password login of an account with MFA: a short-lived token for `/auth/mfa/verify`.
    pub(in crate::auth) async fn mfa_challenge(&self, user_id: &str) -> AuthResult<LoginOutcome> {
        let token = format!("lkm_{}", random_token::<32>());
        let now = self.clock.now_ms();
        self.db
            .insert_mfa_challenge(
                &sha256_hex(token.as_bytes()),
                user_id,
                now,
                now + MFA_TOKEN_TTL.as_millis() as i64,
            )
            .await?;
        Ok(LoginOutcome::MfaRequired {
            mfa_token: Some(Secret::new(token)),
        })
    }

    /// `POST /auth/mfa/verify`: the second step of a password login.
    pub async fn verify_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        client: &ClientInfo,
    ) -> AuthResult<LoginOutcome> {
        let id = sha256_hex(mfa_token.as_bytes());
        let now = self.clock.now_ms();
        // Counted like passwords, in the same budgets and before the code is looked at: the
        // challenge's own tries bound one token, these bound every challenge of the account.
        let charge = self.charge_ip(client).await?;
        let (user_id, used) = self
            .db
            .attempt_mfa_challenge(&id, now, MAX_MFA_ATTEMPTS)
            .await?
            .ok_or(AuthError::InvalidMfaToken)?;
        let charge = self
            .charge_target(charge, Target::Account(&user_id), client)
            .await?;
        let recovery = self.audit_as(&user_id, client, AuditEvent::MfaRecoveryCodeUsed);
        if !self.check_second_factor(&user_id, code, recovery).await? {
            if used >= MAX_MFA_ATTEMPTS {
                self.db.spend_mfa_challenge(&id, now).await?;
            }
            self.record_mfa_failure(&user_id, client, "password").await;
            return Err(AuthError::InvalidMfaCode {
                attempts_left: Some((MAX_MFA_ATTEMPTS - used).max(0) as u32),
            });
        }
        if !self.db.spend_mfa_challenge(&id, now).await? {
            return Err(AuthError::InvalidMfaToken);
        }
        let user = self
            .db
            .user_by_id(&user_id)
            .await?
            .ok_or(AuthError::InvalidMfaToken)?;
        if user.disabled {
            return Err(AuthError::AccountDisabled);
        }
        // Both factors were right: the sign-in is complete, and its two steps count no more.
        self.relieve(&charge, 2).await?;
        let grant = self.open_session(user.into(), client).await?;
        let entry = self
            .audit_as(&user_id, client, AuditEvent::LoginSucceeded)
            .detail("method", "mfa")
            .detail("session_id", grant.session_id.clone());
        self.record(entry).await;
        Ok(LoginOutcome::Signed(grant))
    }

    /// A wrong second factor during a login (`method` is the first factor's).
    pub(in crate::auth) async fn record_mfa_failure(
        &self,
        user_id: &str,
        client: &ClientInfo,
        method: &str,
    ) {
        let entry = self
            .audit_anonymous(client, AuditEvent::LoginFailed)
            .subject(user_id)
            .detail("method", method)
            .detail("reason", "mfa_failed");
        self.record(entry).await;
    }

    /// A TOTP code (each time step accepted once) or an unused recovery code.
    /// `recovery` (`mfa.recovery_code_used`) is written with the spend of a recovery code.
    pub(in crate::auth) async fn check_second_factor(
        &self,
        user_id: &str,
        code: &str,
        recovery: AuditEntry,
    ) -> AuthResult<bool> {
        let code = code.trim();
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            let Some(row) = self.db.totp(user_id).await?.filter(|r| r.enabled) else {
                return Ok(false);
            };
            let Some(step) = self.totp_step(&row.secret, code)? else {
                return Ok(false);
            };
            return self.db.use_totp_step(user_id, step, None, &[]).await;
        }
        let hash = self.recovery_hash(user_id, code);
        self.db
            .spend_recovery_code(user_id, &hash, self.clock.now_ms(), &[recovery])
            .await
    }

    /// The time step `code` matches (±1 step), by the injected clock.
    fn totp_step(&self, secret: &str, code: &str) -> AuthResult<Option<i64>> {
        let totp = self.totp_for(secret, "user")?;
        let now = self.clock.now_secs().max(0) as u64;
        Ok(totp.check(code.trim(), now).map(|s| s as i64))
    }

    fn recovery_hash(&self, user_id: &str, code: &str) -> String {
        let normalized: String = code
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        hmac_b64(
            &self.code_key,
            format!("recovery:{user_id}:{normalized}").as_bytes(),
        )
    }

    /// Confirming and turning off MFA are counted like logins per account: a stolen session
    /// cannot try every code.
    async fn take_mfa_change_attempt(&self, user_id: &str) -> AuthResult<()> {
        self.take_lock_attempt(
            &format!("mfa:user:{user_id}"),
            self.settings.login_limit_per_account,
        )
        .await
        .map(|_| ())
    }
}

/// `xxxxx-xxxxx` from an alphabet without look-alikes (about 50 bits).
fn new_recovery_code() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let bytes = random_bytes::<10>();
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}
