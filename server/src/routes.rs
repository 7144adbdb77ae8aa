//! Plain HTTP routes outside the web app, and middleware of the management API.

pub mod api_errors;
pub mod health;
pub mod metrics;
pub mod sso;
pub mod sso_start_limit;
