//! A real SMTP server on loopback for the tests (`aiosmtpd`, started per test), and reading
//! what it received.

use crate::helpers::eventually::eventually;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_sink.py");

pub struct SmtpSink {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    /// Messages `wait_for` already handed out.
    seen: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

/// One received message: its recipient and raw text.
#[derive(Debug, Clone)]
pub struct Received {
    pub to: String,
    pub raw: String,
}

impl SmtpSink {
    /// `None` (test skipped) when Python's `aiosmtpd` is missing outside CI; `scripts/test`
    /// installs it.
    pub fn start() -> Option<SmtpSink> {
        Self::start_on(None)
    }

    /// `start`, listening on `port` when given (a mail server coming back).
    pub fn start_on(port: Option<u16>) -> Option<SmtpSink> {
        let present = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "python3 with aiosmtpd is required under CI=true (scripts/test installs it)"
            );
            eprintln!("skipping: python3 -m pip install aiosmtpd to run the mail tests");
            return None;
        }
        let dir = crate::helpers::temp_dir();
        let port = port.unwrap_or_else(|| {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        });
        let mut child = Command::new("python3")
            .arg(SCRIPT)
            .arg(port.to_string())
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("SMTP sink output");
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        Some(SmtpSink {
            port,
            dir,
            child,
            seen: Default::default(),
        })
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// A slow mail server: from now on every message waits (after its recipient was
    /// accepted) until `resume`.
    pub fn pause(&self) {
        std::fs::write(self.dir.join(".paused"), b"").unwrap();
    }

    pub fn resume(&self) {
        std::fs::remove_file(self.dir.join(".paused")).unwrap();
    }

    /// Every message received so far, oldest first.
    pub fn all(&self) -> Vec<Received> {
        self.named().into_iter().map(|(_, m)| m).collect()
    }

    fn named(&self) -> Vec<(String, Received)> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".eml") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let raw = std::fs::read_to_string(self.dir.join(&n)).unwrap();
                let to = raw
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("X-Rcpt-To: "))
                    .unwrap_or_default()
                    .to_owned();
                (n, Received { to, raw })
            })
            .collect()
    }

    pub fn to(&self, address: &str) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|m| m.to.eq_ignore_ascii_case(address))
            .collect()
    }

    /// The newest message to `address` with this subject that no earlier call handed out,
    /// waiting up to 10 s for it (queued mail arrives after the answer); it and every older
    /// one like it count as handed out.
    pub async fn wait_for(&self, address: &str, subject: &str) -> Received {
        let header = format!("Subject: {subject}");
        eventually(Duration::from_secs(10), || async {
            let fresh: Vec<(String, Received)> = {
                let seen = self.seen.lock().unwrap();
                self.named()
                    .into_iter()
                    .filter(|(n, m)| {
                        m.to.eq_ignore_ascii_case(address)
                            && m.raw.contains(&header)
                            && !seen.contains(n)
                    })
                    .collect()
            };
            let Some((_, newest)) = fresh.last() else {
                return Err(format!("no new mail {subject:?} to {address}"));
            };
            let mut seen = self.seen.lock().unwrap();
            seen.extend(fresh.iter().map(|(n, _)| n.clone()));
            Ok(newest.clone())
        })
        .await
    }

    /// The next sign-in code mail to `address` (see `wait_for`).
    pub async fn code_to(&self, address: &str) -> Received {
        self.wait_for(address, "Your sign-in code").await
    }

    /// The next password-reset mail to `address` (see `wait_for`).
    pub async fn reset_to(&self, address: &str) -> Received {
        self.wait_for(address, "Reset your password").await
    }

    /// The first message to `address` that `wanted` accepts, waiting up to 10 s for it; the
    /// failure says `missing`.
    pub async fn first_to(
        &self,
        address: &str,
        missing: &str,
        wanted: impl Fn(&Received) -> bool,
    ) -> Received {
        eventually(Duration::from_secs(10), || async {
            let found = self.to(address).into_iter().find(|m| wanted(m));
            found.ok_or_else(|| missing.to_owned())
        })
        .await
    }

    /// The newest message to `address` that is not a security notice (those are sent in the
    /// background and may arrive after a later mail), waiting up to 10 s for it to arrive.
    pub async fn last_to(&self, address: &str) -> Received {
        eventually(Duration::from_secs(10), || async {
            let mut mails = self.to(address);
            mails.retain(|m| !m.raw.contains("Subject: Security notice"));
            mails.pop().ok_or_else(|| format!("no mail to {address}"))
        })
        .await
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Received {
    /// The message with quoted-printable undone (soft line breaks, `=XX`), which is enough to
    /// read codes and links out of either part.
    pub fn text(&self) -> String {
        let raw = self.raw.replace("=\r\n", "").replace("=\n", "");
        let bytes = raw.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match (bytes[i], hex) {
                (b'=', Some(b)) => {
                    out.push(b);
                    i += 3;
                }
                (c, _) => {
                    out.push(c);
                    i += 1;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// The six-digit code after `marker` (e.g. "sign-in code is ").
    pub fn code_after(&self, marker: &str) -> String {
        let text = self.text();
        let at = text
            .find(marker)
            .unwrap_or_else(|| panic!("no {marker:?} in {text}"));
        let code: String = text[at + marker.len()..].chars().take(6).collect();
        assert!(code.chars().all(|c| c.is_ascii_digit()), "code {code:?}");
        code
    }

    /// The value of `name=` in the first link that carries it.
    pub fn link_param(&self, name: &str) -> String {
        let marker = format!("{name}=");
        let text = self.text();
        let at = text
            .find(&marker)
            .unwrap_or_else(|| panic!("no {marker} in {text}"));
        text[at + marker.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect()
    }
}
