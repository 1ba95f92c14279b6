//! A real `latchkey serve` process (SQLite unless told otherwise), with standard output and
//! standard error in separate files, for what only a process shows: signals, exit, its logs,
//! and several instances over one database and Redis (`instances.rs`). The one spawner of the
//! binary in these tests.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use crate::helpers::eventually::{eventually, poll_until};
use crate::helpers::raw_http::PATIENCE;
use crate::helpers::temp_dir;

pub struct Proc {
    child: Child,
    pub base: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts the binary with `env` on top of test settings and waits until it is healthy.
    pub async fn start(env: &[(&str, &str)]) -> Proc {
        let mut proc = Proc::spawn(env);
        proc.wait_healthy().await;
        proc
    }

    /// Starts the binary with `env` on top of test settings (nothing inherited from the test's
    /// environment), without waiting for it: for a process expected to refuse to start.
    pub fn spawn(env: &[(&str, &str)]) -> Proc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = temp_dir();
        let (stdout, stderr) = (dir.join("stdout.log"), dir.join("stderr.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        cmd.arg("serve");
        for (name, _) in std::env::vars() {
            if name.starts_with("LATCHKEY_") || name == "RUST_LOG" {
                cmd.env_remove(name);
            }
        }
        cmd.env("LATCHKEY_BIND", format!("127.0.0.1:{port}"))
            .env("LATCHKEY_DATA_DIR", &dir)
            .env("LATCHKEY_ARGON2_MEMORY_KIB", "4096")
            .env("LATCHKEY_ARGON2_ITERATIONS", "1")
            .env("LATCHKEY_ISSUER", "http://latchkey.test");
        for (name, value) in env {
            cmd.env(name, value);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).unwrap())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .expect("start latchkey serve");
        Proc {
            child,
            base: format!("http://127.0.0.1:{port}"),
            stdout,
            stderr,
        }
    }

    async fn wait_healthy(&mut self) {
        let client = reqwest::Client::new();
        let (url, stderr) = (self.url("/healthz"), self.stderr.clone());
        let stderr = move || std::fs::read_to_string(&stderr).unwrap_or_default();
        eventually(Duration::from_secs(20), || {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("latchkey exited ({status}):\n{}", stderr());
            }
            let r = client.get(&url).send();
            async {
                match r.await.is_ok_and(|r| r.status() == 200) {
                    true => Ok(()),
                    false => Err(format!("not healthy:\n{}", stderr())),
                }
            }
        })
        .await
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// The exit status, or `None` if the process is still running after `PATIENCE`.
    pub async fn exit_status(&mut self) -> Option<ExitStatus> {
        poll_until(Duration::from_millis(50), PATIENCE, || {
            let status = self.child.try_wait().unwrap();
            async move { status.ok_or_else(|| "still running".to_owned()) }
        })
        .await
        .ok()
    }

    /// Waits (up to `PATIENCE`) until standard error contains `needle`.
    pub async fn stderr_shows(&self, needle: &str) -> bool {
        poll_until(Duration::from_millis(50), PATIENCE, || async {
            match self.stderr().contains(needle) {
                true => Ok(()),
                false => Err(format!("no {needle:?} on standard error")),
            }
        })
        .await
        .is_ok()
    }
}
