//! The network notation: any text parses to layers or a located error; a
//! parsed network of modest size builds and checks its shapes without panicking.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nn_cli::experiment::{NetSpec, Network};

fuzz_target!(|text: &str| {
    let Ok(specs) = nn_cli::notation::parse(text) else { return };
    // Every layer prints in the notation it parses from.
    let printed = NetSpec::Classifier(specs.clone()).notation();
    assert_eq!(nn_cli::notation::parse(&printed).ok().as_ref(), Some(&specs), "{printed}");
    // Shapes: what nn train checks before training, for rows of 64 features,
    // on networks small enough to build quickly.
    if nn_cli::build::check_parameters(&specs).is_ok_and(|n| n <= 1 << 20) {
        let spec = NetSpec::Classifier(specs);
        let network = Network::build(&spec, 0);
        let _ = nn_cli::experiment::check(&spec, &network, 64, 10);
    }
});
