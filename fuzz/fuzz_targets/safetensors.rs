//! Safetensors model files: any bytes load (as nn-io's tensors, or as a model
//! of nn with its network rebuilt from the metadata) or give an error.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// One file per fuzzing process, rewritten for each input (nn-io reads files).
fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir =
            if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        dir.join(format!("nn-fuzz-{}.safetensors", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("the temporary file can be written");
    let meta = nn_io::read_metadata(path);
    let tensors = nn_io::load_tensors::<f32>(path);
    let _ = nn_io::load_tensors::<f64>(path);
    // What reads as tensors has valid metadata too.
    if tensors.is_ok() {
        assert!(meta.is_ok());
    }
    if let Ok(model) = nn_cli::model_file::load(path) {
        assert_eq!(model.info.row_shape.iter().product::<usize>(), model.info.features());
    }
});
