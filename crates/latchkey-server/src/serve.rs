//! The HTTP/1.1 server loop: accept, serve each connection with hyper under our timeouts, and a
//! shutdown that is graceful but bounded.
//!
//! axum's own `serve` has no header-read timeout and waits for every connection at shutdown, so a
//! client that sends half a request head could hold a connection, and the process, forever.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::shaped_io::ShapedIo;

/// Most header lines a request may carry. hyper refuses more itself; `ShapedIo` puts that
/// refusal in the error shape.
pub const MAX_HEADERS: usize = 100;

/// How the connections are served.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The whole request head must arrive within this; hyper also applies it while a keep-alive
    /// connection waits for its next request, so it is the idle timeout too.
    pub header_read_timeout: Duration,
    /// After the shutdown signal, how long connections may finish what they are doing.
    pub shutdown_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, lets requests
/// in flight finish for up to `limits.shutdown_timeout`, and closes whatever is left.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_headers(MAX_HEADERS)
        // One write per response head, so `ShapedIo` sees hyper's own error heads whole.
        .writev(false);
    // hyper-util's `GracefulShutdown` cannot watch a connection that may upgrade (WebSockets),
    // so each connection watches this signal itself.
    let (stopping, stop) = tokio::sync::watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: keep serving the connections we
                        // have instead of spinning on accept.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let router = router.clone();
                let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
                    req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                    router.clone().oneshot(req)
                });
                let io = TokioIo::new(ShapedIo::new(stream, peer));
                let connection = http.serve_connection(io, service).with_upgrades();
                let mut stop = stop.clone();
                connections.spawn(async move {
                    tokio::pin!(connection);
                    let result = tokio::select! {
                        result = connection.as_mut() => result,
                        () = stopped(&mut stop) => {
                            connection.as_mut().graceful_shutdown();
                            connection.await
                        }
                    };
                    if let Err(e) = result {
                        tracing::debug!(error = %e, %peer, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    stopping.send_replace(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(limits.shutdown_timeout, drained)
        .await
        .is_err()
    {
        tracing::warn!(
            connections = connections.len(),
            timeout = ?limits.shutdown_timeout,
            "closing connections still open at the end of the shutdown timeout"
        );
    }
    connections.shutdown().await;
    Ok(())
}

/// Resolves once `signal` is set (or its sender is gone).
pub async fn stopped(signal: &mut tokio::sync::watch::Receiver<bool>) {
    // The guard `wait_for` returns is not `Send`: dropped here, not held by the caller.
    let _ = signal.wait_for(|s| *s).await;
}
