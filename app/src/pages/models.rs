//! Models and upstreams (administrators): the servers Portcullis forwards to, what each one
//! offers, the public model names mapped onto them, and how each target is doing.

mod model_form;
mod model_list;
mod prices;
mod target_rows;
mod upstream_form;
mod upstream_list;

use leptos::prelude::*;

use crate::{
    client::call,
    components::Protected,
    server_fns::{models::list_models, upstreams::list_upstreams},
};
use model_form::ModelForm;
use model_list::ModelList;
use upstream_form::UpstreamForm;
use upstream_list::UpstreamList;

#[component]
pub fn Models() -> impl IntoView {
    view! {
        <Protected admin=true>
            <ModelsBody />
        </Protected>
    }
}

#[component]
fn ModelsBody() -> impl IntoView {
    let upstreams = LocalResource::new(|| async { call(list_upstreams).await });
    let models = LocalResource::new(|| async { call(list_models).await });
    let refresh = Callback::new(move |()| {
        upstreams.refetch();
        models.refetch();
    });
    view! {
        <section class="card">
            <h1>"Models"</h1>
            <p class="lead">
                "The names clients ask for, and where each is served. Health is as this gateway instance sees it."
            </p>
            <ModelList models upstreams refresh />
        </section>
        <ModelForm upstreams refresh />
        <section class="card">
            <h2>"Upstreams"</h2>
            <p class="lead">"The OpenAI-compatible servers requests are forwarded to."</p>
            <UpstreamList upstreams refresh />
        </section>
        <UpstreamForm refresh />
    }
}
