use leptos::prelude::*;

/// The frame around every page: header, main area, footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "Portcullis"
            </a>
        </header>
        <main class="content">{children()}</main>
        <footer class="footer">"Portcullis " {env!("CARGO_PKG_VERSION")}</footer>
    }
}
