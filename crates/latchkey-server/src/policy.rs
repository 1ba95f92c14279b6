//! The forward-auth policy file, kept current: parsed at start (a bad file refuses to start,
//! naming the line), then re-read when its modification time changes. A bad reload is logged
//! and the last good policy stays in force.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use latchkey_core::policy::Policy;

pub struct PolicyStore {
    current: RwLock<Arc<Policy>>,
    source: Option<PathBuf>,
    /// The scope catalogue, to point out rules nobody can ever pass (a typo, a removed scope).
    catalogue: Vec<String>,
    /// Anyone may found an organization (open sign-up, not single-organization).
    strangers_found_orgs: bool,
}

/// How often the file's modification time is checked.
pub const RELOAD_EVERY: Duration = Duration::from_millis(500);

fn read(path: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))?;
    Policy::parse(&text).map_err(|e| anyhow::anyhow!("policy file {}: {e}", path.display()))
}

/// Such a rule still denies (fail closed); the operator is told why it always will.
fn warn_unsatisfiable(policy: &Policy, catalogue: &[String]) {
    for (rule, scope) in policy.unsatisfiable(catalogue) {
        tracing::warn!(
            line = rule.line,
            scope,
            "policy rule requires a scope outside the scope catalogue; it denies every request"
        );
    }
}

/// With open sign-up anyone founds an organization and is its admin: a rule that asks for
/// scopes (or the admin role) but names no organization admits every organization whose
/// members hold them, strangers' included. Still allowed (an operator may mean it, or keep
/// those scopes operator-granted), but said out loud.
fn warn_unbound(policy: &Policy, strangers_found_orgs: bool) {
    if !strangers_found_orgs {
        return;
    }
    for rule in policy.unbound() {
        tracing::warn!(
            line = rule.line,
            scopes = rule.scopes.join(" "),
            "sign-up is open (anyone can found an organization) and this policy rule needs scopes \
             or the admin role but binds no organization (`org`): any organization's members \
             holding them pass; set `org`, LATCHKEY_SIGNUP=invite or LATCHKEY_SINGLE_ORG=true, \
             and keep its scopes out of LATCHKEY_ADMIN_GRANTABLE_SCOPES"
        );
    }
}

fn mtime(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl PolicyStore {
    /// No file: every forward-auth request is denied (no rule matches).
    /// `strangers_found_orgs`: sign-up is open and not single-organization.
    pub fn load(
        source: Option<&Path>,
        catalogue: &[String],
        strangers_found_orgs: bool,
    ) -> anyhow::Result<Arc<PolicyStore>> {
        let policy = match source {
            Some(path) => read(path)?,
            None => Policy::default(),
        };
        warn_unsatisfiable(&policy, catalogue);
        warn_unbound(&policy, strangers_found_orgs);
        Ok(Arc::new(PolicyStore {
            current: RwLock::new(Arc::new(policy)),
            source: source.map(Path::to_path_buf),
            catalogue: catalogue.to_vec(),
            strangers_found_orgs,
        }))
    }

    pub fn current(&self) -> Arc<Policy> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Watches the file until the returned task is aborted.
    pub fn watch(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let path = self.source.clone()?;
        let store = self.clone();
        Some(tokio::spawn(async move {
            let mut seen = mtime(&path);
            let mut tick = tokio::time::interval(RELOAD_EVERY);
            loop {
                tick.tick().await;
                let now = mtime(&path);
                if now == seen {
                    continue;
                }
                seen = now;
                match read(&path) {
                    Ok(policy) => {
                        tracing::info!(rules = policy.len(), "policy reloaded");
                        warn_unsatisfiable(&policy, &store.catalogue);
                        warn_unbound(&policy, store.strangers_found_orgs);
                        *store.current.write().unwrap_or_else(|e| e.into_inner()) =
                            Arc::new(policy);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "policy reload refused; keeping the last good policy")
                    }
                }
            }
        }))
    }
}
