//! Bounds the configuration is checked against and the HTTP edge enforces, kept below both.

use std::time::Duration;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// No request runs longer than this; one that would gets a 503 in the error shape.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(30);
