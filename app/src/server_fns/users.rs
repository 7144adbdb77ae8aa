//! `/api/users/*`: user administration; every call needs an administrator.

mod create;
mod delete;
mod list;
mod reset_password;
mod update;

pub use create::*;
pub use delete::*;
pub use list::*;
pub use reset_password::*;
pub use update::*;
