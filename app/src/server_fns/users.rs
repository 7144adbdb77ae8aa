//! `/api/users/*`: user administration; every call needs an administrator.

mod approve;
mod create;
mod delete;
mod identities;
mod list;
mod permissions;
mod reset_password;
mod set_permissions;
mod unlink_identity;
mod update;

pub use approve::*;
pub use create::*;
pub use delete::*;
pub use identities::*;
pub use list::*;
pub use permissions::*;
pub use reset_password::*;
pub use set_permissions::*;
pub use unlink_identity::*;
pub use update::*;
