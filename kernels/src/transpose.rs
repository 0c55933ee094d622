//! Blocked matrix transposition between channel-first planes and channel-last rows.

/// Side of the square blocks: eight rows of a power-of-two stride (4 KB apart for a
/// 32×32 plane) still fit the L1 cache's ways, sixteen did not (measured 1.3× slower).
const BLOCK: usize = 8;

/// `dst[c * dst_stride + r] = src[r * src_stride + c]` for `r < rows`, `c < cols`.
///
/// # Panics
/// If either view reaches past its slice.
pub fn transpose(
    src: &[f32],
    [rows, cols]: [usize; 2],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
) {
    if rows == 0 || cols == 0 {
        return;
    }
    assert!(
        (rows - 1) * src_stride + cols <= src.len() && (cols - 1) * dst_stride + rows <= dst.len(),
        "transpose: a view reaches past its slice"
    );
    let (full_rows, full_cols) = (rows / BLOCK * BLOCK, cols / BLOCK * BLOCK);
    full_blocks(src, [full_rows, full_cols], src_stride, dst, dst_stride);
    // The edges: the last `rows % BLOCK` rows, and the last columns of the others.
    for r in 0..rows {
        let first_col = if r < full_rows { full_cols } else { 0 };
        for c in first_col..cols {
            dst[c * dst_stride + r] = src[r * src_stride + c];
        }
    }
}

/// The whole blocks of [`transpose`] (`rows` and `cols` multiples of `BLOCK`, views
/// checked by the caller): with AVX, eight loads, 24 shuffles and eight stores per block
/// in one loop; elsewhere through a local array (which LLVM leaves as 64 scalar moves).
fn full_blocks(
    src: &[f32],
    [rows, cols]: [usize; 2],
    src_stride: usize,
    dst: &mut [f32],
    dst_stride: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: AVX is present, and the caller checked that both views lie inside
        // their slices (which do not overlap: one is borrowed mutably).
        unsafe {
            avx::blocks(
                src.as_ptr(),
                [rows, cols],
                src_stride,
                dst.as_mut_ptr(),
                dst_stride,
            )
        };
        return;
    }
    for first_row in (0..rows).step_by(BLOCK) {
        for first_col in (0..cols).step_by(BLOCK) {
            let from = first_row * src_stride + first_col;
            let to = first_col * dst_stride + first_row;
            portable_block(src, from, src_stride, dst, to, dst_stride);
        }
    }
}

/// One `BLOCK × BLOCK` block without SIMD intrinsics.
fn portable_block(
    src: &[f32],
    from: usize,
    src_stride: usize,
    dst: &mut [f32],
    to: usize,
    dst_stride: usize,
) {
    let mut block = [[0.0f32; BLOCK]; BLOCK];
    for (r, row) in block.iter_mut().enumerate() {
        row.copy_from_slice(&src[from + r * src_stride..][..BLOCK]);
    }
    for c in 0..BLOCK {
        let out = &mut dst[to + c * dst_stride..][..BLOCK];
        for (r, value) in out.iter_mut().enumerate() {
            *value = block[r][c];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::BLOCK;
    use std::arch::x86_64::*;

    /// Transposes the `rows × cols` region at `src` (multiples of 8) into `dst`.
    ///
    /// # Safety
    /// AVX must be available; both regions at their strides must lie inside their
    /// allocations and must not overlap.
    #[target_feature(enable = "avx")]
    pub unsafe fn blocks(
        src: *const f32,
        [rows, cols]: [usize; 2],
        src_stride: usize,
        dst: *mut f32,
        dst_stride: usize,
    ) {
        for first_row in (0..rows).step_by(BLOCK) {
            for first_col in (0..cols).step_by(BLOCK) {
                unsafe {
                    block(
                        src.add(first_row * src_stride + first_col),
                        src_stride,
                        dst.add(first_col * dst_stride + first_row),
                        dst_stride,
                    )
                };
            }
        }
    }

    #[inline(always)]
    unsafe fn block(src: *const f32, src_stride: usize, dst: *mut f32, dst_stride: usize) {
        let row = |r: usize| unsafe { _mm256_loadu_ps(src.add(r * src_stride)) };
        let [r0, r1, r2, r3, r4, r5, r6, r7] = [0, 1, 2, 3, 4, 5, 6, 7].map(row);
        let (t0, t1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
        let (t2, t3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
        let (t4, t5) = (_mm256_unpacklo_ps(r4, r5), _mm256_unpackhi_ps(r4, r5));
        let (t6, t7) = (_mm256_unpacklo_ps(r6, r7), _mm256_unpackhi_ps(r6, r7));
        let (u0, u1) = (
            _mm256_shuffle_ps::<0x44>(t0, t2),
            _mm256_shuffle_ps::<0xEE>(t0, t2),
        );
        let (u2, u3) = (
            _mm256_shuffle_ps::<0x44>(t1, t3),
            _mm256_shuffle_ps::<0xEE>(t1, t3),
        );
        let (u4, u5) = (
            _mm256_shuffle_ps::<0x44>(t4, t6),
            _mm256_shuffle_ps::<0xEE>(t4, t6),
        );
        let (u6, u7) = (
            _mm256_shuffle_ps::<0x44>(t5, t7),
            _mm256_shuffle_ps::<0xEE>(t5, t7),
        );
        let columns = [
            _mm256_permute2f128_ps::<0x20>(u0, u4),
            _mm256_permute2f128_ps::<0x20>(u1, u5),
            _mm256_permute2f128_ps::<0x20>(u2, u6),
            _mm256_permute2f128_ps::<0x20>(u3, u7),
            _mm256_permute2f128_ps::<0x31>(u0, u4),
            _mm256_permute2f128_ps::<0x31>(u1, u5),
            _mm256_permute2f128_ps::<0x31>(u2, u6),
            _mm256_permute2f128_ps::<0x31>(u3, u7),
        ];
        for (c, column) in columns.into_iter().enumerate() {
            unsafe { _mm256_storeu_ps(dst.add(c * dst_stride), column) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portable_block_matches_the_simd_one() {
        let src: Vec<f32> = (0..16 * 19).map(|i| i as f32).collect();
        let (mut simd, mut portable) = (vec![0.0; 16 * 19], vec![0.0; 16 * 19]);
        full_blocks(&src[2..], [16, 16], 19, &mut simd[1..], 18);
        for (r, c) in [(0, 0), (0, 8), (8, 0), (8, 8)] {
            portable_block(
                &src[2..],
                r * 19 + c,
                19,
                &mut portable[1..],
                c * 18 + r,
                18,
            );
        }
        assert_eq!(simd, portable);
        assert_eq!(portable[1 + 18 * 11 + 5], src[2 + 19 * 5 + 11]);
    }

    #[test]
    fn transposes_full_and_partial_blocks_between_strided_views() {
        for [rows, cols] in [[8, 8], [3, 5], [17, 9], [16, 24], [1, 13]] {
            let src_stride = cols + 3;
            let dst_stride = rows + 2;
            let src: Vec<f32> = (0..rows * src_stride).map(|i| i as f32).collect();
            let mut dst = vec![-1.0; cols * dst_stride];
            transpose(&src, [rows, cols], src_stride, &mut dst, dst_stride);
            for c in 0..cols {
                for r in 0..dst_stride {
                    let want = if r < rows {
                        src[r * src_stride + c]
                    } else {
                        -1.0
                    };
                    assert_eq!(dst[c * dst_stride + r], want, "{rows}×{cols} at ({r}, {c})");
                }
            }
        }
    }
}
