//! `/api/usage/*`: what `/v1` was used for. Users see their own; administrators anyone's.

mod events;
mod export;
mod summary;

pub use events::*;
pub use export::*;
pub use summary::*;
