//! The page a provider link stops on before anything is linked: it names the Latchkey
//! account and the provider's account, so someone who opened a link URL they were sent sees
//! whose account they would join, and links only by pressing the button.

use super::cache::no_store;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_core::auth::social::PendingLink;
use latchkey_core::mail::html_escape;

pub fn confirmation(p: &PendingLink) -> Response {
    let provider = html_escape(&p.provider);
    let account = html_escape(&p.account_email);
    let identity = html_escape(
        p.identity_email
            .as_deref()
            .unwrap_or("your provider account"),
    );
    let token = html_escape(&p.confirm_token);
    let body = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Link {provider} to your account</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}}button{{font:inherit;padding:.5rem 1rem;margin:0 .5rem .5rem 0}}</style>
</head><body>
<h1>Link {provider}?</h1>
<p>Signing in with <strong>{identity}</strong> at {provider} will from now on sign in to the account <strong>{account}</strong>.</p>
<p>If <strong>{account}</strong> is not your account, press Cancel: someone may have sent you this link to reach your {provider} sign-in.</p>
<form method="post" action="link/confirm">
<input type="hidden" name="confirm" value="{token}">
<button type="submit" name="decision" value="link">Link to {account}</button>
<button type="submit" name="decision" value="cancel">Cancel</button>
</form>
</body></html>
"#
    );
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    no_store(headers);
    // Never inside another site's frame (a hidden button to click), no script at all.
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
