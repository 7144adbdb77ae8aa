//! Plain data exchanged between the server functions and the WASM client.

mod audit;
mod auth;
mod key;
mod limits;
pub mod next_path;
mod sso;
mod status;
mod upstream;
mod usage;
mod user;

pub use audit::*;
pub use auth::*;
pub use key::*;
pub use limits::*;
pub use sso::*;
pub use status::*;
pub use upstream::*;
pub use usage::*;
pub use user::*;
