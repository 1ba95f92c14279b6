//! Text messages (phone verification codes): a webhook to your SMS gateway, or, for
//! development, files in an outbox folder.

use std::path::PathBuf;

use crate::secret::Secret;

pub enum SmsSender {
    /// Each message as a JSON file `{to, body}` in this folder (created 0700). The log says a
    /// message was written, never its text.
    Outbox(PathBuf),
    /// `POST url` with `{"to": "+1…", "body": "…"}` and `Authorization: Bearer <token>` when
    /// a token is set. Any 2xx is success.
    Webhook {
        url: String,
        token: Option<Secret>,
        http: reqwest::Client,
    },
}

impl SmsSender {
    pub fn webhook(url: String, token: Option<Secret>) -> anyhow::Result<SmsSender> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()?;
        Ok(SmsSender::Webhook { url, token, http })
    }

    pub async fn send(&self, to: &str, body: &str) -> anyhow::Result<()> {
        let message = serde_json::json!({"to": to, "body": body});
        match self {
            SmsSender::Outbox(dir) => {
                let target = dir.clone();
                let name = format!(
                    "{}-{}.json",
                    crate::clock::Clock::system().now_ms(),
                    uuid::Uuid::new_v4().simple()
                );
                let text = message.to_string();
                tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
                    std::fs::create_dir_all(&target)?;
                    restrict(&target)?;
                    std::fs::write(target.join(&name), text)?;
                    Ok(())
                })
                .await??;
                tracing::info!(outbox = %dir.display(), "text message written to the development outbox");
                Ok(())
            }
            SmsSender::Webhook { url, token, http } => {
                let mut req = http.post(url).json(&message);
                if let Some(t) = token {
                    req = req.bearer_auth(t.expose());
                }
                let resp = req.send().await?;
                anyhow::ensure!(
                    resp.status().is_success(),
                    "the SMS webhook answered {}",
                    resp.status()
                );
                Ok(())
            }
        }
    }
}

#[cfg(unix)]
fn restrict(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict(_: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}
