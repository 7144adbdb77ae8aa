//! Building blocks shared by several pages.

mod layout;

pub use layout::Layout;
