//! After a provider vouched for someone: sign in a known identity, link an existing account
//! only on a verified email, or hold a sign-up step (a phone number is still needed). The
//! result reaches the app as a one-time code, never as tokens in a URL.

use serde::{Deserialize, Serialize};

use crate::auth::{Auth, ClientInfo, CreatedKey, Grant};
use crate::error::{AuthError, AuthResult};
use crate::input::{Email, Phone, parse_name};
use crate::oidc::{ExternalIdentity, s256};
use crate::secret::{ct_eq, random_token, sha256_hex};
use crate::store::{NewIdentity, NewUser};

/// How long the app has to exchange the code it received on its redirect.
pub const HANDOFF_TTL_MS: i64 = 120_000;
/// How long a person has to enter their phone number.
pub const SIGNUP_STEP_TTL_MS: i64 = 600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Pending {
    provider: String,
    subject: String,
    email: Option<String>,
    name: Option<String>,
    referral_code: Option<String>,
    /// Whether the provider vouched for `email`. An address it does not vouch for is never
    /// stored as an account's address (older steps lack the field: not vouched for).
    #[serde(default)]
    email_verified: bool,
    /// When the provider does not vouch for `email`: the sign-in code mailed to it, which
    /// `complete_signup` needs.
    #[serde(default)]
    login_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Payload {
    SignIn {
        user_id: String,
        /// The operator says this provider's sign-in satisfies MFA (`satisfies_mfa`);
        /// otherwise an account with a second factor is asked for it.
        #[serde(default)]
        mfa_satisfied: bool,
    },
    Signup(Pending),
    /// The `signup_token`: only `complete_signup` takes it.
    SignupStep(Pending),
    /// Lets `/oauth/{provider}/start` link a provider to this signed-in user, from the
    /// browser whose cookie hashes to `binding` (a ticket of an older build has none and is
    /// refused).
    LinkTicket {
        user_id: String,
        provider: String,
        #[serde(default)]
        binding: Option<String>,
        /// The session that asked: the link goes through only while it lives, so a link
        /// started before a takeover, a reset or a logout-all links nothing afterwards.
        #[serde(default)]
        session_id: Option<String>,
    },
    /// A sign-in on Latchkey's own pages (every factor done) handed to an app (`hosted`).
    Hosted {
        user_id: String,
    },
    /// A provider's sign-in waiting for the person to confirm the link on the page.
    LinkConfirm {
        user_id: String,
        provider: String,
        subject: String,
        email: Option<String>,
        redirect_to: String,
        binding: String,
        session_id: String,
    },
}

/// What `POST /auth/exchange` answers.
#[derive(Debug)]
pub enum Exchanged {
    Signed(Box<Grant>),
    /// The account has a second factor and the provider does not satisfy MFA: continue at
    /// `verify_mfa` with this token, as after a password.
    MfaRequired {
        mfa_token: crate::secret::Secret,
    },
    /// A new person: finish with `complete_signup`.
    SignupRequired {
        signup_token: String,
        email: Option<String>,
        expires_in_secs: i64,
        /// The provider does not vouch for `email`: a code was mailed to it, and
        /// `complete_signup` needs it.
        email_code_required: bool,
    },
}

pub struct CompleteSignup {
    pub signup_token: String,
    /// The code mailed to the address when the provider did not vouch for it.
    pub email_code: Option<String>,
    pub phone: String,
    pub name: Option<String>,
    pub referral_code: Option<String>,
}

impl Auth {
    /// Decides who this is and returns the one-time code for the app's redirect.
    pub async fn external_sign_in(
        &self,
        who: &ExternalIdentity,
        referral_code: Option<String>,
        app_challenge: Option<String>,
        client: &ClientInfo,
    ) -> AuthResult<String> {
        let claims = &who.claims;
        let known = self
            .db
            .identity_user(&who.provider, &claims.subject)
            .await?;
        let mfa_satisfied = who.satisfies_mfa;
        let payload = match known {
            Some(user_id) => {
                self.vouched_own_address(&user_id, who, client).await?;
                Payload::SignIn {
                    user_id,
                    mfa_satisfied,
                }
            }
            None => match self.verified_email_owner(who).await? {
                Some(owner) => {
                    let user_id = owner.id.clone();
                    // An account whose address was never proven: the provider just proved it,
                    // so the account is the prover's, and what was set up on it before goes.
                    if !owner.email_verified && !owner.disabled {
                        self.take_over(&owner, "provider", client).await?;
                    }
                    let identity = NewIdentity {
                        provider: &who.provider,
                        subject: &claims.subject,
                        email: claims.email.as_deref(),
                    };
                    // The provider vouched for the address: the person signing in owns it.
                    let entry = self
                        .audit_as(&user_id, client, crate::auth::AuditEvent::IdentityLinked)
                        .detail("provider", who.provider.clone())
                        .detail("by", "verified_email");
                    self.db
                        .link_identity(&identity, &user_id, self.clock.now_ms(), &[entry])
                        .await?;
                    tracing::info!(%user_id, provider = %who.provider, "identity linked by verified email");
                    Payload::SignIn {
                        user_id,
                        mfa_satisfied,
                    }
                }
                None => Payload::Signup(Pending {
                    provider: who.provider.clone(),
                    subject: claims.subject.clone(),
                    email: claims.email.clone(),
                    name: claims.name.clone(),
                    referral_code,
                    email_verified: claims.email_verified,
                    login_id: None,
                }),
            },
        };
        self.put_code(&payload, app_challenge.as_deref(), HANDOFF_TTL_MS)
            .await
    }

    /// A linked identity whose provider vouches for the account's own address proves it (the
    /// identity is the account's already: nothing to take over). Accounts that signed up
    /// through a provider before such sign-ups were marked verified get there this way.
    async fn vouched_own_address(
        &self,
        user_id: &str,
        who: &ExternalIdentity,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let (true, Some(email)) = (who.claims.email_verified, who.claims.email.as_deref()) else {
            return Ok(());
        };
        let Ok(email) = Email::parse(email) else {
            return Ok(());
        };
        let Some(mut user) = self.db.user_by_id(user_id).await? else {
            return Ok(());
        };
        let own = Email::parse(&user.email).is_ok_and(|e| e.normalized() == email.normalized());
        if own && !user.email_verified {
            self.mark_verified(&mut user, self.clock.now_ms(), client, "provider")
                .await?;
        }
        Ok(())
    }

    /// An existing account with this email, when — and only when — the provider asserts the
    /// address is verified. An unverified claim would let anyone take over an account.
    async fn verified_email_owner(
        &self,
        who: &ExternalIdentity,
    ) -> AuthResult<Option<crate::domain::User>> {
        let (true, Some(email)) = (who.claims.email_verified, who.claims.email.as_deref()) else {
            return Ok(None);
        };
        let Ok(email) = Email::parse(email) else {
            return Ok(None);
        };
        Ok(self
            .db
            .user_by_email(email.normalized())
            .await?
            .map(|row| row.user))
    }

    /// The app trades the code from its redirect (and its PKCE verifier, when it sent a
    /// challenge at start) for tokens, or for the sign-up step.
    pub async fn exchange_code(
        &self,
        code: &str,
        verifier: Option<&str>,
        client: &ClientInfo,
    ) -> AuthResult<Exchanged> {
        let invalid = AuthError::ExternalLogin("the code is invalid, expired or already used");
        let handoff = self
            .db
            .take_handoff(&sha256_hex(code.as_bytes()))
            .await?
            .ok_or(AuthError::ExternalLogin(
                "the code is invalid, expired or already used",
            ))?;
        if handoff.expires_at <= self.clock.now_ms() {
            return Err(invalid);
        }
        if let Some(challenge) = &handoff.code_challenge {
            let ok = verifier.is_some_and(|v| ct_eq(s256(v).as_bytes(), challenge.as_bytes()));
            if !ok {
                return Err(AuthError::ExternalLogin(
                    "the code_verifier does not match the code_challenge sent at start",
                ));
            }
        }
        match serde_json::from_str::<Payload>(&handoff.payload).map_err(anyhow::Error::from)? {
            Payload::SignIn {
                user_id,
                mfa_satisfied,
            } => {
                let user = self.db.user_by_id(&user_id).await?.ok_or(invalid)?;
                if user.disabled {
                    return Err(AuthError::AccountDisabled);
                }
                // Every way in: a provider identity linked to an unproven account is not one.
                self.require_verified(&user.id).await?;
                if !mfa_satisfied && self.mfa_enabled(&user.id).await? {
                    // As after a password: the second step is audited when it ends.
                    let crate::auth::LoginOutcome::MfaRequired {
                        mfa_token: Some(mfa_token),
                    } = self.mfa_challenge(&user.id).await?
                    else {
                        return Err(AuthError::Unexpected(anyhow::anyhow!(
                            "an MFA challenge without a token"
                        )));
                    };
                    return Ok(Exchanged::MfaRequired { mfa_token });
                }
                let uid = user.id.clone();
                let grant = self.open_session(user.into(), client).await?;
                let entry = self
                    .audit_as(&uid, client, crate::auth::AuditEvent::LoginSucceeded)
                    .detail("method", "social")
                    .detail("session_id", grant.session_id.clone());
                self.record(entry).await;
                Ok(Exchanged::Signed(Box::new(grant)))
            }
            Payload::Signup(mut pending) => {
                // A closed server says so before it asks for a phone number; invite-only ones
                // take the referral code at the next step.
                if self.settings.signup == crate::auth::SignupMode::Closed {
                    self.signup_allowed(None)?;
                }
                let email = pending.email.clone();
                // An address the provider does not vouch for is proven by a mailed code
                // before it can become an account's address.
                let email_code_required = email.is_some() && !pending.email_verified;
                // Without a mailer no code can go: `complete_signup` then refuses.
                if let (true, Some(address), true) =
                    (email_code_required, &email, self.mailer.is_some())
                {
                    let address = Email::parse(address)?;
                    pending.login_id = Some(self.send_address_code(&address, client).await?);
                }
                let step = Payload::SignupStep(pending);
                let signup_token = self.put_code(&step, None, SIGNUP_STEP_TTL_MS).await?;
                Ok(Exchanged::SignupRequired {
                    signup_token,
                    email,
                    expires_in_secs: SIGNUP_STEP_TTL_MS / 1000,
                    email_code_required,
                })
            }
            Payload::Hosted { user_id } => self.exchange_hosted(&user_id, client).await,
            Payload::SignupStep(_) | Payload::LinkTicket { .. } | Payload::LinkConfirm { .. } => {
                Err(invalid)
            }
        }
    }

    /// Creates the account of a person who came through a provider: their phone number, the
    /// organization rule (no referral: a new organization, admin; referral: member), the
    /// identity link and a default API key, shown once.
    pub async fn complete_signup(
        &self,
        req: CompleteSignup,
        client: &ClientInfo,
    ) -> AuthResult<Grant> {
        // Input first, so a typo does not use up the sign-up step.
        let phone = Phone::parse(&req.phone)?;
        let name_override = parse_name(req.name.as_deref())?;
        if let Some(ip) = client.ip_bucket() {
            self.take_attempt(
                &format!("signup:ip:{ip}"),
                self.settings.signup_limit_per_ip,
            )
            .await?;
        }
        let hash = sha256_hex(req.signup_token.as_bytes());
        let invalid =
            || AuthError::ExternalLogin("the signup_token is invalid, expired or already used");
        let handoff = self.db.take_handoff(&hash).await?.ok_or_else(invalid)?;
        if handoff.expires_at <= self.clock.now_ms() {
            return Err(invalid());
        }
        let Ok(Payload::SignupStep(pending)) = serde_json::from_str::<Payload>(&handoff.payload)
        else {
            return Err(invalid());
        };
        // The sign-up rule holds for providers too: a closed server takes no one, an
        // invite-only one needs a referral code (from the start, or given now).
        let referral = req
            .referral_code
            .as_deref()
            .or(pending.referral_code.as_deref());
        let result = match self.signup_allowed(referral) {
            Ok(()) => {
                self.prove_unvouched(&pending, req.email_code.as_deref())
                    .await
            }
            Err(e) => Err(e),
        };
        let result = match result {
            Ok(()) => {
                self.register_external(&pending, &phone, name_override, req.referral_code, client)
                    .await
            }
            Err(e) => Err(e),
        };
        let (user, key) = match result {
            Ok(created) => created,
            Err(e) => {
                // A wrong referral code or a taken email: the person may correct and retry.
                // A wrong mailed code too: its login counts the tries.
                if matches!(
                    e,
                    AuthError::UnknownReferralCode
                        | AuthError::InvalidInput { .. }
                        | AuthError::InvalidSessionCode
                        | AuthError::Forbidden(_)
                ) {
                    self.db
                        .put_handoff(&hash, &handoff.payload, None, handoff.expires_at)
                        .await?;
                }
                return Err(e);
            }
        };
        let mut grant = self.open_session(user.into(), client).await?;
        grant.api_key = Some(key);
        Ok(grant)
    }

    /// An address the provider did not vouch for is never stored as an account's address
    /// without proof: whoever controls that provider account would hold the address (and its
    /// real owner's later sign-in would land in their account). The code mailed at the
    /// exchange proves it.
    async fn prove_unvouched(&self, pending: &Pending, email_code: Option<&str>) -> AuthResult<()> {
        let Some(email) = pending.email.as_deref().filter(|_| !pending.email_verified) else {
            return Ok(());
        };
        let email = Email::parse(email)?;
        let Some(login_id) = &pending.login_id else {
            // No mailer, or a step from before codes were mailed for such addresses.
            return Err(AuthError::ExternalLogin(
                "the provider does not vouch for this email address and no code was mailed to \
                 prove it: sign up another way, then link the provider from the account",
            ));
        };
        let Some(code) = email_code.filter(|c| !c.trim().is_empty()) else {
            return Err(AuthError::InvalidInput {
                field: "email_code",
                message: "the provider does not vouch for this address: send the code mailed \
                          to it"
                    .into(),
            });
        };
        self.check_address_code(login_id, code, email.normalized())
            .await
    }

    async fn register_external(
        &self,
        pending: &Pending,
        phone: &Phone,
        name_override: Option<String>,
        referral_override: Option<String>,
        client: &ClientInfo,
    ) -> AuthResult<(crate::domain::User, CreatedKey)> {
        let email = pending.email.as_deref().ok_or(AuthError::ExternalLogin(
            "the provider shared no email address; an account needs one",
        ))?;
        let email = Email::parse(email)?;
        let name = name_override.or(parse_name(pending.name.as_deref()).unwrap_or(None));
        let referral = referral_override
            .or(pending.referral_code.clone())
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty());
        let (user, key) = self
            .create_account(
                NewUser {
                    email: email.as_str(),
                    email_normalized: email.normalized(),
                    name: name.as_deref(),
                    phone: Some(phone.as_str()),
                    // Signs in through the provider only, until a password is set.
                    password_hash: None,
                    scopes: &self.settings.default_scopes,
                    referral_code: referral.as_deref(),
                    new_org_name: "",
                    identity: Some(NewIdentity {
                        provider: &pending.provider,
                        subject: &pending.subject,
                        email: pending.email.as_deref(),
                    }),
                },
                self.audit_user_to_be(client, crate::auth::AuditEvent::UserSignedUp)
                    .detail("method", "social")
                    .detail("provider", pending.provider.clone()),
            )
            .await?;
        // The provider vouched for the address, or the mailed code proved it.
        let mut user = user;
        self.mark_verified(&mut user, self.clock.now_ms(), client, "provider")
            .await?;
        tracing::info!(user_id = %user.id, provider = %pending.provider, "signed up through a provider");
        Ok((user, key))
    }

    pub(super) async fn put_code(
        &self,
        payload: &Payload,
        challenge: Option<&str>,
        ttl_ms: i64,
    ) -> AuthResult<String> {
        let code = random_token::<32>();
        let json = serde_json::to_string(payload).map_err(anyhow::Error::from)?;
        self.db
            .put_handoff(
                &sha256_hex(code.as_bytes()),
                &json,
                challenge,
                self.clock.now_ms() + ttl_ms,
            )
            .await?;
        Ok(code)
    }
}
