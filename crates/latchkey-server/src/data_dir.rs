//! The embedded database's directory: it holds the signing keys and server secrets (sealed
//! only when a master key is set), so only the server's own user may read it. The directory
//! is 0700 and the database files 0600; a directory or file found more open than that is
//! restricted, with a warning, because it may have been copied already.

use std::path::{Path, PathBuf};

/// The SQLite database file inside the data directory.
pub const DB_FILE: &str = "latchkey.db";

/// Creates the data directory (0700) and an empty database file (0600) before SQLite opens
/// it: SQLite would create the file with the process umask (usually 0644), and it gives its
/// `-wal` and `-shm` files the database file's mode.
pub fn prepare(dir: &Path) -> anyhow::Result<()> {
    create_private_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot create data dir {}: {e}", dir.display()))?;
    if is_shared(dir) {
        // A sticky directory such as /tmp belongs to everyone: closing it would break the
        // machine, so only the database files are restricted.
        tracing::warn!(
            path = %dir.display(),
            "the data dir is a shared directory; use a dedicated one"
        );
    } else {
        restrict(dir, 0o700)?;
    }
    let db = dir.join(DB_FILE);
    create_private_file(&db).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", db.display()))?;
    restrict_files(dir)
}

/// Restricts the database file and SQLite's companions to 0600. Run again once the database
/// is open, for companions left from an earlier, more open setup.
pub fn restrict_files(dir: &Path) -> anyhow::Result<()> {
    for file in db_files(dir) {
        if file.exists() {
            restrict(&file, 0o600)?;
        }
    }
    Ok(())
}

fn db_files(dir: &Path) -> [PathBuf; 4] {
    ["", "-wal", "-shm", "-journal"].map(|suffix| dir.join(format!("{DB_FILE}{suffix}")))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn is_shared(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(dir).is_ok_and(|m| m.permissions().mode() & 0o1000 != 0)
}

#[cfg(not(unix))]
fn is_shared(_dir: &Path) -> bool {
    false
}

/// Takes group and other permissions away from `path` if it has any.
#[cfg(unix)]
fn restrict(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{current:o}"),
            "readable by other users; restricting to {mode:o}"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| anyhow::anyhow!("cannot restrict {}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}
