//! `/api/limits/*`: request, token and cost limits of users and API keys.

mod get;
mod set;

pub use get::*;
pub use set::*;
