//! `/api/auth/*`: signing in and out, tokens, the caller's own account.

mod change_password;
mod impersonate;
mod login;
mod logout;
mod logout_all;
mod me;
mod refresh;
mod sign_in_methods;
mod sso_finish;

pub use change_password::*;
pub use impersonate::*;
pub use login::*;
pub use logout::*;
pub use logout_all::*;
pub use me::*;
pub use refresh::*;
pub use sign_in_methods::*;
pub use sso_finish::*;
