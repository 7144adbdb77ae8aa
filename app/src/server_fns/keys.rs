//! `/api/keys/*`: API keys. Everyone manages their own; administrators anyone's.

mod create;
mod delete;
mod get;
mod list;
mod reveal;
mod revoke;
mod rotate;
mod update;

pub use create::*;
pub use delete::*;
pub use get::*;
pub use list::*;
pub use reveal::*;
pub use revoke::*;
pub use rotate::*;
pub use update::*;
