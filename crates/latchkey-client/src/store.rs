//! Where the refresh token is kept between runs, with the device token of the last sign-in.
//! The access token lives in memory, and email and password are never stored.

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
    /// Forgets the refresh token (the device token stays: it outlives sessions).
    fn clear(&self) -> BoxFuture<'_, io::Result<()>>;

    /// The device token of this client's last sign-in, sent as `X-Device-Token` at the next
    /// one. A store that keeps none makes this client count like any unknown device.
    fn load_device(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        Box::pin(async { Ok(None) })
    }

    fn save_device<'a>(&'a self, device_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        let _ = device_token;
        Box::pin(async { Ok(()) })
    }
}

/// Keeps the refresh token for the life of the process.
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<Option<String>>, Mutex<Option<String>>);

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

    fn load_device(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        let value = self.1.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(value) })
    }

    fn save_device<'a>(&'a self, device_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        *self.1.lock().unwrap_or_else(|e| e.into_inner()) = Some(device_token.to_owned());
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

impl FileStore {
    /// The device token's file: beside the session file, `<name>.device`.
    fn device_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_os_string();
        name.push(".device");
        self.path.with_file_name(name)
    }
}

impl TokenStore for FileStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        Box::pin(read(&self.path))
    }

    fn save<'a>(&'a self, refresh_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(write_private(&self.path, refresh_token))
    }

    fn clear(&self) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            match tokio::fs::remove_file(&self.path).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }

    fn load_device(&self) -> BoxFuture<'_, io::Result<Option<String>>> {
        Box::pin(async move { read(&self.device_path()).await })
    }

    fn save_device<'a>(&'a self, device_token: &'a str) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move { write_private(&self.device_path(), device_token).await })
    }
}

async fn read(path: &std::path::Path) -> io::Result<Option<String>> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) if text.trim().is_empty() => Ok(None),
        Ok(text) => Ok(Some(text.trim().to_owned())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn write_private(path: &std::path::Path, text: &str) -> io::Result<()> {
    use tokio::io::AsyncWriteExt;
    // Written beside the target and renamed over it: a crash never leaves half a token,
    // and the file is never readable by others, not even for a moment.
    let mut tmp = path.as_os_str().to_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
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
    file.write_all(text.as_bytes()).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, path).await
}
