//! `/api/users/*`: user administration; every call needs an administrator.

mod create;
mod delete;
mod list;
mod permissions;
mod reset_password;
mod set_permissions;
mod update;

pub use create::*;
pub use delete::*;
pub use list::*;
pub use permissions::*;
pub use reset_password::*;
pub use set_permissions::*;
pub use update::*;
