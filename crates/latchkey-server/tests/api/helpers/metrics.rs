//! Helpers shared by the tests (moved out of `metrics`).

use crate::helpers::TestApp;

/// Runs one statement on the server's own database from outside (a second connection).
pub async fn on_database(app: &TestApp, sql: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.config.database_url())
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}
