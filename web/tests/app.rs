//! The app's logic and components in a real browser (headless Chromium through
//! `wasm-bindgen-test-runner` and chromedriver): settings and presets, how worker events
//! change the page's state, the charts and probe views as the DOM shows them, the t-SNE
//! layout, file helpers, and the CSV of embeddings.

use leptos::prelude::*;
use simclr::eval::head::HeadKind;
use simclr::eval::probing::ProbeResult;
use simclr::train::optim::OptimizerKind;
use simclr_web::components::{
    chance_loss, finetune_summary, map_method, summary_line, verdict, Place,
};
use simclr_web::components::{Charts, ProbeResults, RunState, Status};
use simclr_web::protocol::{DataSummary, Event, FineTuned, ProbeComparison};
use simclr_web::settings::{ComputeChoice, Preset, RunSettings};
use simclr_web::worker::compute::is_software;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn progress(step: usize, loss: f64) -> Event {
    Event::Progress {
        step,
        total: 32,
        epoch: step / 16,
        loss,
        lr: 1e-3,
        views_per_s: 10.0 * step as f64,
    }
}

#[wasm_bindgen_test]
fn presets_are_the_core_table() {
    let micro = RunSettings::preset(Preset::Micro).pretrain_config();
    assert_eq!((micro.width, micro.batch_size, micro.epochs), (4, 32, 30));
    assert_eq!(micro.optimizer.kind, OptimizerKind::Adam);
    let paper = RunSettings::preset(Preset::Paper);
    let paper_config = paper.pretrain_config();
    assert_eq!(
        (paper_config.width, paper_config.optimizer.kind),
        (64, OptimizerKind::Lars)
    );
    // LARS takes the paper's schedule (10 warm-up epochs), Adam the small recipe's (1).
    let paper_recipe = simclr::train::optim::OptimizerConfig::paper();
    let small = simclr::train::optim::OptimizerConfig::small();
    assert_eq!(
        paper.pretrain_config().optimizer.warmup_epochs,
        paper_recipe.warmup_epochs
    );
    assert_eq!(micro.optimizer.warmup_epochs, small.warmup_epochs);
    assert_ne!(paper_recipe.warmup_epochs, small.warmup_epochs);
    assert!(paper.pretrain_config().validate().is_ok());
    for preset in Preset::ALL {
        let settings = RunSettings::preset(preset);
        assert_eq!(settings.matching_preset(), Some(preset));
        // The page's run is the command line's run of the same name.
        let core = simclr::train::config::PretrainConfig::preset(preset);
        let page = settings.pretrain_config();
        assert_eq!(
            (page.width, page.batch_size, page.epochs, page.optimizer.lr),
            (core.width, core.batch_size, core.epochs, core.optimizer.lr),
            "{preset}"
        );
        assert_eq!(
            (page.temperature, page.knn_every, page.knn.k),
            (core.temperature, core.knn_every, core.knn.k),
            "{preset}"
        );
    }
    let mut custom = RunSettings::default();
    custom.changes.width = Some(6);
    assert_eq!(custom.matching_preset(), None);
    // A change back to the preset's value is the preset again.
    custom.changes.width = Some(4);
    assert_eq!(custom.matching_preset(), Some(Preset::Micro));
    // Where it computes is not part of the preset.
    for compute in ComputeChoice::ALL {
        let settings = RunSettings {
            compute,
            ..RunSettings::default()
        };
        assert_eq!(settings.matching_preset(), Some(Preset::Micro));
        assert_eq!(ComputeChoice::from_key(compute.key()), Some(compute));
    }
    assert_eq!(RunSettings::default().compute, ComputeChoice::Auto);
}

/// The page's half of "a preset with the same choices is the same run in the terminal and
/// the tab": choosing an optimiser on the page gives the configuration of the library's
/// overlay with that optimiser alone, which is what `simclr pretrain --preset P
/// --optimizer O` builds (the CLI's half: `cli/src/layering.rs`'s tests). Before the one
/// rule, the page kept the previous family's rate (small + LARS trained at 1e-3).
#[wasm_bindgen_test]
fn choosing_an_optimizer_is_the_command_lines_choice() {
    use simclr::train::config::PretrainConfig;
    use simclr::train::optim::OptimizerConfig;
    use simclr::train::settings::PretrainOverlay;
    for preset in Preset::ALL {
        for kind in OptimizerKind::ALL {
            let mut page = RunSettings::preset(preset);
            page.changes.lr = Some(0.5);
            page.choose_optimizer(kind);
            let flags = PretrainOverlay {
                optimizer: Some(kind),
                ..Default::default()
            };
            let core = flags.apply(PretrainConfig::preset(preset));
            assert_eq!(page.pretrain_config(), core, "{preset} + {kind}");
            if kind != PretrainConfig::preset(preset).optimizer.kind {
                assert_eq!(
                    core.optimizer,
                    OptimizerConfig::usual(kind),
                    "{preset} + {kind}"
                );
            }
        }
    }
}

#[wasm_bindgen_test]
fn the_step_limit_reaches_the_core() {
    assert_eq!(RunSettings::default().pretrain_config().max_steps, None);
    let mut capped = RunSettings::default();
    capped.changes.max_steps = Some(7);
    assert_eq!(capped.pretrain_config().max_steps, Some(7));
    capped.changes.max_steps = Some(0);
    assert_eq!(capped.pretrain_config().max_steps, None);
    assert_eq!(RunSettings::default().synthetic_sizes(), (1024, 512));
    let all = RunSettings {
        train_images: 0,
        test_images: 0,
        ..RunSettings::default()
    };
    assert_eq!(all.synthetic_sizes(), (5000, 1000));
}

#[wasm_bindgen_test]
fn events_drive_the_page_state() {
    let owner = Owner::new();
    owner.set();
    let state = RunState::new();
    state.begin_run();
    assert_eq!(state.status.get_untracked(), Status::Training);
    state.apply(progress(5, 3.4), |_| None);
    state.apply(progress(10, 3.2), |_| None);
    state.apply(
        Event::Epoch {
            epoch: 1,
            knn: Some(0.25),
        },
        |_| None,
    );
    state.apply(
        Event::Epoch {
            epoch: 2,
            knn: None,
        },
        |_| None,
    );
    assert_eq!(state.reports.get_untracked().len(), 2);
    assert_eq!(state.step.get_untracked().0, 10);
    assert_eq!(state.knn.get_untracked(), vec![(1.0, 0.25)]);
    state.apply(Event::Paused, |_| None);
    assert_eq!(state.status.get_untracked(), Status::Paused);
    state.apply(Event::Resumed, |_| None);
    assert!(!state.has_encoder.get_untracked());
    state.apply(
        Event::Done {
            step: 32,
            stopped: false,
        },
        |_| None,
    );
    assert_eq!(state.status.get_untracked(), Status::Done);
    assert_eq!(state.status.get_untracked().label(), "done");
    assert!(state.has_encoder.get_untracked());
    // An error after a run (a bad file) is shown but does not undo the finished run.
    state.apply(Event::Error("bad.bin: too short".into()), |_| None);
    assert_eq!(state.status.get_untracked(), Status::Done);
    assert_eq!(
        state.error.get_untracked().as_deref(),
        Some("bad.bin: too short")
    );
    // An error during a run ends it.
    state.begin_run();
    assert!(state.error.get_untracked().is_none() && state.reports.get_untracked().is_empty());
    state.apply(Event::Error("the loss became NaN".into()), |_| None);
    assert_eq!(state.status.get_untracked(), Status::Error);
    // A crashed worker says what to do.
    state.crashed("the worker panicked: out of memory".into());
    let shown = state.error.get_untracked().unwrap_or_default();
    assert!(
        shown.contains("out of memory") && shown.contains("reload the page"),
        "{shown}"
    );
}

fn probe_result(top1: f64) -> ProbeResult {
    ProbeResult {
        encoder: "simclr".into(),
        head: HeadKind::Linear,
        label_fraction: 1.0,
        train_examples: 20,
        seeds: 3,
        top1,
        top1_std: 0.01,
        top5: 0.9,
        top5_std: 0.0,
        per_class: vec![top1; 2],
        confusion: vec![vec![3, 1], vec![0, 4]],
    }
}

fn finetuned(top1: f64, stopped: bool) -> FineTuned {
    FineTuned {
        result: simclr::eval::supervised_task::SupervisedResult {
            label_fraction: 1.0,
            train_examples: 20,
            steps: 40,
            report: simclr::eval::head::ProbeReport {
                top1,
                top5: 1.0,
                per_class: vec![top1; 2],
                confusion: vec![vec![4, 0], vec![1, 3]],
                epochs: 30,
            },
        },
        stopped,
    }
}

fn body() -> web_sys::HtmlElement {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body())
        .expect("a document body")
}

fn query(selector: &str) -> Option<web_sys::Element> {
    body().query_selector(selector).ok().flatten()
}

#[wasm_bindgen_test]
async fn charts_and_probe_results_render_from_state() {
    let state = RunState::new();
    let container: web_sys::HtmlElement = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.create_element("div").ok())
        .and_then(|e| e.dyn_into().ok())
        .expect("a div");
    body().append_child(&container).expect("appended");
    let _mounted = mount_to(container, move || {
        provide_context(state);
        view! { <Charts/> <ProbeResults/> }
    });
    state.apply(progress(5, 3.4), |_| None);
    state.apply(progress(10, 3.1), |_| None);
    state.apply(
        Event::Probe(ProbeComparison {
            trained: probe_result(0.625),
            random: probe_result(0.25),
            classes: vec!["a".into(), "b".into()],
        }),
        |_| None,
    );
    // Effects run asynchronously: let the browser's event loop turn once.
    let tick = js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a window");
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10)
            .expect("a timer");
    });
    wasm_bindgen_futures::JsFuture::from(tick)
        .await
        .expect("a tick");
    let chart = query("[data-testid=loss-chart]").expect("the loss chart");
    assert_eq!(
        chart.get_attribute("data-losses").as_deref(),
        Some("3.40000,3.10000")
    );
    assert!(chart.inner_html().contains("<svg"), "the chart is an SVG");
    let accuracy = query("[data-testid=probe-accuracy]").expect("the probe accuracy");
    assert_eq!(accuracy.text_content().as_deref(), Some("62.5%"));
    assert_eq!(
        accuracy.get_attribute("data-accuracy").as_deref(),
        Some("0.625")
    );
    let random = query("[data-testid=probe-random-accuracy]").expect("the random encoder's");
    assert_eq!(random.text_content().as_deref(), Some("25.0%"));
    assert!(query("[data-testid=finetune-accuracy]").is_none());
    // Fine-tuning's result joins the probes', compared with them on the same labels.
    state.apply(
        Event::FineTuning {
            step: 10,
            total: 40,
            loss: 1.5,
        },
        |_| None,
    );
    assert_eq!(state.finetuning.get_untracked(), Some((10, 40, 1.5)));
    state.apply(Event::FineTuned(finetuned(0.875, false)), |_| None);
    assert!(state.finetuning.get_untracked().is_none());
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::new(&mut |resolve, _| {
        let window = web_sys::window().expect("a window");
        window
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 10)
            .expect("a timer");
    }))
    .await
    .expect("a tick");
    let tuned = query("[data-testid=finetune-accuracy]").expect("the fine-tuned accuracy");
    assert_eq!(tuned.text_content().as_deref(), Some("87.5%"));
    let summary = query("[data-testid=finetune-summary]")
        .and_then(|e| e.text_content())
        .unwrap_or_default();
    assert!(
        summary.contains("25.0 points above the linear probe")
            && summary.contains("62.5 points above the random"),
        "{summary}"
    );
}

#[wasm_bindgen_test]
fn fine_tuning_summary_says_when_it_was_stopped_and_skips_other_labels() {
    let probe = ProbeComparison {
        trained: ProbeResult {
            label_fraction: 0.1,
            ..probe_result(0.5)
        },
        random: probe_result(0.2),
        classes: vec!["a".into(), "b".into()],
    };
    let text = finetune_summary(&finetuned(0.4, true), Some(&probe));
    assert!(text.contains("(stopped early)"), "{text}");
    assert!(
        !text.contains("linear probe"),
        "a probe of other labels is no comparison: {text}"
    );
}

#[wasm_bindgen_test]
fn the_pages_fine_tuning_is_the_command_lines_recipe() {
    let encoder = simclr::model::ResNetConfig::new()
        .with_width(4)
        .init::<simclr::backend::Cpu>(&Default::default());
    let settings = RunSettings::default();
    let config = simclr_web::worker::finetune::finetune_config(&encoder, &settings, 0.1);
    let recipe = simclr::eval::supervised_config::SupervisedConfig::finetune_recipe();
    assert_eq!(
        (
            config.lr,
            config.momentum,
            config.weight_decay,
            config.epochs
        ),
        (
            recipe.lr,
            recipe.momentum,
            recipe.weight_decay,
            recipe.epochs
        )
    );
    assert_eq!(config.batch_size, settings.pretrain_config().batch_size);
    assert_eq!((config.width, config.label_fraction), (4, 0.1));
    assert!(config.validate().is_ok());
}

#[wasm_bindgen_test]
fn the_map_menu_offers_t_sne_and_umap() {
    let names: Vec<&str> = ["tsne", "umap"]
        .iter()
        .filter_map(|key| map_method(key))
        .map(|m| m.name())
        .collect();
    assert_eq!(names, ["t-SNE", "UMAP"]);
    assert!(map_method("pca").is_none());
}

#[wasm_bindgen_test]
fn map_layout_fills_the_plot() {
    let points = [[-3.0, 1.0], [5.0, 2.0], [1.0, -7.0]];
    let placed = simclr_web::components::map_layout(&points);
    let xs: Vec<f64> = placed.iter().map(|p| p.0).collect();
    let ys: Vec<f64> = placed.iter().map(|p| p.1).collect();
    // Inside the 10-unit margin, in order, the middle of the data in the middle.
    for v in xs.iter().chain(&ys) {
        assert!((10.0..=470.0).contains(v), "{v} outside the plot");
    }
    assert!(xs[0] < xs[2] && xs[2] < xs[1]);
    assert!((xs[0] + xs[1] - 480.0).abs() < 1e-9 && (xs[2] - 240.0).abs() < 1e-9);
    // Screen y grows downwards: the highest point is at the top.
    assert!(ys[1] < ys[0] && ys[0] < ys[2]);
}

#[wasm_bindgen_test]
fn png_bytes_get_a_blob_url() {
    let url = simclr_web::components::files::png_url(&[0x89, b'P', b'N', b'G']).expect("a URL");
    assert!(url.starts_with("blob:"), "{url}");
}

#[wasm_bindgen_test]
fn embeddings_csv_has_a_header_and_a_row_per_image() {
    let csv = simclr_web::worker::evaluate::embeddings_csv(&[0.5, -1.0, 2.0, 0.25], &[3, 7], 2);
    assert_eq!(csv, "label,h0,h1\n3,0.5,-1\n7,2,0.25\n");
}

#[wasm_bindgen_test]
fn stop_and_pause_show_at_once_and_a_stopped_run_says_where() {
    let owner = Owner::new();
    owner.set();
    let state = RunState::new();
    state.begin_run();
    state.apply(progress(10, 3.2), |_| None);
    state.request("stopping");
    assert_eq!(
        state.pending.get_untracked().as_deref(),
        Some("stopping after the current step…")
    );
    state.apply(
        Event::Done {
            step: 11,
            stopped: true,
        },
        |_| None,
    );
    assert_eq!(state.status.get_untracked(), Status::Stopped(11));
    assert_eq!(state.status.get_untracked().label(), "stopped at step 11");
    assert!(state.pending.get_untracked().is_none());
    assert!(state.has_encoder.get_untracked());
    state.request("pausing");
    state.apply(Event::Paused, |_| None);
    assert!(state.pending.get_untracked().is_none());
}

#[wasm_bindgen_test]
fn a_new_run_clears_the_last_encoders_results() {
    let owner = Owner::new();
    owner.set();
    let state = RunState::new();
    state.apply(
        Event::EncoderLoaded("a.safetensors: width 4".into()),
        |_| None,
    );
    state.apply(
        Event::Probe(ProbeComparison {
            trained: probe_result(0.5),
            random: probe_result(0.2),
            classes: vec!["a".into(), "b".into()],
        }),
        |_| None,
    );
    state.apply(Event::FineTuned(finetuned(0.7, false)), |_| None);
    state.sprite_url.set(Some("blob:x".into()));
    assert!(state.probe.get_untracked().is_some() && state.finetuned.get_untracked().is_some());
    state.begin_run();
    assert!(state.probe.get_untracked().is_none() && state.finetuned.get_untracked().is_none());
    assert!(state.map.get_untracked().is_none() && state.sprite_url.get_untracked().is_none());
    assert!(
        !state.has_encoder.get_untracked(),
        "nothing to probe until the run ends"
    );
    assert!(state.loaded_replaced.get_untracked());
    // An error belongs to the control whose task failed.
    state.begin_task(Place::Probe, "probing the encoders");
    state.apply(Event::Error("no encoder".into()), |_| None);
    assert_eq!(state.place.get_untracked(), Place::Probe);
}

#[wasm_bindgen_test]
fn the_data_summary_says_what_a_run_will_use() {
    let cifar = DataSummary {
        name: "cifar10".into(),
        train: 10_000,
        test: 10_000,
        generated: false,
        side: 32,
        classes: vec!["c".into(); 10],
    };
    let line = summary_line(&cifar, &RunSettings::default());
    assert!(
        line.starts_with("cifar10: 1024 training and 512 test images of 32×32 px, 10 classes (of 10000 and 10000 in the files"),
        "{line}"
    );
    let all = RunSettings {
        train_images: 0,
        test_images: 0,
        ..RunSettings::default()
    };
    assert_eq!(
        summary_line(&cifar, &all),
        "cifar10: 10000 training and 10000 test images of 32×32 px, 10 classes"
    );
    let synthetic = DataSummary {
        name: "synthetic".into(),
        train: 5,
        test: 5,
        generated: true,
        ..cifar
    };
    let line = summary_line(&synthetic, &RunSettings::default());
    assert!(
        line.starts_with("synthetic: 1024 training and 512 test images"),
        "{line}"
    );
}

#[wasm_bindgen_test]
fn software_adapters_are_recognised() {
    assert!(is_software(false, "google swiftshader Subzero"));
    assert!(is_software(false, "mesa llvmpipe (LLVM 15.0.7, 256 bits)"));
    assert!(is_software(true, "some adapter"));
    assert!(!is_software(false, "nvidia ampere NVIDIA GeForce RTX 3080"));
    assert!(!is_software(false, "apple metal-3"));
}

#[wasm_bindgen_test]
fn the_probe_says_plainly_whether_the_encoder_learned() {
    let comparison = |trained, random| ProbeComparison {
        trained: probe_result(trained),
        random: probe_result(random),
        classes: vec!["c".into(); 10],
    };
    let micro = RunSettings::default();
    let learned = verdict(&comparison(0.40, 0.20), &micro);
    assert!(
        learned.starts_with("The SimCLR encoder is 20.0 points above"),
        "{learned}"
    );
    let not = verdict(&comparison(0.19, 0.20), &micro);
    assert!(
        not.contains("does not beat the random one") && not.contains("tiny preset"),
        "{not}"
    );
    let paper = RunSettings::preset(Preset::Paper);
    let last = verdict(&comparison(0.19, 0.20), &paper);
    assert!(last.contains("train longer (more epochs"), "{last}");
    assert!((chance_loss(32) - 63f64.ln()).abs() < 1e-12);
}

#[wasm_bindgen_test]
fn runs_go_to_the_worker_their_compute_choice_needs() {
    use simclr_web::components::worker_kind::{Placement, WorkerKind};
    use simclr_web::worker::compute::Adapter;
    use std::cell::Cell;
    use std::rc::Rc;
    let adapter = |software| {
        Some(Adapter {
            name: "adapter".into(),
            software,
        })
    };
    let broken = Rc::new(Cell::new(false));
    let expected_auto = [
        (None, WorkerKind::Threaded),
        (adapter(true), WorkerKind::Threaded),
        (adapter(false), WorkerKind::Single),
    ];
    for (found, auto) in expected_auto {
        let isolated = Placement::new(true, found, broken.clone());
        assert!(isolated.can_switch());
        assert_eq!(isolated.kind_for(ComputeChoice::Auto), auto);
        assert_eq!(isolated.kind_for(ComputeChoice::Cpu), WorkerKind::Threaded);
        assert_eq!(isolated.kind_for(ComputeChoice::WebGpu), WorkerKind::Single);
    }
    let plain = Placement::new(false, None, Rc::default());
    assert!(!plain.can_switch());
    for choice in ComputeChoice::ALL {
        assert_eq!(plain.kind_for(choice), WorkerKind::Single, "{choice:?}");
    }
    // The threaded worker did not start: CPU runs and everything else leave it.
    let isolated = Placement::new(true, None, broken.clone());
    broken.set(true);
    assert_eq!(isolated.kind_for(ComputeChoice::Cpu), WorkerKind::Single);
    assert_eq!(isolated.usable(WorkerKind::Threaded), WorkerKind::Single);
    assert_eq!(isolated.usable(WorkerKind::Single), WorkerKind::Single);
}
