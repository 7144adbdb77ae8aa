//! `/api/audit/*`: reading the audit log (administrators only).

mod list;

pub use list::*;
