//! Inputs that broke, or could break, the parsers the fuzz targets of `fuzz/`
//! exercise (docs/FUZZING.md), kept as tests that run without nightly.
//!
//! Sizes in the notation (or in a model file's metadata) used to reach the
//! layers unchecked: `Upsample1D(9223372036854775807)` overflowed the length
//! arithmetic in `Upsample1D::output_shape` (a panic with overflow checks, a
//! wrong shape without), and a network of 10¹⁰ parameters, or a model file
//! whose metadata claims one, aborted the process when allocation failed.
//! All are refused now before anything is built.

mod common;

use std::collections::BTreeMap;

use common::{TempDir, nn, refused};
use ndarray::ArrayD;
use nn_cli::experiment::{NetSpec, Network, check};
use nn_io::Metadata;

#[test]
fn an_upsampling_past_usize_is_an_error_not_an_overflow() {
    let net = "Upsample1D(9223372036854775807) -> Upsample1D(2) -> Flatten -> Linear(10,10)";
    assert_eq!(
        refused(&nn(&["train", "--net", net])),
        "Upsample1D(9223372036854775807) makes rows longer than nn can count"
    );
    // What the notation fuzz target does with it.
    let spec = NetSpec::parse(Some(net), None, None).unwrap();
    let network = Network::build(&spec, 0);
    let err = check(&spec, &network, 64, 10).err().unwrap();
    assert_eq!(err.to_string(), "Upsample1D(9223372036854775807) makes rows longer than nn can count");
}

#[test]
fn rows_and_networks_too_large_to_allocate_are_refused_first() {
    assert_eq!(
        refused(&nn(&[
            "train",
            "--encoder",
            "Upsample1D(100000) -> Upsample1D(100000) -> Flatten",
            "--decoder",
            "Linear(10,64)"
        ])),
        "Upsample1D(100000) makes each row 640000000000 values, more than the 2147483648 nn builds"
    );
    assert_eq!(
        refused(&nn(&["train", "--net", "Linear(64,100000000)"])),
        "--net: Linear(64, 100000000) takes the network past the 2147483648 parameters nn builds at most"
    );
    assert_eq!(
        refused(&nn(&["train", "--net", "Conv1D(99999999999999,99999999999999,99999999999999)"])),
        "--net: Conv1D(99999999999999, 99999999999999, 99999999999999) takes the network past the 2147483648 parameters nn builds at most"
    );
}

#[test]
fn a_small_file_claiming_a_huge_network_allocates_nothing() {
    let dir = TempDir::new("fuzz-huge-model");
    let write = |name: &str, net: &str, row_shape: &str| {
        let path = dir.path().join(name);
        let meta = Metadata::new().with("net", net).with("row_shape", row_shape).with("classes", "10");
        let no_tensors: BTreeMap<String, ArrayD<f32>> = BTreeMap::new();
        nn_io::save_tensors(&path, no_tensors.iter().map(|(k, v)| (k, v.view())), &meta).unwrap();
        path.to_str().unwrap().to_string()
    };
    // 40000 × 40000 parameters fit the limit but not the file: refused before building.
    let fits_limit = write("a.safetensors", "Linear(40000,40000) -> Linear(40000,10)", "[40000]");
    assert_eq!(
        refused(&nn(&["eval", "--model", &fits_limit])),
        format!("{fits_limit} does not fit the model: missing 0.weight, 0.bias, 1.weight, 1.bias")
    );
    let past_limit = write("b.safetensors", "Linear(100000,100000)", "[100000]");
    assert_eq!(
        refused(&nn(&["predict", "--model", &past_limit])),
        format!(
            "{past_limit} is not a model written by nn: its \"net\" entry: Linear(100000, 100000) takes the network past the 2147483648 parameters nn builds at most"
        )
    );
    let long_rows = write("c.safetensors", "Upsample1D(4294967296) -> Upsample1D(4294967296)", "[64,1]");
    assert_eq!(
        refused(&nn(&["export", "--torch", &dir.file("c.py"), "--model", &long_rows])),
        format!(
            "{long_rows} is not a model written by nn: its network: Upsample1D(4294967296) makes each row 274877906944 values, more than the 2147483648 nn builds"
        )
    );
    let overflow = write("d.safetensors", "Linear(2,10)", "[4294967296,4294967296]");
    assert_eq!(
        refused(&nn(&["eval", "--model", &overflow])),
        format!(
            "{overflow} is not a model written by nn: its \"row_shape\" entry \"[4294967296,4294967296]\" is not [n, ...]"
        )
    );
}
