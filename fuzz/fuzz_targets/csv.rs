//! CSV data: any bytes (gzipped or not) read to data or a DataError; what
//! reads is finite, rectangular, and labelled below its class count. Read
//! as unlabelled rows, the same bytes give one more column than labelled.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nn_data::CsvOptions;

fuzz_target!(|data: &[u8]| {
    for options in [CsvOptions::default(), CsvOptions { scale: 1.0 / 255.0, classes: Some(10) }] {
        if let Ok(set) = nn_data::parse_csv(data, "fuzz.csv", &options) {
            assert!(!set.is_empty());
            assert_eq!(set.x.nrows(), set.labels.len());
            assert!(set.x.iter().all(|v| v.is_finite()));
            assert!(set.labels.iter().all(|&l| l < set.classes));
        }
    }
    if let Ok(x) = nn_data::parse_csv_features(data, "fuzz.csv", 1.0) {
        assert!(x.nrows() > 0 && x.iter().all(|v| v.is_finite()));
        if let Ok(set) = nn_data::parse_csv(data, "fuzz.csv", &CsvOptions::default()) {
            assert_eq!((set.x.nrows(), set.x.ncols() + 1), x.dim());
        }
    }
});
