use leptos::prelude::*;
use leptos_router::components::A;

use crate::{
    client::{sign_out_locally, tokens},
    server_fns::auth::logout,
    session::{Status, use_session},
    types::Role,
};

/// The frame around every page: header with the navigation the caller may use, main area,
/// footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let session = use_session();
    // Effects run only in the browser: tests wait for this before they click.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    let sign_out = move |_| {
        leptos::task::spawn_local(async move {
            // Revoke on the server first; the tab forgets its tokens whatever the answer.
            if let Some(t) = tokens::load() {
                let _ = logout(t.refresh).await;
            }
            session.notice.set(Some("You have signed out.".to_owned()));
            sign_out_locally();
        });
    };
    let navigate = leptos_router::hooks::use_navigate();
    let stop_acting = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            if let Some(t) = tokens::load() {
                let _ = logout(t.refresh).await;
            }
            if tokens::restore_own().is_none() {
                sign_out_locally();
                return;
            }
            session.reload().await;
            navigate("/users", Default::default());
        });
    };
    let banner = move || {
        let me = session.me()?;
        let by = me.impersonated_by.clone()?;
        let stop_acting = stop_acting.clone();
        Some(view! {
            <div class="impersonation" role="status">
                <span>{format!("You, {by}, are acting as {}: you see what they see.", me.user.username)}</span>
                <button type="button" class="button primary" on:click=stop_acting>"Return to your account"</button>
            </div>
        })
    };
    let nav = move || match session.status.get() {
        Status::SignedIn(me) => {
            let admin = me.user.role == Role::Admin;
            let username = me.user.username.clone();
            view! {
                <nav class="nav" aria-label="Main">
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/keys">"API keys"</A>
                    <A href="/usage">"Usage"</A>
                    <A href="/playground">"Playground"</A>
                    {admin.then(|| view! {
                        <A href="/users">"Users"</A>
                        <A href="/invites">"Invites"</A>
                        <A href="/models">"Models"</A>
                        <A href="/audit">"Audit log"</A>
                    })}
                </nav>
                <div class="user-menu">
                    <A href="/account">{username}</A>
                    <button type="button" class="button subtle" on:click=sign_out>"Sign out"</button>
                </div>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="topbar">
            <a class="brand" href="/">"Portcullis"</a>
            {nav}
        </header>
        {banner}
        <main class="content" id="main" data-hydrated=move || hydrated.get().to_string()>{children()}</main>
        <footer class="footer">"Portcullis " {env!("CARGO_PKG_VERSION")}</footer>
    }
}
