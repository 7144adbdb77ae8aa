//! A bar chart drawn as SVG by the app itself (nothing from a CDN), with the numbers also in
//! an accessible table for screen readers.

use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 180.0;

#[component]
pub fn BarChart(
    #[prop(into)] title: String,
    #[prop(into)] bars: Vec<(String, f64)>,
    /// How a value reads, e.g. "requests".
    #[prop(into)]
    unit: String,
) -> impl IntoView {
    let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max).max(1.0);
    let n = bars.len().max(1) as f64;
    let slot = WIDTH / n;
    let width = (slot * 0.8).max(1.0);
    let rects = bars
        .iter()
        .enumerate()
        .map(|(i, (label, value))| {
            let h = (value / max) * (HEIGHT - 20.0);
            let x = i as f64 * slot + (slot - width) / 2.0;
            let y = HEIGHT - h;
            let tip = format!("{label}: {value} {unit}");
            view! {
                <rect class="bar" x=x y=y width=width height=h>
                    <title>{tip}</title>
                </rect>
            }
        })
        .collect_view();
    let first = bars.first().map(|b| b.0.clone()).unwrap_or_default();
    let last = bars.last().map(|b| b.0.clone()).unwrap_or_default();
    let rows = bars
        .iter()
        .map(|(l, v)| view! { <tr><td>{l.clone()}</td><td>{*v}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart">
            <figcaption>{title.clone()}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {}", HEIGHT + 18.0) role="img" aria-label=title.clone() preserveAspectRatio="none">
                <line class="axis" x1="0" y1=HEIGHT x2=WIDTH y2=HEIGHT />
                {rects}
                <text class="axis-label" x="0" y=HEIGHT + 14.0>{first}</text>
                <text class="axis-label" x=WIDTH y=HEIGHT + 14.0 text-anchor="end">{last}</text>
                <text class="axis-label" x="0" y="10">{format!("{max} {unit}")}</text>
            </svg>
            <table class="visually-hidden">
                <caption>{title}</caption>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}
