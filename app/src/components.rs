//! Building blocks shared by several pages.

mod chart;
mod confirm;
mod copy;
mod feedback;
pub mod format;
mod guard;
mod layout;

pub use chart::BarChart;
pub use confirm::ConfirmButton;
pub use copy::CopyButton;
pub use feedback::{Empty, ErrorNotice, Loading, SuccessNotice, describe};
pub use guard::Protected;
pub use layout::Layout;
