//! Mail that must not hold up the answer: sign-in codes and reset links. The request only
//! queues the job, whether or not the address has an account, so the answer takes the same
//! time for both (a known address used to wait for the mail server, which told it apart);
//! workers here look the account up and send.
//!
//! The queue lives in this process (bounded, a few sends at a time). Mail carries codes and
//! links, which must not be stored in the clear, so there is no database outbox: at shutdown
//! the server waits for the queue to empty (`Auth::mail_idle`), and a crash loses what was
//! queued (the user asks again).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc};

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};
use crate::mail::{Mail, MailError, Mailer};
use crate::store::Db;

/// Jobs waiting beyond this make the request wait for room (the per-IP and per-address
/// limits keep a single client far below it).
pub const QUEUE_CAPACITY: usize = 1024;
/// Sends in flight at once: one slow mail server must not stall every other mail.
const SENDERS: usize = 4;
/// Pauses before the second and third try when the mail server is unavailable.
const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(2), Duration::from_secs(10)];

pub(in crate::auth) enum Outgoing {
    /// A sign-in code typed as `email_normalized`: sent to the stored address of the account
    /// it names (never as typed: a look-alike that normalizes to it is not the owner's
    /// mailbox), or as typed when there is no account and a code may sign it up.
    LoginCode {
        mail: Mail,
        email_normalized: String,
        may_sign_up: bool,
    },
    /// A reset link: only for an enabled account, to its stored address. The link's hash is
    /// stored before the mail goes, so the link works when it arrives.
    Reset {
        mail: Mail,
        token_hash: String,
        email_normalized: String,
        expires_in_ms: i64,
    },
}

impl Outgoing {
    fn kind(&self) -> &'static str {
        match self {
            Outgoing::LoginCode { .. } => "login_code",
            Outgoing::Reset { .. } => "password_reset",
        }
    }
}

/// Jobs queued or being sent, and a wake-up for whoever waits for none.
#[derive(Default)]
struct Pending {
    n: AtomicUsize,
    idle: Notify,
}

impl Pending {
    fn done(&self) {
        if self.n.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.idle.notify_waiters();
        }
    }
}

pub(in crate::auth) struct MailQueue {
    tx: mpsc::Sender<Outgoing>,
    pending: Arc<Pending>,
}

struct Worker {
    db: Db,
    clock: Clock,
    mailer: Mailer,
}

impl MailQueue {
    /// Starts the workers on the current runtime.
    pub(in crate::auth) fn start(db: Db, clock: Clock, mailer: Mailer) -> MailQueue {
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let pending = Arc::new(Pending::default());
        let worker = Arc::new(Worker { db, clock, mailer });
        tokio::spawn(run(rx, worker, pending.clone()));
        MailQueue { tx, pending }
    }

    pub(in crate::auth) async fn push(&self, job: Outgoing) {
        self.pending.n.fetch_add(1, Ordering::AcqRel);
        let job = match self.tx.try_send(job) {
            Ok(()) => return,
            Err(mpsc::error::TrySendError::Full(job)) => {
                tracing::warn!("the mail queue is full: the request waits for room");
                job
            }
            Err(mpsc::error::TrySendError::Closed(job)) => job,
        };
        if self.tx.send(job).await.is_err() {
            // Only when the runtime is going away.
            self.pending.done();
            tracing::error!("mail not queued: the mail workers have stopped");
        }
    }

    /// Waits until every queued mail was sent or given up, for at most `timeout`; whether
    /// the queue emptied.
    pub(in crate::auth) async fn idle(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let notified = self.pending.idle.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.pending.n.load(Ordering::Acquire) == 0 {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }
}

impl crate::auth::Auth {
    /// Queues a mail that must not hold up the answer.
    pub(in crate::auth) async fn queue_mail(&self, job: Outgoing) -> AuthResult<()> {
        let queue = self
            .outgoing
            .as_ref()
            .ok_or_else(|| AuthError::Unexpected(anyhow::anyhow!("no mailer configured")))?;
        queue.push(job).await;
        Ok(())
    }

    /// Sends a mail now, for flows whose answer may wait for it.
    pub(in crate::auth) async fn mail(&self, mail: Mail) -> AuthResult<()> {
        let mailer = self
            .mailer
            .as_ref()
            .ok_or_else(|| AuthError::Unexpected(anyhow::anyhow!("no mailer configured")))?;
        mailer.send(mail).await.map_err(mail_error)
    }
}

fn mail_error(e: MailError) -> AuthError {
    match e {
        MailError::Rejected => AuthError::InvalidEmail,
        MailError::Unavailable(why) => {
            AuthError::Unavailable(anyhow::anyhow!("mail server: {why}"))
        }
    }
}

async fn run(mut rx: mpsc::Receiver<Outgoing>, worker: Arc<Worker>, pending: Arc<Pending>) {
    let senders = Arc::new(Semaphore::new(SENDERS));
    while let Some(job) = rx.recv().await {
        let Ok(permit) = senders.clone().acquire_owned().await else {
            return;
        };
        let (worker, pending) = (worker.clone(), pending.clone());
        tokio::spawn(async move {
            let kind = job.kind();
            if let Err(e) = worker.deliver(job).await {
                metrics::counter!("latchkey_mail_failures_total", "kind" => kind).increment(1);
                // The error names the cause, never the code or the link.
                tracing::warn!(
                    mail = kind,
                    error = format!("{e:#}"),
                    "queued mail not sent"
                );
            }
            drop(permit);
            pending.done();
        });
    }
}

impl Worker {
    async fn deliver(&self, job: Outgoing) -> anyhow::Result<()> {
        match job {
            Outgoing::LoginCode {
                mut mail,
                email_normalized,
                may_sign_up,
            } => {
                match self.db.user_by_email(&email_normalized).await? {
                    Some(row) => mail.to = row.user.email,
                    None if may_sign_up => {}
                    None => return Ok(()),
                }
                self.send(mail).await
            }
            Outgoing::Reset {
                mut mail,
                token_hash,
                email_normalized,
                expires_in_ms,
            } => {
                let Some(row) = self.db.user_by_email(&email_normalized).await? else {
                    return Ok(());
                };
                if row.user.disabled {
                    return Ok(());
                }
                let now = self.clock.now_ms();
                self.db
                    .insert_password_reset(&token_hash, &row.user.id, now, now + expires_in_ms)
                    .await?;
                mail.to = row.user.email;
                self.send(mail)
                    .await
                    .map_err(|e| e.context(format!("user {}", row.user.id)))
            }
        }
    }

    /// Tries again while the mail server is unavailable; a refused address is final.
    async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        let mut pauses = RETRY_AFTER.iter();
        loop {
            match self.mailer.send(mail.clone()).await {
                Ok(()) => return Ok(()),
                Err(MailError::Rejected) => anyhow::bail!("the mail server refused the address"),
                Err(MailError::Unavailable(why)) => match pauses.next() {
                    Some(pause) => tokio::time::sleep(*pause).await,
                    None => anyhow::bail!("mail server unavailable: {why}"),
                },
            }
        }
    }
}
