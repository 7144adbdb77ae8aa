//! The abuse suite: each test is one way a client tried to walk around what the gateway decides
//! (who, which model, how much) or to make it spend without bound, and shows it no longer works.

mod accounting;
mod addresses;
mod authz;
mod edge;
mod headers;
mod keys;
mod panics;
mod parsing;
mod prices;
mod redirects;
mod retention;
mod unauthenticated;
mod upstreams;
