//! 8 × 8 transposes in AVX registers, for packing transposed operands and
//! for storing tiles into a column-major c.

use super::MR;

// Packing and the column-major store transpose blocks of MR × MR.
const _: () = assert!(MR == 8);

/// The transpose of an 8 × 8 block: with AVX, in registers by the classic
/// unpack, shuffle and lane-permute steps (24 instructions for 64 values,
/// where element moves through memory take 64 loads and 64 stores).
#[inline(always)]
pub(super) fn transpose_8x8(block: [[f32; 8]; 8]) -> [[f32; 8]; 8] {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V3::try_new() {
        let avx = simd.avx;
        let r: [std::arch::x86_64::__m256; 8] = block.map(pulp::cast);
        // Pairs of rows interleaved: (r0 r1), (r2 r3), … by 32-bit elements.
        let t = [
            avx._mm256_unpacklo_ps(r[0], r[1]),
            avx._mm256_unpackhi_ps(r[0], r[1]),
            avx._mm256_unpacklo_ps(r[2], r[3]),
            avx._mm256_unpackhi_ps(r[2], r[3]),
            avx._mm256_unpacklo_ps(r[4], r[5]),
            avx._mm256_unpackhi_ps(r[4], r[5]),
            avx._mm256_unpacklo_ps(r[6], r[7]),
            avx._mm256_unpackhi_ps(r[6], r[7]),
        ];
        // Then by 64-bit pairs: each 128-bit lane holds one column of 4 rows.
        let u = [
            avx._mm256_shuffle_ps::<0x44>(t[0], t[2]),
            avx._mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            avx._mm256_shuffle_ps::<0x44>(t[1], t[3]),
            avx._mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            avx._mm256_shuffle_ps::<0x44>(t[4], t[6]),
            avx._mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            avx._mm256_shuffle_ps::<0x44>(t[5], t[7]),
            avx._mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        // Then the low lanes of rows 0–3 with those of rows 4–7, and the high ones.
        let columns = [
            avx._mm256_permute2f128_ps::<0x20>(u[0], u[4]),
            avx._mm256_permute2f128_ps::<0x20>(u[1], u[5]),
            avx._mm256_permute2f128_ps::<0x20>(u[2], u[6]),
            avx._mm256_permute2f128_ps::<0x20>(u[3], u[7]),
            avx._mm256_permute2f128_ps::<0x31>(u[0], u[4]),
            avx._mm256_permute2f128_ps::<0x31>(u[1], u[5]),
            avx._mm256_permute2f128_ps::<0x31>(u[2], u[6]),
            avx._mm256_permute2f128_ps::<0x31>(u[3], u[7]),
        ];
        return columns.map(pulp::cast);
    }
    std::array::from_fn(|t| std::array::from_fn(|c| block[c][t]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_transpose() {
        let block: [[f32; 8]; 8] = std::array::from_fn(|r| std::array::from_fn(|c| (r * 8 + c) as f32));
        let t = transpose_8x8(block);
        for (r, row) in t.iter().enumerate() {
            for (c, &v) in row.iter().enumerate() {
                assert_eq!(v, (c * 8 + r) as f32, "[{r}][{c}]");
            }
        }
    }
}
