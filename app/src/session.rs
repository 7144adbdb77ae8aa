//! Who is signed in, in this tab: the profile from `auth/me`, loaded after hydration (the
//! server renders no user data), and a message for the sign-in page when a session ends.

use std::cell::Cell;

use leptos::prelude::*;

use crate::{
    AppError,
    client::{call, tokens},
    server_fns::auth::my_profile,
    types::{Me, Permission, Role},
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Before hydration, or while the profile loads.
    Unknown,
    SignedOut,
    /// Signed in, but nothing is allowed until the password is changed.
    MustChangePassword,
    SignedIn(Box<Me>),
}

#[derive(Debug, Clone, Copy)]
pub struct Session {
    pub status: RwSignal<Status>,
    /// Shown on the sign-in page: why the person is there.
    pub notice: RwSignal<Option<String>>,
}

thread_local! {
    // For calls that finish after their component is gone: the session outlives every page.
    static GLOBAL: Cell<Option<Session>> = const { Cell::new(None) };
}

impl Session {
    /// Creates the tab's session, provides it to the app, and starts loading it in the browser.
    pub fn provide() -> Self {
        let s = Self {
            status: RwSignal::new(Status::Unknown),
            notice: RwSignal::new(None),
        };
        provide_context(s);
        GLOBAL.with(|g| g.set(Some(s)));
        // Effects run only in the browser, after hydration.
        Effect::new(move |_| {
            leptos::task::spawn_local(async move { s.reload().await });
        });
        s
    }

    pub fn global() -> Option<Self> {
        GLOBAL.with(Cell::get)
    }

    /// Reads the profile again (after sign-in, a password change, or at start).
    pub async fn reload(self) {
        if tokens::load().is_none() {
            self.status.set(Status::SignedOut);
            return;
        }
        match call(my_profile).await {
            Ok(me) => self.status.set(Status::SignedIn(Box::new(me))),
            Err(AppError::PasswordChangeRequired) => self.status.set(Status::MustChangePassword),
            Err(_) => self.signed_out(),
        }
    }

    pub fn signed_out(self) {
        self.status.set(Status::SignedOut);
    }

    pub fn me(self) -> Option<Me> {
        match self.status.get() {
            Status::SignedIn(me) => Some(*me),
            _ => None,
        }
    }

    pub fn is_admin(self) -> bool {
        self.me().is_some_and(|m| m.user.role == Role::Admin)
    }

    pub fn may(self, p: Permission) -> bool {
        self.me().is_some_and(|m| m.permissions.contains(&p))
    }
}

pub fn use_session() -> Session {
    use_context::<Session>()
        .or_else(Session::global)
        .unwrap_or_else(|| Session {
            status: RwSignal::new(Status::Unknown),
            notice: RwSignal::new(None),
        })
}
