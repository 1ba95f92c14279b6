//! The shape of a configured CORS origin: checked when the configuration loads, below both
//! `config` and `http::cors`, which compares request origins against the list.

/// Checks one configured origin: `scheme://host[:port]`, nothing after, never `*`.
pub fn check_origin(origin: &str) -> Result<(), String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(|| format!("cors_origins: {origin:?} must start with https:// or http://"))?;
    let valid = !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    if !valid {
        return Err(format!(
            "cors_origins: {origin:?} must be an origin such as https://app.example.com (no path, no trailing slash, no wildcard)"
        ));
    }
    Ok(())
}
