//! The web session (`__Host-latchkey`) over plain HTTP, as a browser that keeps cookies sees
//! it: it is an ordinary Latchkey session, it slides while the person is active, it ends after
//! the idle and the absolute limits, and whatever ends a Latchkey session ends it at once.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::api_keys::{access, org_with_member, user_id};
use crate::helpers::tokens::login_ok;
use crate::helpers::{PASSWORD, TestApp, s};
use crate::on_all_setups;

const COOKIE: &str = "__Host-latchkey";
const ACCESS_TTL: Duration = Duration::from_secs(5 * 60);
const IDLE: Duration = Duration::from_secs(30 * 60);
const ABSOLUTE: Duration = Duration::from_secs(2 * 3600);

/// Short limits, so the clock is moved by minutes rather than days.
pub fn limits(c: &mut latchkey_server::Config) {
    c.access_token_ttl = ACCESS_TTL;
    c.web_session_idle = IDLE;
    c.web_session_absolute = ABSOLUTE;
}

/// A browser: it keeps the session cookie, follows no redirects (the tests look at them), and
/// sends forms as a page of this origin does.
struct Browser {
    /// The instance the browser talks to (a load balancer may pick any).
    base: String,
    client: reqwest::Client,
    cookie: Option<String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> Self {
        let client = reqwest::Client::builder()
            .user_agent("latchkey-tests")
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            base: app.base.clone(),
            client,
            cookie: None,
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let req = match &self.cookie {
            Some(v) => req.header("cookie", format!("{COOKIE}={v}")),
            None => req,
        };
        let r = req.send().await.unwrap();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix(&format!("{COOKIE}=")) {
                let value = rest.split(';').next().unwrap_or("");
                let gone = value.is_empty() || v.contains("Max-Age=0");
                self.cookie = (!gone).then(|| value.to_owned());
            }
        }
        let status = r.status();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned());
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.client.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    /// Posts `fields` with the `_csrf` token of the form on `form_page`, as the page would.
    async fn post_form(&mut self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(form_page).await;
        let token = csrf_of(&page.body);
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("_csrf", &token);
        for (k, v) in fields {
            body.append_pair(k, v);
        }
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("sec-fetch-site", "same-origin")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.finish());
        self.send(req).await
    }

    async fn sign_in(&mut self, email: &str) {
        let page = self
            .post_form(
                "/login",
                "/login",
                &[("email", email), ("password", PASSWORD)],
            )
            .await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "sign-in: {}", page.body);
        assert_eq!(page.location.as_deref(), Some("/"));
        assert!(self.cookie.is_some(), "signing in sets {COOKIE}");
    }

    /// `/` shows the account page of `email`.
    async fn assert_signed_in(&mut self, email: &str, what: &str) {
        let page = self.get("/").await;
        assert_eq!(page.status, StatusCode::OK, "{what}: {:?}", page.location);
        assert!(page.body.contains(email), "{what}: the page names {email}");
    }

    /// `/` sends to the sign-in page and the cookie is removed.
    async fn assert_signed_out(&mut self, what: &str) {
        let page = self.get("/").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{what}");
        assert_eq!(page.location.as_deref(), Some("/login"), "{what}");
        assert_eq!(self.cookie, None, "{what}: the cookie is removed");
    }
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"_csrf\" value=\"";
    let start = html.find(marker).expect("the page has a form with _csrf") + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

/// The ids of the live sessions of the account, seen through a fresh API sign-in (which is
/// left out).
async fn other_sessions(app: &TestApp, email: &str) -> BTreeSet<String> {
    all_sessions(app, email).await.0
}

/// The ids of the live sessions of the account but the fresh API sign-in that lists them, and
/// that sign-in's session id.
async fn all_sessions(app: &TestApp, email: &str) -> (BTreeSet<String>, String) {
    let grant = login_ok(app, email).await;
    let r = app
        .get_auth("/api/v1/sessions", &s(&grant, "access_token"))
        .await;
    assert_eq!(r.status(), 200, "GET /sessions");
    let body: Value = r.json().await.unwrap();
    let api = s(&grant, "session_id");
    let others = body["sessions"]
        .as_array()
        .expect("sessions array")
        .iter()
        .map(|x| s(x, "id"))
        .filter(|id| *id != api)
        .collect();
    (others, api)
}

/// Signs `email` in on the web; returns the id of the Latchkey session behind the cookie.
async fn signed_in_browser(app: &TestApp, email: &str) -> (Browser, String) {
    let (mut before, api) = all_sessions(app, email).await;
    before.insert(api);
    let mut browser = Browser::new(app);
    browser.sign_in(email).await;
    browser.assert_signed_in(email, "right after sign-in").await;
    let after = other_sessions(app, email).await;
    let new: Vec<_> = after.difference(&before).cloned().collect();
    assert_eq!(new.len(), 1, "one new session in the list: {after:?}");
    (browser, new[0].clone())
}

async fn signing_in_opens_a_web_session_listed_among_the_accounts_sessions(app: TestApp) {
    app.signup("ann@example.com").await;
    let mut browser = Browser::new(&app);
    browser.assert_signed_out("before sign-in").await;
    let (mut browser, sid) = signed_in_browser(&app, "ann@example.com").await;
    assert!(other_sessions(&app, "ann@example.com").await.contains(&sid));

    // Signing out on the page ends that Latchkey session.
    let page = browser.post_form("/", "/logout", &[]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    browser.assert_signed_out("after sign-out").await;
    assert!(!other_sessions(&app, "ann@example.com").await.contains(&sid));
}
on_all_setups!(
    signing_in_opens_a_web_session_listed_among_the_accounts_sessions,
    crate::web_session::limits
);

async fn the_web_session_slides_while_active_and_ends_after_the_idle_limit(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, sid) = signed_in_browser(&app, "ann@example.com").await;
    let almost = IDLE - Duration::from_secs(60);
    // Three near-idle gaps: well past the idle limit since sign-in, never idle that long.
    for i in 0..3 {
        app.advance(almost);
        browser
            .assert_signed_in("ann@example.com", &format!("active, gap {i}"))
            .await;
    }
    assert!(other_sessions(&app, "ann@example.com").await.contains(&sid));

    app.advance(IDLE + Duration::from_secs(1));
    browser.assert_signed_out("idle past the limit").await;
    assert!(
        !other_sessions(&app, "ann@example.com").await.contains(&sid),
        "the Latchkey session ends with the web session"
    );
}
on_all_setups!(
    the_web_session_slides_while_active_and_ends_after_the_idle_limit,
    crate::web_session::limits
);

async fn the_web_session_ends_at_the_absolute_limit_even_when_active(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, sid) = signed_in_browser(&app, "ann@example.com").await;
    let step = Duration::from_secs(25 * 60);
    let mut elapsed = Duration::ZERO;
    while elapsed + step < ABSOLUTE {
        app.advance(step);
        elapsed += step;
        browser
            .assert_signed_in("ann@example.com", &format!("active at {elapsed:?}"))
            .await;
    }
    app.advance(step);
    browser.assert_signed_out("past the absolute limit").await;
    assert!(!other_sessions(&app, "ann@example.com").await.contains(&sid));
}
on_all_setups!(
    the_web_session_ends_at_the_absolute_limit_even_when_active,
    crate::web_session::limits
);

async fn an_expired_access_token_in_the_cookie_is_renewed_unseen(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, sid) = signed_in_browser(&app, "ann@example.com").await;
    let first = browser.cookie.clone();
    app.advance(ACCESS_TTL + Duration::from_secs(1));
    browser
        .assert_signed_in("ann@example.com", "access token expired")
        .await;
    assert_ne!(browser.cookie, first, "the cookie carries renewed tokens");
    // Again, on the renewed tokens: the rotated refresh token works as well.
    app.advance(ACCESS_TTL + Duration::from_secs(1));
    browser
        .assert_signed_in("ann@example.com", "expired a second time")
        .await;
    assert!(
        other_sessions(&app, "ann@example.com").await.contains(&sid),
        "still the same Latchkey session"
    );
}
on_all_setups!(
    an_expired_access_token_in_the_cookie_is_renewed_unseen,
    crate::web_session::limits
);

async fn disabling_the_account_ends_its_web_session_at_once(app: TestApp) {
    let (admin, member) = org_with_member(&app, "ann@example.com", "bob@example.com").await;
    let (mut browser, _) = signed_in_browser(&app, "bob@example.com").await;
    let r = app
        .send_json_auth(
            Method::PUT,
            &format!("/api/v1/admin/users/{}/disabled", user_id(&member)),
            &access(&admin),
            Some(&json!({"disabled": true})),
        )
        .await;
    assert_eq!(r.status(), 204, "disable");
    browser.assert_signed_out("account disabled").await;
}
on_all_setups!(disabling_the_account_ends_its_web_session_at_once);

async fn a_password_change_elsewhere_ends_the_web_session_at_once(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, _) = signed_in_browser(&app, "ann@example.com").await;
    let api = login_ok(&app, "ann@example.com").await;
    let r = app
        .post_json_auth(
            "/api/v1/auth/password/change",
            &s(&api, "access_token"),
            &json!({"current_password": PASSWORD, "new_password": "a whole new passphrase here"}),
        )
        .await;
    assert_eq!(r.status(), 204, "password change");
    browser
        .assert_signed_out("password changed elsewhere")
        .await;
}
on_all_setups!(a_password_change_elsewhere_ends_the_web_session_at_once);

async fn logout_all_from_the_api_ends_the_web_session_at_once(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, _) = signed_in_browser(&app, "ann@example.com").await;
    // With Redis there may be several instances: the cookie works on another one, and the
    // logout on the first ends it there too.
    let sibling = match app.config.redis_url {
        Some(_) => Some(app.sibling().await),
        None => None,
    };
    if let Some(sibling) = &sibling {
        browser.base = sibling.base.clone();
        browser
            .assert_signed_in("ann@example.com", "on a second instance")
            .await;
    }
    let api = login_ok(&app, "ann@example.com").await;
    let r = app
        .post_auth("/api/v1/auth/logout-all", &s(&api, "access_token"))
        .await;
    assert_eq!(r.status(), 200, "logout-all");
    browser.assert_signed_out("logout-all").await;
}
on_all_setups!(logout_all_from_the_api_ends_the_web_session_at_once);

async fn revoking_the_session_from_the_api_ends_the_web_session_at_once(app: TestApp) {
    app.signup("ann@example.com").await;
    let (mut browser, sid) = signed_in_browser(&app, "ann@example.com").await;
    let api = login_ok(&app, "ann@example.com").await;
    let r = app
        .send_json_auth(
            Method::DELETE,
            &format!("/api/v1/sessions/{sid}"),
            &s(&api, "access_token"),
            None,
        )
        .await;
    assert_eq!(r.status(), 204, "revoke");
    browser.assert_signed_out("session revoked").await;
}
on_all_setups!(revoking_the_session_from_the_api_ends_the_web_session_at_once);
