//! `report.html` (self-contained: inline SVG, no scripts, opens offline) and `report.md`.

use super::ExperimentResults;
use crate::eval::head::HeadKind;
use crate::io::atomic::write_atomic;
use crate::plot::svg::{confusion, curve, line_chart, scatter, Axes, Series};
use crate::Result;
use std::fmt::Write;
use std::path::Path;

/// One row of the accuracy table: a method and its top-1 (mean, std) per fraction.
struct Row {
    method: String,
    cells: Vec<Option<(f64, f64)>>,
}

fn head_name(head: HeadKind) -> &'static str {
    match head {
        HeadKind::Linear => "linear",
        HeadKind::Mlp => "MLP",
    }
}

fn rows(r: &ExperimentResults) -> Vec<Row> {
    let fractions = &r.config.label_fractions;
    let mut rows = vec![];
    for (encoder, label) in [("simclr", "SimCLR"), ("random", "Random encoder")] {
        for &head in &r.config.heads {
            let cells = fractions
                .iter()
                .map(|&f| {
                    r.probes
                        .iter()
                        .find(|p| p.encoder == encoder && p.head == head && p.label_fraction == f)
                        .map(|p| (p.top1, p.top1_std))
                })
                .collect();
            rows.push(Row {
                method: format!("{label} + {} probe", head_name(head)),
                cells,
            });
        }
    }
    let end_to_end = |results: &[crate::eval::supervised::SupervisedResult]| {
        fractions
            .iter()
            .map(|&f| {
                results
                    .iter()
                    .find(|s| s.label_fraction == f)
                    .map(|s| (s.report.top1, 0.0))
            })
            .collect()
    };
    rows.push(Row {
        method: "SimCLR + fine-tune (end to end)".into(),
        cells: end_to_end(&r.finetune),
    });
    rows.push(Row {
        method: "Supervised ResNet-18 (end to end)".into(),
        cells: end_to_end(&r.supervised),
    });
    rows
}

fn percent(cell: &Option<(f64, f64)>) -> String {
    match cell {
        Some((mean, std)) if *std > 0.0 => format!("{:.2} ± {:.2}", 100.0 * mean, 100.0 * std),
        Some((mean, _)) => format!("{:.2}", 100.0 * mean),
        None => "–".into(),
    }
}

fn fraction_label(fraction: f64) -> String {
    format!("{}%", 100.0 * fraction)
}

/// The accuracy table in Markdown.
pub fn accuracy_table_md(r: &ExperimentResults) -> String {
    let mut out = String::from("| method |");
    for &f in &r.config.label_fractions {
        let _ = write!(out, " {} labels |", fraction_label(f));
    }
    out.push_str("\n| --- |");
    out.push_str(&" ---: |".repeat(r.config.label_fractions.len()));
    out.push('\n');
    for row in rows(r) {
        let _ = write!(out, "| {} |", row.method);
        for cell in &row.cells {
            let _ = write!(out, " {} |", percent(cell));
        }
        out.push('\n');
    }
    out
}

fn fraction_chart(r: &ExperimentResults) -> String {
    let series: Vec<Series> = rows(r)
        .into_iter()
        .map(|row| Series {
            dashed: !row.method.starts_with("SimCLR"),
            points: r
                .config
                .label_fractions
                .iter()
                .zip(&row.cells)
                .filter_map(|(&f, c)| c.map(|(m, _)| (f, 100.0 * m)))
                .collect(),
            name: row
                .method
                .replace(" probe", "")
                .replace(" (end to end)", ""),
        })
        .collect();
    let axes = Axes {
        title: "Test top-1 accuracy against label fraction".into(),
        x_label: "fraction of training labels".into(),
        y_label: "top-1 accuracy (%)".into(),
        log_x: true,
        y_range: None,
        x_ticks: r
            .config
            .label_fractions
            .iter()
            .map(|&f| (f, fraction_label(f)))
            .collect(),
        ..Axes::default()
    };
    line_chart(&axes, &series)
}

fn training_charts(r: &ExperimentResults) -> Vec<String> {
    let steps = |f: fn(&crate::train::run_dir::StepLoss) -> f64| -> Vec<(f64, f64)> {
        r.steps.iter().map(|s| (s.step as f64, f(s))).collect()
    };
    let knn: Vec<(f64, f64)> = r
        .metrics
        .iter()
        .filter_map(|m| m.knn_top1.map(|k| (m.epoch as f64, 100.0 * k)))
        .collect();
    vec![
        curve("NT-Xent loss", "step", "loss", "loss", steps(|s| s.loss)),
        curve("Learning rate", "step", "lr", "lr", steps(|s| s.lr)),
        curve("kNN monitor", "epoch", "top-1 (%)", "kNN top-1", knn),
    ]
}

fn machine(r: &ExperimentResults) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{cpu}, {cores} cores, {} {}; backend {}",
        std::env::consts::OS,
        std::env::consts::ARCH,
        r.pretrain.backend
    )
}

fn timing_md(r: &ExperimentResults) -> String {
    let mut out = String::from("| phase | wall time |\n| --- | ---: |\n");
    for (phase, seconds) in &r.phase_seconds {
        let _ = writeln!(out, "| {phase} | {} |", duration(*seconds));
    }
    let pretrain: f64 = r.metrics.iter().map(|m| m.seconds).sum();
    let _ = writeln!(
        out,
        "| (pretraining steps as logged in metrics.csv, kNN monitor excluded) | {} |",
        duration(pretrain)
    );
    out
}

fn duration(seconds: f64) -> String {
    let s = seconds.round() as u64;
    format!("{}h {:02}m {:02}s", s / 3600, s / 60 % 60, s % 60)
}

fn summary_md(r: &ExperimentResults) -> String {
    let p = &r.pretrain;
    let last = r.metrics.last();
    format!(
        "Dataset **{}** ({} pretraining images); ResNet-18 width {}, batch {}, {} epochs, \
         {} lr {}, τ {}; final loss {}, kNN top-1 {}.",
        r.dataset,
        p.dataset
            .train_images
            .map_or("all".into(), |n| n.to_string()),
        p.width,
        p.batch_size,
        p.epochs,
        p.optimizer.kind,
        p.optimizer.lr,
        p.temperature,
        last.map_or("–".into(), |m| format!("{:.4}", m.loss)),
        last.and_then(|m| m.knn_top1)
            .map_or("–".into(), |k| format!("{:.2}%", 100.0 * k)),
    )
}

/// The Markdown report.
pub fn markdown(r: &ExperimentResults) -> String {
    let mut out = format!(
        "# SimCLR study: {}\n\n{}\n\n",
        r.config.preset,
        summary_md(r)
    );
    out.push_str("## Test top-1 accuracy (%)\n\n");
    out.push_str(&accuracy_table_md(r));
    out.push_str("\nProbes: mean ± std over label subsets; the supervised baseline and fine-tuning use subset 0.\n");
    let _ = write!(
        out,
        "\n![Test top-1 accuracy against label fraction]({FRACTION_CHART})\n"
    );
    for (maps, stem) in [(&r.tsne, "tsne"), (&r.umap, "umap")] {
        let Some(first) = maps.first() else { continue };
        let _ = write!(out, "\n## {}\n\n", first.method);
        for t in maps {
            let _ = writeln!(
                out,
                "![{0}, {1} encoder]({stem}-{1}.png) — 1-NN accuracy in 2-D {2:.1}%\n",
                t.method,
                t.encoder,
                100.0 * t.nn_accuracy
            );
        }
    }
    out.push_str("## Time per phase\n\n");
    out.push_str(&timing_md(r));
    let _ = write!(out, "\n## Machine\n\n{}\n", machine(r));
    out
}

/// The HTML report.
pub fn html(r: &ExperimentResults) -> String {
    let mut out = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>SimCLR study</title><style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}.row{display:flex;flex-wrap:wrap;gap:12px}pre{background:#f6f6f6;padding:1em;overflow:auto;max-height:30em}</style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>SimCLR study: {}</h1><p>{}</p>",
        r.config.preset,
        summary_md(r).replace("**", "")
    );
    let _ = write!(out, "<section id=\"accuracy\"><h2>Test top-1 accuracy (%)</h2>{}<p>Probes: mean ± std over label subsets; the supervised baseline and fine-tuning use subset 0.</p></section>", md_table_to_html(&accuracy_table_md(r)));
    let _ = write!(
        out,
        "<section id=\"label-fraction\"><h2>Label-fraction curve</h2>{}</section>",
        fraction_chart(r)
    );
    out.push_str("<section id=\"training\"><h2>Pretraining</h2><div class=\"row\">");
    for chart in training_charts(r) {
        out.push_str(&chart);
    }
    out.push_str("</div></section>");
    for (maps, id) in [(&r.tsne, "tsne"), (&r.umap, "umap")] {
        let Some(first) = maps.first() else { continue };
        let _ = write!(
            out,
            "<section id=\"{id}\"><h2>{} of h (test images)</h2><div class=\"row\">",
            first.method
        );
        for t in maps {
            let title = format!(
                "{} encoder (2-D 1-NN {:.1}%)",
                t.encoder,
                100.0 * t.nn_accuracy
            );
            out.push_str(&scatter(&title, &t.points, &t.labels, &r.classes));
        }
        out.push_str("</div></section>");
    }
    let best = r
        .probes
        .iter()
        .filter(|p| p.encoder == "simclr" && p.head == HeadKind::Linear)
        .max_by(|a, b| a.label_fraction.total_cmp(&b.label_fraction));
    if let Some(p) = best {
        let title = format!(
            "SimCLR linear probe, {} labels",
            fraction_label(p.label_fraction)
        );
        let _ = write!(
            out,
            "<section id=\"confusion\"><h2>Confusion matrix</h2>{}</section>",
            confusion(&title, &p.confusion, &r.classes)
        );
    }
    let _ = write!(
        out,
        "<section id=\"timing\"><h2>Time per phase</h2>{}</section>",
        md_table_to_html(&timing_md(r))
    );
    let _ = write!(
        out,
        "<section id=\"machine\"><h2>Machine</h2><p>{}</p></section>",
        machine(r)
    );
    let config = serde_json::to_string_pretty(&r.config).unwrap_or_default();
    let _ = write!(
        out,
        "<section id=\"configuration\"><h2>Configuration</h2><pre>{}</pre></section></body></html>",
        config.replace('&', "&amp;").replace('<', "&lt;")
    );
    out
}

fn md_table_to_html(md: &str) -> String {
    let mut out = String::from("<table>");
    for (i, line) in md.lines().enumerate().filter(|(i, _)| *i != 1) {
        let tag = if i == 0 { "th" } else { "td" };
        out.push_str("<tr>");
        for cell in line.trim_matches('|').split('|') {
            let _ = write!(out, "<{tag}>{}</{tag}>", cell.trim());
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// The label-fraction chart beside the reports, for `report.md` (the HTML has it inline).
const FRACTION_CHART: &str = "label-fractions.svg";

/// Writes `report.html`, `report.md` and the chart that `report.md` shows into `root`.
pub fn write(root: &Path, results: &ExperimentResults) -> Result<()> {
    write_atomic(
        &root.join(FRACTION_CHART),
        fraction_chart(results).as_bytes(),
    )?;
    write_atomic(&root.join("report.html"), html(results).as_bytes())?;
    write_atomic(&root.join("report.md"), markdown(results).as_bytes())
}
