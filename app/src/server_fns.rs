//! Server functions: the management API. Each lives in a file of its own, with an explicit
//! path under `/api/`, so scripts can call it as a documented JSON endpoint.

mod status;

pub use status::*;
