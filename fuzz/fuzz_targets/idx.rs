//! IDX images and labels: any bytes (gzipped or not) read to data or a DataError.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte splits the input into an images file and a labels file.
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = (cut as usize * rest.len() / 255).min(rest.len());
    let (images, labels) = rest.split_at(cut);
    if let Ok(x) = nn_data::parse_idx_images(rest, "images") {
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    if let Ok(labels) = nn_data::parse_idx_labels(rest, "labels") {
        assert!(labels.iter().all(|&l| l < 256));
    }
    if let Ok(set) = nn_data::parse_idx_pair(images, "images", labels, "labels") {
        assert_eq!(set.x.nrows(), set.labels.len());
        assert!(set.labels.iter().all(|&l| l < set.classes));
    }
});
