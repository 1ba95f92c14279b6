//! One integration-test binary (so it links once), one module per area.

mod helpers;

mod accounts;
