//! One module per page.

mod account;
mod change_password;
mod keys;
mod login;
mod not_found;
mod overview;

pub use account::Account;
pub use change_password::ChangePassword;
pub use keys::Keys;
pub use login::Login;
pub use not_found::NotFound;
pub use overview::Overview;
