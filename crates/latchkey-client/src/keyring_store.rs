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

    /// Runs a keyring call off the async threads, always on the same one: on Linux a session
    /// keyring the kernel creates on first use belongs to the calling thread's credentials, so
    /// calls spread over a thread pool could each see a different, empty keyring.
    fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(keyring::Entry) -> keyring::Result<T> + Send + 'static,
    ) -> BoxFuture<'_, io::Result<T>> {
        let (service, user) = (self.service.clone(), self.user.clone());
        Box::pin(async move {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let job: Job = Box::new(move || {
                let _ = tx.send(keyring::Entry::new(&service, &user).and_then(f));
            });
            keyring_thread()
                .lock()
                .map_err(|_| io::Error::other("the keyring thread has stopped"))?
                .send(job)
                .map_err(|_| io::Error::other("the keyring thread has stopped"))?;
            rx.await
                .map_err(|_| io::Error::other("the keyring call was dropped"))?
                .map_err(io::Error::other)
        })
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The one thread every keyring call of this process runs on.
fn keyring_thread() -> &'static std::sync::Mutex<std::sync::mpsc::Sender<Job>> {
    static THREAD: std::sync::OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Job>>> =
        std::sync::OnceLock::new();
    THREAD.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("latchkey-keyring".into())
            .spawn(move || {
                for job in rx {
                    job();
                }
            })
            .expect("spawn the keyring thread");
        std::sync::Mutex::new(tx)
    })
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
