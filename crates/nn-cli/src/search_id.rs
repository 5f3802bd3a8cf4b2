//! The id of a grid search: a hash that shards of one search share and
//! shards of different searches do not.
//!
//! FNV-1a (64 bits) over a canonical description of the search (the network
//! of every point, the grid, `--cv`, `--seed`, the training options, the
//! metric) and over the bytes of the data it runs on (the training part's
//! values and labels, so the file, the split and `--test-fraction` are all
//! in). FNV-1a is fixed by its definition, unlike `std`'s `DefaultHasher`,
//! so the id is the same on every machine and every Rust release.

use std::fmt;

use nn_data::Dataset;

/// FNV-1a, 64 bits, fed piece by piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fnv1a(u64);

impl Fnv1a {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// The empty hash.
    pub fn new() -> Self {
        Fnv1a(Self::OFFSET)
    }

    /// Feeds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(Self::PRIME);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a {
    fn default() -> Self {
        Self::new()
    }
}

/// The id of a search, shown as 16 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SearchId(pub u64);

impl SearchId {
    /// The id of the search `description` describes, run on `data`: its
    /// shape, every value (as f32 bits) and every label.
    pub fn new(description: &str, data: &Dataset) -> Self {
        let mut h = Fnv1a::new();
        h.write(description.as_bytes());
        h.write(b"\ndata ");
        for n in [data.x.nrows(), data.x.ncols(), data.classes] {
            h.write(&(n as u64).to_le_bytes());
        }
        for v in &data.x {
            h.write(&v.to_bits().to_le_bytes());
        }
        for &label in &data.labels {
            h.write(&(label as u64).to_le_bytes());
        }
        SearchId(h.finish())
    }

    /// Reads the 16 hexadecimal digits [`SearchId`]'s `Display` writes.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 16 {
            return None;
        }
        u64::from_str_radix(text, 16).ok().map(SearchId)
    }
}

impl fmt::Display for SearchId {
    /// 16 lower-case hexadecimal digits, e.g. `af63bd4c8601b7df`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn fnv(bytes: &[u8]) -> u64 {
        let mut h = Fnv1a::new();
        h.write(bytes);
        h.finish()
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv1a::new();
        h.write(b"foo");
        h.write(b"bar");
        assert_eq!(h.finish(), fnv(b"foobar"), "fed piece by piece");
    }

    fn data(x: ndarray::Array2<f32>, labels: Vec<usize>) -> Dataset {
        Dataset::new(x, labels)
    }

    #[test]
    fn the_id_depends_on_description_values_and_labels() {
        let base = SearchId::new("grid", &data(array![[0.0, 1.0], [2.0, 3.0]], vec![0, 1]));
        assert_eq!(base, SearchId::new("grid", &data(array![[0.0, 1.0], [2.0, 3.0]], vec![0, 1])));
        assert_ne!(base, SearchId::new("grid2", &data(array![[0.0, 1.0], [2.0, 3.0]], vec![0, 1])));
        assert_ne!(base, SearchId::new("grid", &data(array![[0.0, 1.0], [2.0, 3.5]], vec![0, 1])));
        assert_ne!(base, SearchId::new("grid", &data(array![[0.0, 1.0], [2.0, 3.0]], vec![1, 0])));
        assert_ne!(base, SearchId::new("grid", &data(array![[0.0, 1.0, 2.0, 3.0]], vec![1])));
    }

    #[test]
    fn ids_are_shown_and_read_as_16_hex_digits() {
        let id = SearchId(0xaf63_dc4c_8601_ec8c);
        assert_eq!(id.to_string(), "af63dc4c8601ec8c");
        assert_eq!(SearchId::parse("af63dc4c8601ec8c"), Some(id));
        assert_eq!(SearchId(1).to_string(), "0000000000000001");
        assert_eq!(SearchId::parse("xyz"), None);
        assert_eq!(SearchId::parse("af63dc4c8601ec8g"), None);
    }
}
