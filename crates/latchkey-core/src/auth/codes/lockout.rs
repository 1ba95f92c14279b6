//! Attempt counters of sign-in: what each guess (a password, a second factor, a mailed code)
//! is charged to, and what only a completed sign-in gives back.
//!
//! Every guess is counted *before* it is evaluated, per client address first (an IPv6 client
//! counts by its /64), then at the account:
//! - from a device that signed in to this account before (it shows its device token), in the
//!   device's own budget only: attackers elsewhere cannot lock the owner's devices out;
//! - otherwise in the budget of this client address at the account *and* in the account's
//!   whole, larger budget: one address gets few guesses, many addresses together a bounded
//!   number, and an attacker from one address does not lock the owner out of others.
//!
//! A right password (or mailed code) whose account asks for a second factor is not a sign-in:
//! it gives nothing back, so fresh challenges cannot reset the budget that bounds guesses of
//! the second factor. A completed sign-in clears the client's own budget at the account and
//! gives its steps back to the address and the account; a password reset clears the account.

use std::net::IpAddr;
use std::time::Duration;

use crate::auth::{Auth, ClientInfo};
use crate::error::AuthResult;
use crate::secret::{Secret, ct_eq, hmac_b64, random_token};

/// Device tokens start with this; `lkd_<device id>.<expiry, s>.<mac>`.
pub const DEVICE_TOKEN_PREFIX: &str = "lkd_";
/// How long a device stays known without signing in again (each sign-in renews it).
pub const DEVICE_TOKEN_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// The per-address bucket of a client: an IPv6 client counts by its /64, the usual share of
/// one subscriber, so a host cannot make a fresh bucket per address; an IPv4-mapped address
/// counts as its IPv4 one. Every per-IP limit keys by this.
pub fn ip_bucket(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

impl ClientInfo {
    /// This client's per-IP bucket (`ip_bucket`), if the address is known.
    pub fn ip_bucket(&self) -> Option<String> {
        self.ip.as_deref().map(ip_bucket)
    }
}

/// Who a guess is aimed at.
#[derive(Clone, Copy)]
pub(in crate::auth) enum Target<'a> {
    /// An existing account, by user id.
    Account(&'a str),
    /// An address no account has (a code sign-up): counted like an account, but its counter
    /// may give way to make room, as it names nothing that exists.
    Address(&'a str),
}

/// The counters one attempt was charged to.
#[derive(Default)]
pub(in crate::auth) struct Charge {
    ip: Option<String>,
    /// The account's whole budget.
    whole: Option<String>,
    /// The client's own budget at the account (its device's, or its address's).
    own: Option<String>,
}

fn account_key(user_id: &str) -> String {
    format!("login:acct:{user_id}")
}

impl Auth {
    /// Charges the client's address: first, before anything is looked up, so made-up
    /// addresses and ids leave no other counter behind.
    pub(in crate::auth) async fn charge_ip(&self, client: &ClientInfo) -> AuthResult<Charge> {
        let mut charge = Charge::default();
        if let Some(bucket) = client.ip_bucket() {
            let key = format!("login:ip:{bucket}");
            if self
                .take_attempt(&key, self.settings.login_limit_per_ip)
                .await?
            {
                charge.ip = Some(key);
            }
        }
        Ok(charge)
    }

    /// Charges the target: a known device's own budget, or this address's budget at the
    /// account and the account's whole one. A refusal gives back what this attempt took.
    pub(in crate::auth) async fn charge_target(
        &self,
        mut charge: Charge,
        target: Target<'_>,
        client: &ClientInfo,
    ) -> AuthResult<Charge> {
        let taken = self.take_target(&mut charge, target, client).await;
        if let Err(e) = taken {
            self.give_back(&charge).await?;
            return Err(e);
        }
        Ok(charge)
    }

    async fn take_target(
        &self,
        charge: &mut Charge,
        target: Target<'_>,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let per_client = self.settings.login_limit_per_account_ip;
        let (subject, lock) = match target {
            Target::Account(user_id) => (account_key(user_id), true),
            Target::Address(normalized) => (format!("login:addr:{normalized}"), false),
        };
        if let Target::Account(user_id) = target
            && let Some(device) = self.known_device(user_id, client)
        {
            let key = format!("{subject}:dev:{device}");
            if self.take_attempt(&key, per_client).await? {
                charge.own = Some(key);
            }
            return Ok(());
        }
        if let Some(bucket) = client.ip_bucket() {
            let key = format!("{subject}:ip:{bucket}");
            if self.take_attempt(&key, per_client).await? {
                charge.own = Some(key);
            }
        }
        let limit = self.settings.login_limit_per_account;
        let whole = if lock {
            self.take_lock_attempt(&subject, limit).await?
        } else {
            self.take_attempt(&subject, limit).await?
        };
        if whole {
            charge.whole = Some(subject);
        }
        Ok(())
    }

    /// A refused or aborted attempt: it counts against nothing.
    pub(in crate::auth) async fn give_back(&self, charge: &Charge) -> AuthResult<()> {
        for key in [&charge.ip, &charge.whole, &charge.own]
            .into_iter()
            .flatten()
        {
            self.state.give_back(key).await?;
        }
        Ok(())
    }

    /// A completed sign-in (every factor right) of `steps` counted requests: the client's own
    /// budget at the account starts afresh, and its steps are given back to the address and
    /// the account. Other clients' failures stay counted.
    pub(in crate::auth) async fn relieve(&self, charge: &Charge, steps: u32) -> AuthResult<()> {
        if let Some(own) = &charge.own {
            self.state.reset(own).await?;
        }
        for key in [&charge.ip, &charge.whole].into_iter().flatten() {
            for _ in 0..steps {
                self.state.give_back(key).await?;
            }
        }
        Ok(())
    }

    /// After a password reset: the account's lock ends (whoever reset it holds the mailbox),
    /// with the resetting client's own budget at it.
    pub(in crate::auth) async fn clear_lock(
        &self,
        user_id: &str,
        client: &ClientInfo,
    ) -> AuthResult<()> {
        let subject = account_key(user_id);
        self.state.reset(&subject).await?;
        if let Some(bucket) = client.ip_bucket() {
            self.state.reset(&format!("{subject}:ip:{bucket}")).await?;
        }
        if let Some(device) = self.known_device(user_id, client) {
            self.state.reset(&format!("{subject}:dev:{device}")).await?;
        }
        Ok(())
    }

    /// Counts one attempt against `limit`; whether it was counted (a limit of 0 is off: it
    /// counts nothing and refuses nothing, rather than refusing everything).
    pub(in crate::auth) async fn take_attempt(&self, key: &str, limit: u32) -> AuthResult<bool> {
        if limit == 0 {
            return Ok(false);
        }
        match self
            .state
            .take(key, limit, self.settings.login_limit_window)
            .await?
        {
            Ok(()) => Ok(true),
            Err(crate::state::RetryAfter(retry_after)) => {
                Err(crate::error::AuthError::RateLimited { retry_after })
            }
        }
    }

    /// As `take_attempt`, for a counter the in-process store must keep until it expires.
    pub(in crate::auth) async fn take_lock_attempt(
        &self,
        key: &str,
        limit: u32,
    ) -> AuthResult<bool> {
        if limit == 0 {
            return Ok(false);
        }
        match self
            .state
            .take_lock(key, limit, self.settings.login_limit_window)
            .await?
        {
            Ok(()) => Ok(true),
            Err(crate::state::RetryAfter(retry_after)) => {
                Err(crate::error::AuthError::RateLimited { retry_after })
            }
        }
    }

    /// A device token for `user_id`: the device's id is kept when the client showed a valid
    /// one, so its budget follows it. Signed, not stored: it proves only that this client
    /// signed in to this account before, and grants nothing but a budget of its own.
    pub(in crate::auth) fn device_token(&self, user_id: &str, client: &ClientInfo) -> Secret {
        let device = self
            .known_device(user_id, client)
            .unwrap_or_else(random_token::<16>);
        let expires = self.clock.now_secs() + DEVICE_TOKEN_TTL.as_secs() as i64;
        let mac = self.device_mac(user_id, &device, expires);
        Secret::new(format!("{DEVICE_TOKEN_PREFIX}{device}.{expires}.{mac}"))
    }

    /// The device id of the client's device token, when it is one this server signed for this
    /// account and it has not expired.
    fn known_device(&self, user_id: &str, client: &ClientInfo) -> Option<String> {
        let token = client
            .device
            .as_ref()?
            .expose()
            .strip_prefix(DEVICE_TOKEN_PREFIX)?;
        let mut parts = token.splitn(3, '.');
        let (device, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
        let expires: i64 = expires.parse().ok()?;
        let well_formed = !device.is_empty()
            && device.len() <= 64
            && device
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed || expires <= self.clock.now_secs() {
            return None;
        }
        // Constant time: the MAC is the whole secret of the token.
        let expected = self.device_mac(user_id, device, expires);
        ct_eq(expected.as_bytes(), mac.as_bytes()).then(|| device.to_owned())
    }

    fn device_mac(&self, user_id: &str, device: &str, expires: i64) -> String {
        hmac_b64(
            &self.code_key,
            format!("device:{user_id}:{device}:{expires}").as_bytes(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ip_bucket;

    #[test]
    fn ipv6_clients_count_by_their_64() {
        for (ip, bucket) in [
            ("203.0.113.9", "203.0.113.9"),
            ("2001:db8:cafe:1::17", "2001:db8:cafe:1::/64"),
            (
                "2001:db8:cafe:1:ffff:ffff:ffff:ffff",
                "2001:db8:cafe:1::/64",
            ),
            ("2001:db8:cafe:2::17", "2001:db8:cafe:2::/64"),
            ("::ffff:198.51.100.4", "198.51.100.4"),
            ("::1", "0:0:0:0::/64"),
        ] {
            assert_eq!(ip_bucket(ip), bucket, "{ip}");
        }
    }
}
