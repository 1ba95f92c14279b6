//! Outgoing mail: SMTP when configured, otherwise (development only) a folder of `.eml` files
//! with the code in the log.

use std::path::{Path, PathBuf};
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// One message: every mail has a text and an HTML part.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// What the development outbox writes to the log (e.g. the code). Never logged by SMTP.
    pub dev_log: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address cannot be written in a message, or the mail server refused it.
    #[error("the mail server refused the address")]
    Rejected,
    /// The mail server could not be reached or failed; worth retrying.
    #[error("mail delivery failed: {0}")]
    Unavailable(String),
}

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// Development: writes each message to `dir` and logs `dev_log`.
    Outbox { dir: PathBuf, from: Mailbox },
}

/// Reply codes that blame the recipient address (RFC 5321 §4.2.3): mailbox unavailable, not
/// local, name not allowed, syntax error in the parameters.
const ADDRESS_REJECTED: &[u16] = &[501, 550, 551, 553];

impl Mailer {
    /// SMTP from a URL such as `smtp://127.0.0.1:2525` or `smtps://user:pass@host:465`.
    pub fn smtp(url: &str, from: &str) -> anyhow::Result<Mailer> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| anyhow::anyhow!("invalid smtp_url: {e}"))?
            .timeout(Some(Duration::from_secs(10)))
            .build();
        Ok(Mailer::Smtp {
            transport,
            from: parse_from(from)?,
        })
    }

    pub fn outbox(dir: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        Ok(Mailer::Outbox {
            dir,
            from: parse_from(from)?,
        })
    }

    pub fn is_smtp(&self) -> bool {
        matches!(self, Mailer::Smtp { .. })
    }

    pub async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let from = match self {
            Mailer::Smtp { from, .. } | Mailer::Outbox { from, .. } => from.clone(),
        };
        let to: Mailbox = mail.to.parse().map_err(|_| MailError::Rejected)?;
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .multipart(MultiPart::alternative_plain_html(mail.text, mail.html))
            .map_err(|e| MailError::Unavailable(format!("building the message: {e}")))?;
        match self {
            Mailer::Smtp { transport, .. } => match transport.send(message).await {
                Ok(_) => Ok(()),
                Err(e)
                    if e.status()
                        .is_some_and(|c| ADDRESS_REJECTED.contains(&c.into())) =>
                {
                    Err(MailError::Rejected)
                }
                Err(e) => Err(MailError::Unavailable(e.to_string())),
            },
            Mailer::Outbox { dir, .. } => {
                let name = format!(
                    "{}-{}.eml",
                    time::OffsetDateTime::now_utc().unix_timestamp(),
                    uuid::Uuid::new_v4().simple()
                );
                write_private(dir, &name, &message.formatted())
                    .await
                    .map_err(|e| MailError::Unavailable(format!("writing the outbox: {e}")))?;
                if let Some(line) = &mail.dev_log {
                    // Development only (no SMTP configured): the start-up warning says so.
                    tracing::warn!(file = %dir.join(&name).display(), "mail written to the outbox: {line}");
                }
                Ok(())
            }
        }
    }
}

/// Writes `name` in `dir`, creating the folders `0700` and the file `0600` (like the database):
/// the outbox holds live reset links and sign-in codes, for the server's user only.
async fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    use tokio::io::AsyncWriteExt;
    let mut folders = tokio::fs::DirBuilder::new();
    folders.recursive(true);
    #[cfg(unix)]
    folders.mode(0o700);
    folders.create(dir).await?;
    let mut open = tokio::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    open.mode(0o600);
    let mut file = open.open(dir.join(name)).await?;
    file.write_all(bytes).await?;
    file.flush().await
}

fn parse_from(from: &str) -> anyhow::Result<Mailbox> {
    from.parse()
        .map_err(|e| anyhow::anyhow!("invalid mail_from {from:?}: {e}"))
}

/// Escapes text for the HTML part.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[tokio::test]
    async fn the_outbox_is_readable_by_the_server_user_only() {
        let root = std::env::temp_dir().join(format!("latchkey-outbox-{}", uuid::Uuid::new_v4()));
        let dir = root.join("mail").join("outbox");
        let mailer = Mailer::outbox(dir.clone(), "Latchkey <noreply@example.com>").unwrap();
        mailer
            .send(Mail {
                to: "ann@example.com".into(),
                subject: "Your code".into(),
                text: "123456".into(),
                html: "<p>123456</p>".into(),
                dev_log: None,
            })
            .await
            .unwrap();
        assert_eq!(mode(&root.join("mail")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert_eq!(mode(&files[0]), 0o600);
        assert!(
            std::fs::read_to_string(&files[0])
                .unwrap()
                .contains("123456")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
