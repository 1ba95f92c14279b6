//! Operator routes (`/api/v1/admin/signing-keys…`): the deployment's signing keys.

use serde::{Deserialize, Serialize};

/// A signing key as an operator sees it: public facts only. Times are RFC 3339 UTC with
/// milliseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyView {
    pub kid: String,
    pub alg: String,
    /// `signing` (the newest key), `verifying` (superseded, still accepted until
    /// `retires_at`) or `retired` (accepted nowhere, out of the JWKS).
    pub status: String,
    pub created_at: String,
    /// When the next newer key appeared; `null` for the signing key.
    pub superseded_at: Option<String>,
    /// When it stops verifying (or stopped, for a retired key); `null` for the signing key.
    pub retires_at: Option<String>,
}

/// `GET /api/v1/admin/signing-keys`, newest first.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SigningKeyList {
    pub signing_keys: Vec<SigningKeyView>,
}

/// A scope of the server's catalogue as an admin's member editor shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CatalogueScopeView {
    pub name: String,
    /// Whether the caller may add it to a member (`PUT /api/v1/admin/users/{id}/scopes`):
    /// for an organization admin, the operator's grantable and default scopes; for an
    /// operator, every scope. Anyone may remove any scope.
    pub grantable: bool,
}

/// `GET /api/v1/admin/scopes`: the catalogue in the operator's order, then Latchkey's
/// reserved scopes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScopeCatalogue {
    pub scopes: Vec<CatalogueScopeView>,
}
