//! `/api/invites/*`: invites to register through an identity provider; administrators only,
//! but for the preview the invite page shows.

mod create;
mod list;
mod preview;
mod revoke;

pub use create::*;
pub use list::*;
pub use preview::*;
pub use revoke::*;
