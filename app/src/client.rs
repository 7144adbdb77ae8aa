//! The browser's side of the management API: where the tokens live, how every call carries
//! the access token, and how an expired one is renewed without the person noticing.

mod call;
mod gateway;
pub mod tokens;

pub use call::{call, sign_out_locally};
pub use gateway::Gateway;
