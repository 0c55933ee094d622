//! GFLOP/s of the convolution kernels on every convolution shape of the CIFAR ResNet-18
//! at batch 128 (64 images, two views each), forward, input gradient and weight
//! gradient, best of a few runs: `cargo bench -p simclr-kernels --bench conv [WIDTH]`.
//! With `--compare`: the im2col path against the direct one, alternated; any other
//! argument keeps only the shapes whose name contains it (`-- 64 "l2 1x1"`).

use simclr_kernels::conv2d::{
    forward, forward_im2col, input_grad, input_grad_im2col, weight_grad, weight_grad_im2col,
};
use simclr_kernels::im2col::ConvGeometry;
use simclr_kernels::{channels_last, direct};
use std::hint::black_box;
use std::time::Instant;

const BATCH: usize = 128;
const RUNS: usize = 5;

fn geometry(cin: usize, cout: usize, size: usize, kernel: usize, stride: usize) -> ConvGeometry {
    ConvGeometry {
        batch: BATCH,
        in_channels: cin,
        out_channels: cout,
        in_size: [size, size],
        kernel: [kernel, kernel],
        stride: [stride, stride],
        padding: [kernel / 2, kernel / 2],
    }
}

/// Every distinct convolution of the ResNet-18 with the CIFAR stem, and how many times
/// it occurs in one forward pass.
fn shapes(width: usize) -> Vec<(&'static str, ConvGeometry, usize)> {
    let w = width;
    vec![
        ("stem 3x3", geometry(3, w, 32, 3, 1), 1),
        ("l1 3x3", geometry(w, w, 32, 3, 1), 4),
        ("l2 3x3 s2", geometry(w, 2 * w, 32, 3, 2), 1),
        ("l2 3x3", geometry(2 * w, 2 * w, 16, 3, 1), 3),
        ("l2 1x1 s2", geometry(w, 2 * w, 32, 1, 2), 1),
        ("l3 3x3 s2", geometry(2 * w, 4 * w, 16, 3, 2), 1),
        ("l3 3x3", geometry(4 * w, 4 * w, 8, 3, 1), 3),
        ("l3 1x1 s2", geometry(2 * w, 4 * w, 16, 1, 2), 1),
        ("l4 3x3 s2", geometry(4 * w, 8 * w, 8, 3, 2), 1),
        ("l4 3x3", geometry(8 * w, 8 * w, 4, 3, 1), 3),
        ("l4 1x1 s2", geometry(4 * w, 8 * w, 8, 1, 2), 1),
    ]
}

fn random(len: usize, seed: u64) -> Vec<f32> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect()
}

/// Best seconds of `RUNS` calls.
fn best<T>(mut f: impl FnMut() -> T) -> f64 {
    black_box(f());
    (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let width = args.iter().find_map(|a| a.parse().ok()).unwrap_or(64);
    if args.iter().any(|a| a == "--compare") {
        compare(width);
        return;
    }
    println!(
        "width {width}, batch {BATCH}, {} threads; GFLOP/s (ms)",
        rayon::current_num_threads()
    );
    println!(
        "{:<10} {:>18} {:>18} {:>18}",
        "conv", "forward", "input grad", "weight grad"
    );
    let mut total = [0.0f64; 3];
    let mut flops_total = 0.0;
    // A non-numeric argument keeps only the shapes whose name contains it.
    let only = args
        .iter()
        .find(|a| a.parse::<usize>().is_err() && !a.starts_with("--"));
    for (name, g, count) in shapes(width) {
        if only.is_some_and(|only| !name.contains(only.as_str())) {
            continue;
        }
        let case = Case::new(g);
        let times = [
            best(|| forward(&g, &case.input, &case.weight)),
            best(|| input_grad(&g, &case.weight, &case.grad)),
            best(|| weight_grad(&g, &case.input, &case.grad)),
        ];
        let cell = |t: f64| format!("{:7.1} ({:6.2})", case.flop / t / 1e9, t * 1e3);
        println!(
            "{name:<10} {:>18} {:>18} {:>18}",
            cell(times[0]),
            cell(times[1]),
            cell(times[2])
        );
        for (sum, t) in total.iter_mut().zip(times) {
            *sum += t * count as f64;
        }
        flops_total += case.flop * count as f64;
    }
    let all: f64 = total.iter().sum();
    println!(
        "one pass over every convolution: forward {:.0} ms, input grad {:.0} ms, weight grad {:.0} ms; {:.1} GFLOP/s overall",
        total[0] * 1e3,
        total[1] * 1e3,
        total[2] * 1e3,
        3.0 * flops_total / all / 1e9
    );
}

/// Random data for one geometry.
struct Case {
    input: Vec<f32>,
    weight: Vec<f32>,
    grad: Vec<f32>,
    flop: f64,
}

impl Case {
    fn new(g: ConvGeometry) -> Self {
        let [oh, ow] = g.out_size().expect("valid geometry");
        Case {
            input: random(BATCH * g.in_channels * g.in_plane(), 1),
            weight: random(g.out_channels * g.patch_len(), 2),
            grad: random(BATCH * g.out_channels * oh * ow, 3),
            flop: 2.0 * (BATCH * g.out_channels * oh * ow * g.patch_len()) as f64,
        }
    }
}

/// The im2col path against the direct one (large planes) or the channels-last one
/// (every other shape), alternated: this machine's neighbours make single runs differ by
/// ±15%.
fn compare(width: usize) {
    println!("width {width}, batch {BATCH}: GFLOP/s im2col -> direct (d) or channels-last (c), best of 4 alternated rounds");
    for (name, g, _) in shapes(width) {
        let case = Case::new(g);
        let (x, w, dy) = (&case.input, &case.weight, &case.grad);
        let direct = direct::applies(&g, direct::Pass::WeightGrad);
        let other: [&dyn Fn() -> Vec<f32>; 3] = if direct {
            [
                &|| direct::forward(&g, x, w),
                &|| direct::input_grad(&g, w, dy),
                &|| direct::weight_grad(&g, x, dy),
            ]
        } else {
            [
                &|| channels_last::forward(&g, x, w),
                &|| channels_last::input_grad(&g, w, dy),
                &|| channels_last::weight_grad(&g, x, dy),
            ]
        };
        let im2col: [&dyn Fn() -> Vec<f32>; 3] = [
            &|| forward_im2col(&g, x, w),
            &|| input_grad_im2col(&g, w, dy),
            &|| weight_grad_im2col(&g, x, dy),
        ];
        let mut times = [[f64::INFINITY; 2]; 3];
        for _ in 0..4 {
            for (pass, time) in times.iter_mut().enumerate() {
                time[0] = time[0].min(best(im2col[pass]));
                time[1] = time[1].min(best(other[pass]));
            }
        }
        let cell = |[a, b]: [f64; 2]| {
            format!("{:6.1} -> {:6.1}", case.flop / a / 1e9, case.flop / b / 1e9)
        };
        let tag = if direct { "d" } else { "c" };
        println!(
            "{name:<10} {tag} forward {}  input grad {}  weight grad {}",
            cell(times[0]),
            cell(times[1]),
            cell(times[2])
        );
    }
}

// As the `simclr` binary does: large buffers reused from one call to the next.
#[global_allocator]
static ALLOCATOR: simclr_kernels::BlockCache = simclr_kernels::BlockCache::new();
