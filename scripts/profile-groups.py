"""Groups a `perf report` of `simclr bench` into op groups (share of CPU samples).

    perf record -o step.data target/debug/simclr bench --width 64 --batch-size 64 ...
    perf report -i step.data --no-children --sort dso,symbol --stdio | python3 scripts/profile-groups.py
"""

import re
import sys

GROUPS = [
    ("conv: gemm inner kernels", r"gemm_f32::microkernel"),
    ("conv: gemm packing", r"gemm_common|gemm::gemm"),
    ("conv: flex's conv loops, im2col / col2im", r"simclr_kernels::im2col|burn_flex::ops::conv"),
    ("BatchNorm / ReLU / residual (fused kernel)", r"simclr_kernels::batch_norm|FnMut<A> for &F>::call_mut|fold_with"),
    ("element-wise ops, copies to contiguous (flex)", r"burn_flex::|macerator|cubecl_zspace|FnOnce::call_once"),
    ("memcpy / memset", r"libc\.so.*__mem"),
    ("page faults, kernel", r"\[kernel|\[k\]"),
]


def main():
    totals = {name: 0.0 for name, _ in GROUPS}
    other = 0.0
    for line in sys.stdin:
        match = re.match(r"\s*([0-9.]+)%\s+(.*)", line)
        if not match:
            continue
        share, rest = float(match.group(1)), match.group(2)
        for name, pattern in GROUPS:
            if re.search(pattern, rest):
                totals[name] += share
                break
        else:
            other += share
    print("| op group | share of CPU samples |")
    print("| --- | ---: |")
    for name, _ in GROUPS:
        print(f"| {name} | {totals[name]:.1f}% |")
    print(f"| other (augmentation, loss, optimiser, autodiff graph, ...) | {other:.1f}% |")


if __name__ == "__main__":
    main()
