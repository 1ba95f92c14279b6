//! Every way to sign in, with the branches a person meets (a second factor, a wrong code)
//! answered as values, not errors. The wire types are `latchkey-api`'s, the server's own.

use latchkey_api::{
    CodeSentResponse, CodeVerifyRequest, LoginRequest, LogoutAllResponse, MfaRequiredResponse,
    MfaVerifyRequest, PasswordChangeRequest, PasswordForgotRequest, PasswordResetRequest,
    TokenResponse,
};
use reqwest::StatusCode;
use serde::Serialize;
use serde_json::Value;

use crate::{Client, Error, api_error};

/// What a password login, a second factor or a provider's exchange gives.
#[derive(Debug, Clone)]
pub enum SignIn {
    /// A session is open, and the client holds it.
    SignedIn(Box<TokenResponse>),
    /// The account asks for a second factor: answer with [`Client::verify_mfa`].
    MfaRequired(MfaChallenge),
}

/// What verifying a mailed code gives.
#[derive(Debug, Clone)]
pub enum CodeSignIn {
    /// A session is open (for a new address, a new account: `api_key` is shown once).
    SignedIn(Box<TokenResponse>),
    /// The account asks for a second factor: answer with [`Client::verify_mfa`].
    MfaRequired(MfaChallenge),
    /// The code is wrong, expired or used up (`invalid_session_code`): a login allows 5 tries,
    /// then mail a new code.
    InvalidCode,
}

/// What answering a second factor gives.
#[derive(Debug, Clone)]
pub enum MfaOutcome {
    SignedIn(Box<TokenResponse>),
    /// The code was wrong; the same challenge takes `attempts_left` more.
    InvalidCode {
        challenge: MfaChallenge,
        attempts_left: u32,
    },
}

/// A login waiting for its second factor.
#[derive(Debug, Clone)]
pub enum MfaChallenge {
    /// After a password or a provider: the `mfa_token` for `POST /api/v1/auth/mfa/verify`.
    Token(String),
    /// After a mailed code: the same login and code are sent again with the second factor.
    Code { login_id: String, code: String },
}

/// `202` of `POST /api/v1/auth/code`: the login to verify.
pub type CodeSent = CodeSentResponse;

impl Client {
    /// Email and password. Neither is stored; the refresh token is.
    pub async fn login(&self, email: &str, password: &str) -> Result<SignIn, Error> {
        let body = LoginRequest {
            email: email.to_owned(),
            password: password.to_owned(),
        };
        match self.sign_in("/api/v1/auth/login", &body).await? {
            Answer::Tokens(t) => Ok(SignIn::SignedIn(t)),
            Answer::Mfa(m) => Ok(SignIn::MfaRequired(MfaChallenge::Token(
                m.mfa_token.unwrap_or_default(),
            ))),
            Answer::WrongMfa(_) => Err(unasked()),
        }
    }

    /// Mails a one-time code (and a magic link) to `email`; keep the answer's `login_id` for
    /// [`Client::login_with_code`].
    pub async fn send_login_code(&self, email: &str) -> Result<CodeSent, Error> {
        let res = self
            .inner
            .http
            .post(self.url("/api/v1/auth/code"))
            .json(&serde_json::json!({"email": email}))
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(api_error(res).await);
        }
        Ok(res.json().await?)
    }

    /// Signs in with the code from the mail (or the magic link's `login_id` and `code`).
    pub async fn login_with_code(&self, login_id: &str, code: &str) -> Result<CodeSignIn, Error> {
        let body = CodeVerifyRequest {
            login_id: login_id.to_owned(),
            session_code: code.to_owned(),
            mfa_code: None,
        };
        match self.sign_in("/api/v1/auth/code/verify", &body).await {
            Ok(Answer::Tokens(t)) => Ok(CodeSignIn::SignedIn(t)),
            Ok(Answer::Mfa(_)) => Ok(CodeSignIn::MfaRequired(MfaChallenge::Code {
                login_id: login_id.to_owned(),
                code: code.to_owned(),
            })),
            Ok(Answer::WrongMfa(_)) => Err(unasked()),
            Err(Error::Api { code, .. }) if code == "invalid_session_code" => {
                Ok(CodeSignIn::InvalidCode)
            }
            Err(e) => Err(e),
        }
    }

    /// The second factor: a current TOTP code or an unused recovery code. A wrong one gives
    /// the challenge back with the tries left; after the last, the login starts over
    /// (`Error::Api` with `invalid_token` or `invalid_session_code`).
    pub async fn verify_mfa(
        &self,
        challenge: &MfaChallenge,
        mfa_code: &str,
    ) -> Result<MfaOutcome, Error> {
        let answer = match challenge {
            MfaChallenge::Token(token) => {
                let body = MfaVerifyRequest {
                    mfa_token: token.clone(),
                    mfa_code: mfa_code.to_owned(),
                };
                self.sign_in("/api/v1/auth/mfa/verify", &body).await
            }
            MfaChallenge::Code { login_id, code } => {
                let body = CodeVerifyRequest {
                    login_id: login_id.clone(),
                    session_code: code.clone(),
                    mfa_code: Some(mfa_code.to_owned()),
                };
                self.sign_in("/api/v1/auth/code/verify", &body).await
            }
        };
        match answer? {
            Answer::Tokens(t) => Ok(MfaOutcome::SignedIn(t)),
            // The server asking again would mean the code never reached it: nothing was spent.
            Answer::Mfa(_) => Err(unasked()),
            Answer::WrongMfa(attempts_left) => Ok(MfaOutcome::InvalidCode {
                challenge: challenge.clone(),
                attempts_left,
            }),
        }
    }

    /// Holds a session obtained elsewhere (a native sign-in, a provider's exchange made by
    /// another part of the app): the refresh token is stored and refreshed like any other.
    pub async fn adopt_tokens(&self, tokens: &TokenResponse) -> Result<(), Error> {
        self.adopt(tokens).await
    }

    /// Mails a password reset link (the same `202` for every valid address).
    pub async fn forgot_password(&self, email: &str) -> Result<(), Error> {
        let body = PasswordForgotRequest {
            email: email.to_owned(),
        };
        self.post_plain("/api/v1/auth/password/forgot", &body, None)
            .await
    }

    /// Sets a new password with the `token` of the reset mail; every session ends, this one
    /// too: sign in again.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<(), Error> {
        let body = PasswordResetRequest {
            token: token.to_owned(),
            new_password: new_password.to_owned(),
            remove_recent_changes: None,
        };
        self.post_plain("/api/v1/auth/password/reset", &body, None)
            .await?;
        self.clear().await
    }

    /// Changes the signed-in user's password.
    pub async fn change_password(
        &self,
        current_password: &str,
        new_password: &str,
    ) -> Result<(), Error> {
        let body = PasswordChangeRequest {
            current_password: current_password.to_owned(),
            new_password: new_password.to_owned(),
            remove_recent_changes: None,
        };
        let token = self.access_token().await?;
        self.post_plain("/api/v1/auth/password/change", &body, Some(&token))
            .await
    }

    /// Ends every session of the user, on every device, and this one here; answers how many
    /// ended at the server.
    pub async fn logout_everywhere(&self) -> Result<u64, Error> {
        let token = self.access_token().await?;
        let res = self
            .inner
            .http
            .post(self.url("/api/v1/auth/logout-all"))
            .bearer_auth(token)
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(api_error(res).await);
        }
        let ended: LogoutAllResponse = res.json().await?;
        self.clear().await?;
        Ok(ended.sessions_revoked)
    }

    /// Posts a sign-in step with this device's token, and adopts the tokens it answers.
    pub(crate) async fn sign_in(&self, path: &str, body: &impl Serialize) -> Result<Answer, Error> {
        let mut request = self.inner.http.post(self.url(path)).json(body);
        if let Some(device) = self.device_token().await? {
            request = request.header("x-device-token", device);
        }
        let res = request.send().await?;
        let status = res.status();
        if !status.is_success() {
            return refused_step(res).await;
        }
        let body: Value = res.json().await?;
        if status == StatusCode::OK && body["status"] == "mfa_required" {
            let mfa: MfaRequiredResponse = serde_json::from_value(body).map_err(decode)?;
            return Ok(Answer::Mfa(mfa));
        }
        let tokens: TokenResponse = serde_json::from_value(body).map_err(decode)?;
        self.adopt(&tokens).await?;
        Ok(Answer::Tokens(Box::new(tokens)))
    }

    async fn post_plain(
        &self,
        path: &str,
        body: &impl Serialize,
        token: Option<&str>,
    ) -> Result<(), Error> {
        let mut request = self.inner.http.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let res = request.send().await?;
        if !res.status().is_success() {
            return Err(api_error(res).await);
        }
        Ok(())
    }
}

/// A sign-in step's answer: tokens, or the second factor it asks for.
pub(crate) enum Answer {
    Tokens(Box<TokenResponse>),
    Mfa(MfaRequiredResponse),
    /// `invalid_mfa_code` with this many tries left.
    WrongMfa(u32),
}

/// An answer the server documents but this client cannot read: a version mismatch.
fn decode(e: serde_json::Error) -> Error {
    Error::Decode(e.to_string())
}

/// A refused sign-in step: a wrong second factor with tries left (`data.attempts_left`) is an
/// answer; anything else is the error.
async fn refused_step(res: reqwest::Response) -> Result<Answer, Error> {
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if body["error"] == "invalid_mfa_code"
        && let Some(n) = body["data"]["attempts_left"].as_u64()
    {
        return Ok(Answer::WrongMfa(u32::try_from(n).unwrap_or(u32::MAX)));
    }
    let text = |k: &str, d: &str| body[k].as_str().unwrap_or(d).to_owned();
    Err(Error::Api {
        status,
        code: text("error", "http_error"),
        message: text("message", "request failed"),
    })
}

/// An answer that does not fit the step asked (a second factor where none was sent).
fn unasked() -> Error {
    Error::Decode("the server answered a step that was not asked".to_owned())
}
