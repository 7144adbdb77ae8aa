//! How pages tell people what is happening: loading, errors in words, empty lists.

use leptos::prelude::*;

use crate::AppError;

#[component]
pub fn Loading() -> impl IntoView {
    view! {
        <p class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            "Loading…"
        </p>
    }
}

/// An error from the server, worded for the person reading it.
pub fn describe(e: &AppError) -> String {
    match e {
        AppError::Invalid { field, message } => {
            format!("{}: {message}", field.replace('_', " "))
        }
        AppError::Transport(_) => {
            "The gateway could not be reached. Check your connection and try again.".to_owned()
        }
        AppError::Internal(reference) => format!(
            "Something went wrong on the server. If it keeps happening, give your administrator \
             this reference: {reference}"
        ),
        other => {
            let text = other.to_string();
            let mut chars = text.chars();
            chars.next().map_or(text.clone(), |c| {
                c.to_uppercase().collect::<String>() + chars.as_str()
            })
        }
    }
}

/// Shows the error, if any, as an alert.
#[component]
pub fn ErrorNotice(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! {
                <p class="notice error" role="alert">
                    {describe(&e)}
                </p>
            }
        })
    }
}

/// A short confirmation that something worked.
#[component]
pub fn SuccessNotice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message.get().map(|m| {
            view! {
                <p class="notice success" role="status">
                    {m}
                </p>
            }
        })
    }
}

#[component]
pub fn Empty(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="empty">{text}</p> }
}
