//! The store suite: every test runs once on SQLite and once on PostgreSQL, through the same
//! code the gateway runs.

#![allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]

mod audit;
mod schema;
mod users;

/// Declares `NAME::sqlite` and `NAME::postgres` for each story `async fn NAME(TestDb)`.
macro_rules! on_both_backends {
    ($($story:ident),* $(,)?) => {$(
        mod $story {
            use app::server::testing::TestDb;

            #[tokio::test]
            async fn sqlite() {
                super::$story(TestDb::sqlite().await).await;
            }

            #[tokio::test]
            async fn postgres() {
                super::$story(TestDb::postgres().await).await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;
