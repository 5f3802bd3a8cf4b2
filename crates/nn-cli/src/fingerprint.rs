//! A cheap fingerprint of the rows a run trains on, kept in its checkpoints:
//! `nn train --resume` refuses other data with the same number of rows,
//! and accepts the same data under a moved or renamed file.

use nn_data::Dataset;

/// The checkpoint metadata key of [`fingerprint`]. Older checkpoints have
/// none and are resumed on a row count alone, as before.
pub const DATA_FINGERPRINT: &str = "data_fingerprint";

/// 64-bit FNV-1a over the shape, every value's f32 bits and every label of
/// `data`, in order, as 16 hexadecimal digits. Not a cryptographic hash: it
/// tells a different data set from the run's, not a forged one.
pub fn fingerprint(data: &Dataset) -> String {
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
        }
    };
    eat(&(data.x.nrows() as u64).to_le_bytes());
    eat(&(data.x.ncols() as u64).to_le_bytes());
    for &v in &data.x {
        eat(&v.to_bits().to_le_bytes());
    }
    for &label in &data.labels {
        eat(&(label as u64).to_le_bytes());
    }
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn one_value_or_label_changes_the_fingerprint() {
        let data = Dataset::new(array![[0.0f32, 1.0], [2.0, 3.0]], vec![0, 1]);
        let same = Dataset::new(array![[0.0f32, 1.0], [2.0, 3.0]], vec![0, 1]);
        assert_eq!(fingerprint(&data), fingerprint(&same));
        assert_eq!(fingerprint(&data).len(), 16);
        let value = Dataset::new(array![[0.0f32, 1.0], [2.0, 3.5]], vec![0, 1]);
        let label = Dataset::new(array![[0.0f32, 1.0], [2.0, 3.0]], vec![1, 0]);
        let shape = Dataset::new(array![[0.0f32, 1.0, 2.0, 3.0]], vec![0]);
        for other in [value, label, shape] {
            assert_ne!(fingerprint(&data), fingerprint(&other));
        }
    }
}
