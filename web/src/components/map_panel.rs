//! The 2-D map of the test embeddings, t-SNE or UMAP (computed in the worker), coloured by
//! class, with a legend and the image under the pointer.

use super::error_note::ErrorNote;
use super::link::WorkerLink;
use super::state::{Place, RunState};
use crate::protocol::{Command, EmbeddingMap};
use leptos::prelude::*;
use simclr::eval::map_method::MapMethod;
use simclr::plot::{bounds, class_color, class_name, hex};

/// Side of the plot area, in SVG units.
const PLOT: f64 = 480.0;
/// Zoom of the thumbnail under the pointer.
const ZOOM: usize = 3;

/// Positions of the points in the plot area.
pub fn layout(points: &[[f64; 2]]) -> Vec<(f64, f64)> {
    let [x0, y0, x1, y1] = bounds(points);
    let scale = |v: f64, lo: f64, hi: f64| 10.0 + (v - lo) / (hi - lo).max(1e-12) * (PLOT - 20.0);
    points
        .iter()
        .map(|p| (scale(p[0], x0, x1), PLOT - scale(p[1], y0, y1)))
        .collect()
}

fn scatter(map: EmbeddingMap, hovered: RwSignal<Option<usize>>) -> impl IntoView {
    let dots = layout(&map.points)
        .into_iter()
        .zip(map.labels.iter().copied())
        .enumerate()
        .map(|(k, ((x, y), label))| {
            let fill = hex(class_color(label as usize));
            view! {
                <circle cx=format!("{x:.1}") cy=format!("{y:.1}") r="4" fill=fill fill-opacity="0.8"
                    on:mouseenter=move |_| hovered.set(Some(k))/>
            }
        })
        .collect_view();
    let classes = map
        .labels
        .iter()
        .map(|&l| l as usize + 1)
        .max()
        .unwrap_or(0);
    let legend = (0..classes)
        .map(|c| {
            let name = class_name(&map.classes, c as u8);
            let color = hex(class_color(c));
            view! { <li><span class="swatch" style=format!("background:{color}")></span>{name}</li> }
        })
        .collect_view();
    view! {
        <div class="map-plot">
            <svg data-testid="map" data-method=map.method.clone() data-points=map.points.len().to_string() viewBox=format!("0 0 {PLOT} {PLOT}") width=PLOT height=PLOT
                on:mouseleave=move |_| hovered.set(None)>
                <rect width=PLOT height=PLOT fill="white" stroke="#ccc"/>
                {dots}
            </svg>
            <ul class="legend">{legend}</ul>
        </div>
    }
}

/// The thumbnail of point `k`, cut out of the map's sprite sheet.
fn thumbnail(state: RunState, k: usize) -> Option<impl IntoView> {
    let map = state.map.get()?;
    let url = state.sprite_url.get()?;
    let side = map.side * ZOOM;
    let (column, row) = (k % map.columns, k / map.columns);
    let style = format!(
        "width:{side}px;height:{side}px;background-image:url({url});\
         background-size:{}px auto;background-position:-{}px -{}px;image-rendering:pixelated",
        map.columns * side,
        column * side,
        row * side
    );
    let label = class_name(&map.classes, *map.labels.get(k)?);
    Some(view! {
        <div class="thumbnail" data-testid="map-hover">
            <div style=style></div>
            <p>{label}</p>
        </div>
    })
}

/// The map method of a menu value (its file stem: `tsne` or `umap`), with its default
/// settings.
pub fn map_method(key: &str) -> Option<MapMethod> {
    MapMethod::named(key).ok()
}

/// The map panel.
#[component]
pub fn MapPanel() -> impl IntoView {
    let state = expect_context::<RunState>();
    let link = expect_context::<WorkerLink>();
    let points = RwSignal::new(300usize);
    let first = MapMethod::defaults()[0].stem();
    let method = RwSignal::new(first.to_string());
    let hovered = RwSignal::new(None::<usize>);
    let run = move |_| {
        let Some(method) = map_method(&method.get_untracked()) else {
            return;
        };
        state.begin_task(Place::Map, &format!("computing the {} map", method.name()));
        hovered.set(None);
        link.send(Command::Map {
            points: points.get_untracked(),
            method,
        });
    };
    let caption = move || {
        state.map.with(|m| {
            m.as_ref().map(|m| {
                format!(
                    "{} of {} test images; 2-D nearest-neighbour accuracy {:.1}%",
                    m.method,
                    m.points.len(),
                    100.0 * m.neighbour_accuracy
                )
            })
        })
    };
    view! {
        <section class="panel map">
            <h2>"Map of the test embeddings"</h2>
            <label>
                <span>"method"</span>
                <select data-testid="map-method" on:change=move |ev| method.set(event_target_value(&ev))>
                    {MapMethod::defaults().map(|m| view! { <option value=m.stem() selected=m.stem() == first>{m.name()}</option> })}
                </select>
            </label>
            <label>
                <span>"points"</span>
                <input type="number" min="10" step="10" data-testid="map-points" prop:value=move || points.get().to_string()
                    on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { points.set(v) }/>
            </label>
            <button data-testid="map-run" on:click=run disabled=move || !state.encoder_ready()>"Compute the map"</button>
            <ErrorNote place=Place::Map/>
            <p data-testid="map-caption">{caption}</p>
            <div class="map-view">
                {move || state.map.get().map(|map| scatter(map, hovered))}
                {move || hovered.get().and_then(|k| thumbnail(state, k))}
            </div>
        </section>
    }
}
