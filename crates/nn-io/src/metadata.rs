//! `Metadata`: the string map a model file carries in its `__metadata__`.

use std::collections::{BTreeMap, HashMap};

/// The key [`save`](crate::save) sets to [`FORMAT`].
pub const FORMAT_KEY: &str = "format";

/// The value of [`FORMAT_KEY`] in files this crate writes.
pub const FORMAT: &str = "nn";

/// The key [`save`](crate::save) sets to the element type, `f32` or `f64`.
pub const DTYPE_KEY: &str = "dtype";

/// String keys and values stored in the file's `__metadata__`, kept sorted
/// so the same model always gives the same bytes.
///
/// [`save`](crate::save) adds `format = "nn"` and `dtype`; callers add what
/// they need to rebuild the model (the network in the report's notation, the
/// loss, …).
///
/// ```
/// use nn_io::Metadata;
/// let meta = Metadata::new().with("net", "Linear(64, 10)");
/// assert_eq!(meta.get("net"), Some("Linear(64, 10)"));
/// assert_eq!(meta.get("loss"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    entries: BTreeMap<String, String>,
}

impl Metadata {
    /// No entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same map with `key` set to `value`, for building in one expression.
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`, returning the value it replaces.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        self.entries.insert(key.into(), value.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(String::as_str)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        self.entries.remove(key)
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The element type the file says it holds (`dtype`), if any.
    pub fn dtype(&self) -> Option<&str> {
        self.get(DTYPE_KEY)
    }

    /// Whether the file says it was written by this crate (`format = "nn"`).
    pub fn is_nn_format(&self) -> bool {
        self.get(FORMAT_KEY) == Some(FORMAT)
    }

    /// The map as the `safetensors` crate stores it.
    pub(crate) fn as_map(&self) -> &BTreeMap<String, String> {
        &self.entries
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Metadata {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self { entries: iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }
}

impl From<HashMap<String, String>> for Metadata {
    fn from(map: HashMap<String, String>) -> Self {
        map.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_kept_in_key_order() {
        let mut meta: Metadata = [("b", "2"), ("a", "1")].into_iter().collect();
        assert_eq!(meta.insert("a", "3"), Some("1".to_string()));
        assert_eq!(meta.iter().collect::<Vec<_>>(), vec![("a", "3"), ("b", "2")]);
        assert_eq!(meta.len(), 2);
        assert!(!meta.is_nn_format());
        assert_eq!(meta.remove("b"), Some("2".to_string()));
        assert!(Metadata::new().with(FORMAT_KEY, FORMAT).is_nn_format());
    }
}
