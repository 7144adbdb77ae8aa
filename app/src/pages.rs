//! One module per page.

mod account;
mod audit;
mod change_password;
mod invite;
mod invites;
mod keys;
mod login;
mod models;
mod not_found;
mod overview;
mod playground;
pub mod usage;
mod users;

pub use account::Account;
pub use audit::Audit;
pub use change_password::ChangePassword;
pub use invite::Invite;
pub use invites::Invites;
pub use keys::Keys;
pub use login::{Login, ProviderButtons, SsoLanding};
pub use models::Models;
pub use not_found::NotFound;
pub use overview::Overview;
pub use playground::Playground;
pub use usage::Usage;
pub use users::Users;
