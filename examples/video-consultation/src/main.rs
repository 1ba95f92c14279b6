//! `AUTH_URL=https://auth.example.com BIND=127.0.0.1:3000 video-consultation`

use latchkey_guard::{Guard, GuardConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let issuer = std::env::var("AUTH_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".into());
    let bind = std::env::var("BIND").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let guard = Guard::new(GuardConfig::for_issuer(&issuer));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    eprintln!("video-consultation on http://{bind}, tokens from {issuer}");
    axum::serve(listener, video_consultation::app(guard)).await?;
    Ok(())
}
