//! Building blocks shared by several pages.

mod chart;
mod confirm;
mod copy;
pub mod download;
mod feedback;
pub mod format;
mod guard;
mod layout;
mod limits;
mod pager;
pub mod range;

pub use chart::BarChart;
pub use confirm::ConfirmButton;
pub use copy::CopyButton;
pub use feedback::{Empty, ErrorNotice, Loading, SuccessNotice, describe};
pub use guard::Protected;
pub use layout::Layout;
pub use limits::LimitsEditor;
pub use pager::Pager;
