//! The refresh token in the OS keyring (feature `keyring`). On Linux this is the kernel's
//! keyutils session keyring: nothing on disk, gone when the login session ends.

use std::io;

use crate::store::{BoxFuture, TokenStore};

/// Keeps the refresh token in the OS keyring under `service` and `user`.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
    user: String,
}

impl KeyringStore {
    /// `service` names the application (`"myapp"`), `user` the account on this machine.
    pub fn new(service: &str, user: &str) -> Self {
        Self {
            service: service.to_owned(),
            user: user.to_owned(),
        }
    }

    /// Runs a keyring call off the async threads: keyring calls are blocking system calls.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> BoxFuture<'_, io::Result<T>> {
        let (service, user) = (self.service.clone(), self.user.clone());
        Box::pin(async move {
            tokio::task::spawn_blocking(move || f(keyring::Entry::new(&service, &user)?))
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::other)
        })
    }
}

impl TokenStore for KeyringStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        self.blocking(|entry| match entry.get_password() {
            Ok(token) => Ok(Some(token)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    fn save<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        let token = refresh_token.to_owned();
        self.blocking(move |entry| entry.set_password(&token))
    }

    fn clear(&self) -> BoxFuture<'_, io::Result<()>> {
        self.blocking(|entry| match entry.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Needs a kernel keyring this process may use (containers often forbid `keyctl`).
    #[tokio::test]
    async fn keeps_replaces_and_clears_the_refresh_token() {
        let store = KeyringStore::new("latchkey-client-test", &format!("u{}", std::process::id()));
        assert_eq!(store.load().await.unwrap(), None);
        store.save("lkr_first").await.unwrap();
        assert_eq!(store.load().await.unwrap().as_deref(), Some("lkr_first"));
        store.save("lkr_second").await.unwrap();
        assert_eq!(store.load().await.unwrap().as_deref(), Some("lkr_second"));
        store.clear().await.unwrap();
        assert_eq!(store.load().await.unwrap(), None);
        store.clear().await.unwrap();
    }
}
