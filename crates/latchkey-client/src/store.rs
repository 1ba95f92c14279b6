//! Where the refresh token is kept between runs. Only the refresh token: the access token lives
//! in memory, and email and password are never stored.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Mutex;

/// A boxed future, so stores can be used as `dyn TokenStore`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A place for the refresh token. Implement it for an OS keyring or any secure storage.
pub trait TokenStore: Send + Sync {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>>;
    fn save<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, io::Result<()>>;
    fn clear(&self) -> BoxFuture<'_, io::Result<()>>;
}

/// Keeps the refresh token for the life of the process.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Option<String>>);

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }
}

impl TokenStore for MemoryStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        let value = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(value) })
    }

    fn save<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(refresh_token.to_owned());
        Box::pin(async { Ok(()) })
    }

    fn clear(&self) -> BoxFuture<'_, io::Result<()>> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Box::pin(async { Ok(()) })
    }
}

/// A file readable by this user only (created `0600`), replaced atomically on every save.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
}

impl FileStore {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore { path: path.into() }
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        Box::pin(async move {
            match tokio::fs::read_to_string(&self.path).await {
                Ok(text) if text.trim().is_empty() => Ok(None),
                Ok(text) => Ok(Some(text.trim().to_owned())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn save<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            use tokio::io::AsyncWriteExt;
            // Written beside the target and renamed over it: a crash never leaves half a token,
            // and the file is never readable by others, not even for a moment.
            let tmp = self.path.with_extension("tmp");
            let mut options = tokio::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            options.mode(0o600);
            let mut file = options.open(&tmp).await?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                // A leftover temporary file keeps its mode on open: narrow it in any case.
                file.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .await?;
            }
            file.write_all(refresh_token.as_bytes()).await?;
            file.sync_all().await?;
            drop(file);
            tokio::fs::rename(&tmp, &self.path).await
        })
    }

    fn clear(&self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(&self.path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}
