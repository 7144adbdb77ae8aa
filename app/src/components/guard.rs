//! Pages that need a signed-in user (or an administrator). The guard is for people, not
//! security: the server refuses whatever the caller may not do anyway.

use leptos::prelude::*;
use leptos_router::hooks::{use_location, use_navigate};

use super::Loading;
use crate::{
    session::{Status, use_session},
    types::Role,
};

/// Renders `children` for a signed-in user whose password is settled; sends anyone else to
/// the sign-in page (keeping where they were going) or to the password change.
#[component]
pub fn Protected(#[prop(optional)] admin: bool, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let navigate = use_navigate();
    // Follows the session only: where the person is is read, not tracked, so navigating away
    // does not run this again.
    Effect::new(move |_| {
        let status = session.status.get();
        let path = location.pathname.get_untracked();
        if path == "/login" || path == "/change-password" {
            return;
        }
        match status {
            Status::SignedOut => {
                let search = location.search.get_untracked();
                let here = if search.is_empty() {
                    path
                } else {
                    format!("{path}?{search}")
                };
                let next = percent_encoding::utf8_percent_encode(
                    &here,
                    percent_encoding::NON_ALPHANUMERIC,
                );
                navigate(&format!("/login?next={next}"), Default::default());
            }
            Status::MustChangePassword => navigate("/change-password", Default::default()),
            _ => {}
        }
    });
    move || match session.status.get() {
        Status::SignedIn(me) if admin && me.user.role != Role::Admin => view! {
            <section class="card">
                <h1>"Not available"</h1>
                <p>"This page is for administrators."</p>
            </section>
        }
        .into_any(),
        Status::SignedIn(_) => children().into_any(),
        _ => view! { <Loading /> }.into_any(),
    }
}
