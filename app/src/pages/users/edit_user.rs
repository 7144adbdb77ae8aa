use leptos::prelude::*;

use super::identities::Identities;
use crate::{
    AppError,
    client::call,
    components::{ConfirmButton, CopyButton, ErrorNotice, LimitsEditor},
    server_fns::users::{
        approve_user, delete_user, get_user_permissions, reset_user_password, set_user_permissions,
        update_user,
    },
    types::{LimitHolder, Role, UserInfo},
};

/// One user's settings: role, status, email, models and key creation; password reset; delete.
#[component]
pub fn EditUser(
    user: UserInfo,
    models: LocalResource<Vec<String>>,
    refresh: Callback<()>,
    close: Callback<()>,
    /// Shown by the page, above the list: the list redraws after a save.
    saved: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = user.user_id.clone();
    let admin = RwSignal::new(user.role == Role::Admin);
    let enabled = RwSignal::new(user.enabled);
    let email = RwSignal::new(user.email.clone().unwrap_or_default());
    let all_models = RwSignal::new(user.all_models);
    let may_create_keys = RwSignal::new(user.may_create_keys);
    let chosen = RwSignal::new(Vec::<String>::new());
    let error = RwSignal::new(None::<AppError>);
    let password = RwSignal::new(None::<String>);

    // The user's current model list, to tick the boxes.
    let perms_id = id.clone();
    Effect::new(move |_| {
        let id = perms_id.clone();
        leptos::task::spawn_local(async move {
            if let Ok(p) = call(|| get_user_permissions(id.clone())).await {
                chosen.set(p.models);
            }
        });
    });

    let save_id = id.clone();
    let username_saved = user.username.clone();
    let save = Action::new_local(move |_: &()| {
        let id = save_id.clone();
        let role = if admin.get_untracked() {
            Role::Admin
        } else {
            Role::User
        };
        let (en, mail) = (enabled.get_untracked(), email.get_untracked());
        let (all, list, keys) = (
            all_models.get_untracked(),
            chosen.get_untracked(),
            may_create_keys.get_untracked(),
        );
        async move {
            call(|| update_user(id.clone(), Some(role), Some(en), Some(mail.clone()))).await?;
            call(|| set_user_permissions(id.clone(), all, Some(list.clone()), keys)).await?;
            Ok::<_, AppError>(())
        }
    });
    Effect::new(move |_| match save.value().get() {
        Some(Ok(())) => {
            error.set(None);
            saved.set(Some(format!("Saved the changes to {username_saved}.")));
            refresh.run(());
        }
        Some(Err(e)) => error.set(Some(e)),
        None => {}
    });
    let reset_id = id.clone();
    let reset = move || {
        let id = reset_id.clone();
        leptos::task::spawn_local(async move {
            match call(|| reset_user_password(id.clone())).await {
                Ok(p) => password.set(Some(p.password)),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let approve_id = id.clone();
    let approve_name = user.username.clone();
    let approve = move |_| {
        let id = approve_id.clone();
        let name = approve_name.clone();
        leptos::task::spawn_local(async move {
            match call(|| approve_user(id.clone())).await {
                Ok(_) => {
                    saved.set(Some(format!("Approved {name}: they can sign in now.")));
                    refresh.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let act_id = id.clone();
    let navigate = leptos_router::hooks::use_navigate();
    let session = crate::session::use_session();
    let is_self = session.me().is_some_and(|m| m.user.user_id == user.user_id);
    let act = move || {
        let id = act_id.clone();
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            match call(|| crate::server_fns::auth::impersonate(id.clone())).await {
                Ok(s) => {
                    crate::client::tokens::set_aside_for(&crate::client::tokens::Tokens {
                        access: s.access_token,
                        refresh: s.refresh_token,
                    });
                    session.reload().await;
                    navigate("/", Default::default());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let delete_id = id.clone();
    let delete = move || {
        let id = delete_id.clone();
        leptos::task::spawn_local(async move {
            match call(|| delete_user(id.clone())).await {
                Ok(()) => {
                    close.run(());
                    refresh.run(());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let toggle = move |model: String, on: bool| {
        chosen.update(|c| {
            c.retain(|m| *m != model);
            if on {
                c.push(model);
            }
        });
    };
    let username = user.username.clone();
    view! {
        <div class="edit-panel" role="group" aria-label=format!("Edit {username}")>
            <ErrorNotice error=error />
            {move || password.get().map(|p| view! {
                <div class="secret" role="status">
                    <span>"New one-time password, shown now only: "</span>
                    <code class="secret-value">{p.clone()}</code>
                    <CopyButton text=p />
                </div>
            })}
            {user.awaiting_approval.then(|| view! {
                <div class="notice" role="status">
                    <span>"Registered through an identity provider and waiting for approval. "</span>
                    <button type="button" class="button primary" on:click=approve.clone()>"Approve"</button>
                </div>
            })}
            <div class="grid-form">
                <label for="edit-email">"Email"</label>
                <input id="edit-email" type="email" bind:value=email />
                <label class="check"><input type="checkbox" bind:checked=admin />"Administrator"</label>
                <label class="check"><input type="checkbox" bind:checked=enabled />"Enabled (may sign in and use keys)"</label>
                <label class="check"><input type="checkbox" bind:checked=may_create_keys />"May create API keys"</label>
                <label class="check"><input type="checkbox" bind:checked=all_models />"May use every model"</label>
                <Show when=move || !all_models.get()>
                    <fieldset class="models">
                        <legend>"Models this user may use"</legend>
                        {move || {
                            let mut names = models.get().unwrap_or_default();
                            // Models granted earlier but not served now still show, to be removed.
                            for m in chosen.get() {
                                if !names.contains(&m) {
                                    names.push(m);
                                }
                            }
                            names.sort();
                            names.into_iter().map(|m| {
                                let (m1, m2) = (m.clone(), m.clone());
                                view! {
                                    <label class="check">
                                        <input type="checkbox"
                                            prop:checked=move || chosen.get().contains(&m1)
                                            on:change=move |ev| toggle(m2.clone(), event_target_checked(&ev)) />
                                        {m}
                                    </label>
                                }
                            }).collect_view()
                        }}
                    </fieldset>
                </Show>
            </div>
            <Identities user_id=id.clone() role=user.role error />
            <LimitsEditor holder=LimitHolder::User id=id.clone() editable=true />
            <div class="actions">
                <button type="button" class="button primary" disabled=move || save.pending().get()
                    on:click=move |_| { saved.set(None); save.dispatch(()); }>"Save"</button>
                <ConfirmButton label="Reset password"
                    question=format!("Give {} a new one-time password and end their sessions?", user.username)
                    on_confirm=reset />
                {(!is_self).then(|| view! {
                    <ConfirmButton label="Act as this user"
                        question=format!("See Portcullis as {} sees it, for up to an hour? Everything you do is recorded as done by you, as them.", user.username)
                        on_confirm=act />
                })}
                <ConfirmButton label="Delete user"
                    question=format!("Delete {} with their keys and sessions? Usage and audit records stay.", user.username)
                    on_confirm=delete />
                <button type="button" class="button subtle" on:click=move |_| close.run(())>"Close"</button>
            </div>
        </div>
    }
}
