//! `/api/upstreams/*`: the servers Portcullis forwards to; every call needs an administrator.

mod create;
mod delete;
mod discover;
mod list;
mod test;
mod update;

pub use create::*;
pub use delete::*;
pub use discover::*;
pub use list::*;
pub use test::*;
pub use update::*;
