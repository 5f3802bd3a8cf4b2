//! The hyper-parameter grid of [`grid_search`](crate::grid_search): named
//! values, their cartesian product, and the points it enumerates.

use std::fmt;

use serde::Serialize;

use crate::TrainError;

/// One value of a grid parameter: an integer, a number or a text (e.g. an
/// optimizer name or a network in the report's notation).
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// An integer, e.g. a hidden size or a batch size.
    Int(i64),
    /// A number, e.g. a learning rate.
    Float(f64),
    /// A text, e.g. `adam`.
    Text(String),
}

impl fmt::Display for ParamValue {
    /// `100`, `0.1`, `adam`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Text(v) => f.write_str(v),
        }
    }
}

impl Serialize for ParamValue {
    /// A JSON number or string.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ParamValue::Int(v) => serializer.serialize_i64(*v),
            ParamValue::Float(v) => serializer.serialize_f64(*v),
            ParamValue::Text(v) => serializer.serialize_str(v),
        }
    }
}

macro_rules! from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for ParamValue {
            fn from(v: $t) -> Self {
                ParamValue::Int(v as i64)
            }
        }
    )*};
}
from_int!(i32, i64, u32, usize);

impl From<f64> for ParamValue {
    fn from(v: f64) -> Self {
        ParamValue::Float(v)
    }
}

impl From<f32> for ParamValue {
    /// Through the f32's shortest decimal form, so `0.1f32` is `0.1`.
    fn from(v: f32) -> Self {
        ParamValue::Float(v.to_string().parse().unwrap_or(f64::from(v)))
    }
}

impl From<&str> for ParamValue {
    fn from(v: &str) -> Self {
        ParamValue::Text(v.to_string())
    }
}

impl From<String> for ParamValue {
    fn from(v: String) -> Self {
        ParamValue::Text(v)
    }
}

/// Named lists of values, in the order they were added; the points are their
/// cartesian product.
///
/// ```
/// use nn_train::ParamGrid;
/// let grid = ParamGrid::new().add("hidden", [50, 100]).add("lr", [0.01, 0.1]);
/// assert_eq!(grid.len(), 4);
/// let names: Vec<String> = grid.points().unwrap().iter().map(|p| p.to_string()).collect();
/// assert_eq!(names, ["hidden=50, lr=0.01", "hidden=50, lr=0.1", "hidden=100, lr=0.01", "hidden=100, lr=0.1"]);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParamGrid {
    params: Vec<(String, Vec<ParamValue>)>,
}

impl ParamGrid {
    /// An empty grid.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds parameter `name` with `values` (builder style).
    pub fn add<V: Into<ParamValue>>(
        mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.push(name, values);
        self
    }

    /// Adds parameter `name` with `values`.
    pub fn push<V: Into<ParamValue>>(
        &mut self,
        name: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) {
        self.params.push((name.into(), values.into_iter().map(Into::into).collect()));
    }

    /// The parameter names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.params.iter().map(|(n, _)| n.as_str())
    }

    /// The parameters and their values, in order.
    pub fn params(&self) -> &[(String, Vec<ParamValue>)] {
        &self.params
    }

    /// Number of points: the product of the numbers of values (0 for an empty grid).
    pub fn len(&self) -> usize {
        if self.params.is_empty() { 0 } else { self.params.iter().map(|(_, v)| v.len()).product() }
    }

    /// Whether the grid has no point.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points, in odometer order: the first parameter varies slowest,
    /// the last fastest, each through its values in the order given. Point
    /// `i` has index `i`.
    ///
    /// # Errors
    /// [`TrainError::EmptyGrid`] if there is no parameter or one has no value;
    /// [`TrainError::DuplicateParam`] if a name is given twice.
    pub fn points(&self) -> Result<Vec<Point>, TrainError> {
        if self.params.is_empty() {
            return Err(TrainError::EmptyGrid(": add a parameter".into()));
        }
        for (i, (name, values)) in self.params.iter().enumerate() {
            if values.is_empty() {
                return Err(TrainError::EmptyGrid(format!(": parameter \"{name}\" has no values")));
            }
            if self.params[..i].iter().any(|(n, _)| n == name) {
                return Err(TrainError::DuplicateParam(name.clone()));
            }
        }
        let mut points = Vec::with_capacity(self.len());
        for index in 0..self.len() {
            let mut rest = index;
            let mut values = vec![ParamValue::Int(0); self.params.len()];
            for (slot, (_, options)) in values.iter_mut().zip(&self.params).rev() {
                *slot = options[rest % options.len()].clone();
                rest /= options.len();
            }
            let values = self.params.iter().map(|(n, _)| n.clone()).zip(values).collect();
            points.push(Point { index, values });
        }
        Ok(points)
    }
}

/// One point of a grid: a value for each parameter, and its index in the grid's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    index: usize,
    values: Vec<(String, ParamValue)>,
}

impl Point {
    /// A point from (name, value) pairs, for building setups outside a grid.
    pub fn new(index: usize, values: Vec<(String, ParamValue)>) -> Self {
        Self { index, values }
    }

    /// Its position in [`ParamGrid::points`].
    pub fn index(&self) -> usize {
        self.index
    }

    /// The (name, value) pairs, in the grid's parameter order.
    pub fn values(&self) -> &[(String, ParamValue)] {
        &self.values
    }

    /// The value of `name`.
    ///
    /// # Errors
    /// [`TrainError::MissingParam`] naming `name` and the names the point has.
    pub fn get(&self, name: &str) -> Result<&ParamValue, TrainError> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v).ok_or_else(|| TrainError::MissingParam {
            name: name.to_string(),
            available: self.values.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// The value of `name` as a number (an integer or a text that parses is fine).
    ///
    /// # Errors
    /// [`TrainError::MissingParam`]; [`TrainError::ParamType`] if it is not a number.
    pub fn get_f64(&self, name: &str) -> Result<f64, TrainError> {
        match self.get(name)? {
            ParamValue::Float(v) => Ok(*v),
            ParamValue::Int(v) => Ok(*v as f64),
            ParamValue::Text(t) => t.trim().parse().map_err(|_| self.type_error(name, "a number")),
        }
    }

    /// The value of `name` as a non-negative integer (a whole number or a text that parses is fine).
    ///
    /// # Errors
    /// [`TrainError::MissingParam`]; [`TrainError::ParamType`] if it is not a non-negative integer.
    pub fn get_usize(&self, name: &str) -> Result<usize, TrainError> {
        let bad = || self.type_error(name, "a non-negative integer");
        match self.get(name)? {
            ParamValue::Int(v) => usize::try_from(*v).map_err(|_| bad()),
            ParamValue::Float(v) if v.fract() == 0.0 && *v >= 0.0 && *v < 2f64.powi(53) => Ok(*v as usize),
            ParamValue::Float(_) => Err(bad()),
            ParamValue::Text(t) => t.trim().parse().map_err(|_| bad()),
        }
    }

    /// The value of `name` as a text (numbers are printed).
    ///
    /// # Errors
    /// [`TrainError::MissingParam`].
    pub fn get_str(&self, name: &str) -> Result<String, TrainError> {
        Ok(self.get(name)?.to_string())
    }

    fn type_error(&self, name: &str, expected: &'static str) -> TrainError {
        let value = self.get(name).map(|v| format!("{v:?}")).unwrap_or_default();
        TrainError::ParamType { name: name.to_string(), value, expected }
    }

    /// A file-name stem: `point-03_hidden=100_lr=0.1`, the index padded to
    /// `width` digits, characters other than letters, digits, `.`, `-`, `=`
    /// and `_` replaced by `_`.
    pub fn file_stem(&self, width: usize) -> String {
        let mut stem = format!("point-{:0width$}", self.index);
        for (name, value) in &self.values {
            stem.push('_');
            stem.push_str(name);
            stem.push('=');
            stem.push_str(&value.to_string());
        }
        let keep = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '=' | '_');
        stem.chars().map(|c| if keep(c) { c } else { '_' }).collect()
    }
}

impl fmt::Display for Point {
    /// `hidden=100, lr=0.1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, value)) in self.values.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}={value}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_the_product_in_odometer_order() {
        let grid = ParamGrid::new().add("a", [1, 2]).add("b", ["x", "y", "z"]);
        let points = grid.points().unwrap();
        assert_eq!(points.len(), 6);
        let shown: Vec<String> = points.iter().map(|p| format!("{}:{p}", p.index())).collect();
        assert_eq!(
            shown,
            ["0:a=1, b=x", "1:a=1, b=y", "2:a=1, b=z", "3:a=2, b=x", "4:a=2, b=y", "5:a=2, b=z"]
        );
    }

    #[test]
    fn getters_convert_and_name_what_is_missing() {
        let grid = ParamGrid::new().add("hidden", [100]).add("lr", [0.1f32]).add("opt", ["adam"]);
        let p = &grid.points().unwrap()[0];
        assert_eq!(p.get_usize("hidden").unwrap(), 100);
        assert_eq!(p.get_f64("hidden").unwrap(), 100.0);
        assert_eq!(p.get_f64("lr").unwrap(), 0.1);
        assert_eq!(p.get_str("opt").unwrap(), "adam");
        assert_eq!(
            p.get_f64("epochs").unwrap_err().to_string(),
            "grid point has no parameter \"epochs\" (it has: hidden, lr, opt)"
        );
        assert_eq!(
            p.get_usize("lr").unwrap_err().to_string(),
            "grid parameter \"lr\" is Float(0.1), expected a non-negative integer"
        );
        assert_eq!(
            p.get_f64("opt").unwrap_err().to_string(),
            "grid parameter \"opt\" is Text(\"adam\"), expected a number"
        );
    }

    #[test]
    fn bad_grids_are_refused() {
        assert_eq!(
            ParamGrid::new().points().unwrap_err().to_string(),
            "parameter grid is empty: add a parameter"
        );
        let empty: [f64; 0] = [];
        let err = ParamGrid::new().add("lr", empty).points().unwrap_err();
        assert_eq!(err.to_string(), "parameter grid is empty: parameter \"lr\" has no values");
        let err = ParamGrid::new().add("lr", [0.1]).add("lr", [0.2]).points().unwrap_err();
        assert_eq!(err.to_string(), "grid parameter \"lr\" is given twice");
    }

    #[test]
    fn file_stems_are_safe_names() {
        let grid = ParamGrid::new().add("hidden", [100]).add("lr", [0.1]).add("net", ["Linear(64, 10)"]);
        let p = &grid.points().unwrap()[0];
        assert_eq!(p.file_stem(2), "point-00_hidden=100_lr=0.1_net=Linear_64__10_");
        assert_eq!(serde_json::to_string(&ParamValue::Float(0.1)).unwrap(), "0.1");
        assert_eq!(serde_json::to_string(&ParamValue::from("a")).unwrap(), "\"a\"");
    }
}
