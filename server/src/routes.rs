//! Plain HTTP routes outside the web app.

pub mod health;
