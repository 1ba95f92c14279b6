//! Password hashing and policy.
//!
//! Argon2id runs on a small pool of dedicated threads (one per core) at a lower scheduling
//! priority: a burst of logins then takes the CPU the token checks leave over instead of starving
//! them, which keeps `/me` latency flat while logins saturate the cores.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::{Semaphore, oneshot};

use crate::error::{AuthError, AuthResult};
use crate::secret::Secret;

/// Argon2id cost. Defaults are OWASP's minimum for argon2id (m=19 MiB, t=2, p=1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashCost {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for HashCost {
    fn default() -> Self {
        HashCost {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashes and verifies passwords off the async runtime.
pub struct PasswordHasher {
    jobs: Mutex<mpsc::Sender<Job>>,
    /// Bounds queued work: past it callers wait (async) instead of piling up memory.
    queue: Arc<Semaphore>,
    argon: Argon2<'static>,
    /// Verified for unknown emails so a miss costs as much as a wrong password.
    dummy_hash: String,
}

const QUEUE_LIMIT: usize = 1024;

impl PasswordHasher {
    pub fn new(cost: HashCost, threads: usize) -> anyhow::Result<Arc<Self>> {
        let params = Params::new(cost.memory_kib, cost.iterations, cost.parallelism, None)
            .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || {
                    lower_thread_priority();
                    loop {
                        let job = match rx.lock() {
                            Ok(guard) => guard.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // hasher dropped
                        }
                    }
                })?;
        }
        let dummy_hash = hash_with(&argon, &crate::secret::random_token::<16>())?;
        Ok(Arc::new(PasswordHasher {
            jobs: Mutex::new(tx),
            queue: Arc::new(Semaphore::new(QUEUE_LIMIT)),
            argon,
            dummy_hash,
        }))
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Argon2<'static>) -> T + Send + 'static,
    ) -> AuthResult<T> {
        let permit = self
            .queue
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AuthError::Busy)?;
        let (tx, rx) = oneshot::channel();
        let argon = self.argon.clone();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = tx.send(f(&argon));
        });
        self.jobs
            .lock()
            .map_err(|_| anyhow::anyhow!("hasher lock poisoned"))?
            .send(job)
            .map_err(|_| anyhow::anyhow!("hasher threads are gone"))?;
        rx.await
            .map_err(|_| AuthError::Unexpected(anyhow::anyhow!("hash job dropped")))
    }

    pub async fn hash(&self, password: &Secret) -> AuthResult<String> {
        let pw = password.clone();
        Ok(self
            .run(move |argon| hash_with(argon, pw.expose()))
            .await??)
    }

    /// Verifies `password` against `stored`, or against a dummy hash when there is no account,
    /// so both cases take the same time.
    pub async fn verify(&self, password: &Secret, stored: Option<&str>) -> AuthResult<bool> {
        let known = stored.is_some();
        let stored = stored.unwrap_or(&self.dummy_hash).to_owned();
        let pw = password.clone();
        let ok = self
            .run(move |argon| match PasswordHash::new(&stored) {
                Ok(parsed) => argon
                    .verify_password(pw.expose().as_bytes(), &parsed)
                    .is_ok(),
                Err(_) => false,
            })
            .await?;
        Ok(ok && known)
    }
}

fn hash_with(argon: &Argon2<'_>, password: &str) -> anyhow::Result<String> {
    argon
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// Moves the calling thread to `SCHED_IDLE`: it runs only on CPU time no normal thread wants,
/// and a waking request handler preempts it at once. Under nice 19 alone a handler still waited
/// out the hasher's time slice, which showed as milliseconds of `/me` p99 during login bursts.
#[expect(
    unsafe_code,
    reason = "setpriority/sched_setscheduler on this thread only"
)]
fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread; failure only leaves the priority as is.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::setpriority(libc::PRIO_PROCESS, tid, 19);
        }
    }
}

const COMMON: &str = include_str!("common_passwords.txt");

pub const MIN_PASSWORD_CHARS: usize = 8;
/// Long passphrases are welcome (NIST 800-63B); the cap only bounds hashing input.
pub const MAX_PASSWORD_CHARS: usize = 256;

/// One rule of the password policy, as a sign-up or reset page lists it: the pages render
/// [`POLICY`] itself, so what they show is what [`check_policy`] enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyRule {
    /// At least this many characters.
    MinChars(usize),
    /// At most this many characters.
    MaxChars(usize),
    /// Not in the list of commonly used (breached) passwords.
    NotCommon,
    /// Not the account's email address or the part before the `@`.
    NotEmail,
    /// Not one character repeated.
    NotRepeated,
}

/// The rules [`check_policy`] enforces, in the order it checks them.
pub const POLICY: [PolicyRule; 5] = [
    PolicyRule::MinChars(MIN_PASSWORD_CHARS),
    PolicyRule::MaxChars(MAX_PASSWORD_CHARS),
    PolicyRule::NotCommon,
    PolicyRule::NotEmail,
    PolicyRule::NotRepeated,
];

/// NIST 800-63B: length, not composition rules; refuse known-breached and context-derived
/// passwords. Each branch is one rule of [`POLICY`].
pub fn check_policy(password: &str, email: &str) -> AuthResult<()> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(AuthError::WeakPassword(format!(
            "the password must have at most {MAX_PASSWORD_CHARS} characters"
        )));
    }
    let lower = password.to_lowercase();
    if COMMON.lines().any(|c| c == lower) {
        return Err(AuthError::WeakPassword(
            "the password is too common; choose another".into(),
        ));
    }
    let local = email.split('@').next().unwrap_or("").to_lowercase();
    if lower == email.to_lowercase() || (local.len() >= 4 && lower == local) {
        return Err(AuthError::WeakPassword(
            "the password must not be your email address".into(),
        ));
    }
    if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Err(AuthError::WeakPassword(
            "the password must not repeat a single character".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_table() {
        let cases = [
            ("short", false),
            ("password", false),
            ("Password1", false),
            ("lantern orchid 7", true),
            ("PASSWORD123", false),
            ("aaaaaaaaaaaa", false),
            ("Annabelle@Example.com", false),
            ("annabelle", false),
            ("correct horse battery staple", true),
            ("tr0ub4dor&3", true),
        ];
        for (pw, ok) in cases {
            assert_eq!(
                check_policy(pw, "annabelle@example.com").is_ok(),
                ok,
                "{pw}"
            );
        }
        assert!(check_policy(&"x1".repeat(129), "a@b.co").is_err());
    }

    /// The listed rules are the enforced ones: a password breaking exactly one listed rule is
    /// refused, and one keeping them all passes.
    #[test]
    fn listed_rules_are_enforced() {
        let email = "annabelle@example.com";
        for rule in POLICY {
            let breaking = match rule {
                PolicyRule::MinChars(n) => "q7".repeat(n / 2)[..n - 1].to_owned(),
                PolicyRule::MaxChars(n) => "q7".repeat(n / 2 + 1),
                PolicyRule::NotCommon => "password".to_owned(),
                PolicyRule::NotEmail => email.to_owned(),
                PolicyRule::NotRepeated => "zzzzzzzzzz".to_owned(),
            };
            assert!(check_policy(&breaking, email).is_err(), "{rule:?}");
        }
        assert!(check_policy("lantern orchid 7", email).is_ok());
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let cheap = HashCost {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        };
        let hasher = PasswordHasher::new(cheap, 1).unwrap();
        let pw = Secret::new("correct horse");
        let h = hasher.hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(hasher.verify(&pw, Some(&h)).await.unwrap());
        assert!(
            !hasher
                .verify(&Secret::new("wrong"), Some(&h))
                .await
                .unwrap()
        );
        // An unknown account never verifies, even with the dummy's own input.
        assert!(!hasher.verify(&pw, None).await.unwrap());
    }
}
