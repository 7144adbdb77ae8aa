//! The "Sign in with …" buttons, and the words for what can go wrong at a provider.

use leptos::prelude::*;

use crate::types::ProviderButton;

/// Links that leave the web app for `/auth/sso/<name>/start`: a full page load, not a route.
#[component]
pub fn ProviderButtons(
    providers: Vec<ProviderButton>,
    /// Carried through the provider and back.
    #[prop(optional)]
    next: Option<String>,
    #[prop(optional)] invite: Option<String>,
) -> impl IntoView {
    let query = start_query(next.as_deref(), invite.as_deref());
    view! {
        <div class="providers">
            {providers.into_iter().map(|p| {
                let href = format!("/auth/sso/{}/start{query}", p.name);
                view! {
                    <a class="button provider" rel="external" href=href>
                        {format!("Sign in with {}", p.display_name)}
                    </a>
                }
            }).collect_view()}
        </div>
    }
}

fn start_query(next: Option<&str>, invite: Option<&str>) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut parts = Vec::new();
    if let Some(n) = next.filter(|n| *n != "/") {
        parts.push(format!("next={}", utf8_percent_encode(n, NON_ALPHANUMERIC)));
    }
    if let Some(i) = invite {
        parts.push(format!(
            "invite={}",
            utf8_percent_encode(i, NON_ALPHANUMERIC)
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// What the sign-in page says for the code an external sign-in failed with.
pub fn sso_error_text(code: &str) -> &'static str {
    match code {
        "state" => {
            "That sign-in took too long, was already used, or was started in another browser. Please sign in again."
        }
        "denied" => "The identity provider did not let you sign in.",
        "provider" => {
            "The identity provider could not be reached or did not answer properly. Try again later, or tell your administrator."
        }
        "token" => {
            "The identity provider's answer could not be verified, so you were not signed in. Tell your administrator."
        }
        "not_allowed" => {
            "Your account at the identity provider is not in a group allowed to use this gateway."
        }
        "registration_closed" => {
            "There is no account here for you, and new accounts are not accepted. Ask an administrator for an invite."
        }
        "invite_required" => {
            "New accounts need an invite. Ask an administrator for one, then open its link."
        }
        "invite_invalid" => {
            "That invite cannot be used: it was used already, revoked, has expired, or is meant for another email address."
        }
        "domain" => "Accounts with your email address's domain may not register here.",
        "email_unverified" => {
            "Your identity provider did not confirm your email address, which a new account needs."
        }
        "pending" => {
            "Your account is waiting for an administrator's approval. You can sign in once they approve it."
        }
        "disabled" => "Your account is disabled. Ask an administrator.",
        "email_taken" => {
            "An account with your email address already exists, but it is not linked to this sign-in. Ask an administrator to link it."
        }
        "unknown_provider" => "That identity provider is not configured here.",
        "busy" => "Too many people are signing in right now. Please try again in a few minutes.",
        "too_many" => {
            "Too many sign-ins were started from your network. Please wait a minute and try again."
        }
        _ => "The sign-in did not work. Please try again.",
    }
}
