//! `/api/models/*`: public model names and where they are served. Everyone may list what they
//! may use; the rest needs an administrator.

mod available;
mod create;
mod delete;
mod list;
mod set_discovered_prices;
mod set_prices;
mod update;

pub use available::*;
pub use create::*;
pub use delete::*;
pub use list::*;
pub use set_discovered_prices::*;
pub use set_prices::*;
pub use update::*;
