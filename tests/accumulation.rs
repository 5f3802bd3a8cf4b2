//! Accumulation semantics, as Lua Torch's Jacobian.testAllUpdate checks them:
//! two backward_update_gradient calls give twice the gradient, zero_grad
//! resets it, update_parameters(step) moves each parameter by −step × gradient;
//! and backward_set_gradient replaces the gradients by one call's, bit for
//! bit, whatever they held (NaN included).

use ndarray::ArrayD;
use nn::core::gradcheck;
use nn::layers::{Conv1D, Flatten, Linear, ReLU};
use nn::models::{AutoEncoder, Sequential};
use nn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn params(module: &dyn Module<f64>) -> Vec<(String, ArrayD<f64>, ArrayD<f64>)> {
    let mut out = Vec::new();
    module.visit_parameters(&mut |p| out.push((p.name.to_string(), p.value.to_owned(), p.grad.to_owned())));
    out
}

fn check_accumulation(module: &mut dyn Module<f64>, x: &ArrayD<f64>) {
    let shape = module.forward(x.view()).unwrap().shape().to_vec();
    let delta = gradcheck::uniform(&shape, -1.0..1.0, &mut gradcheck::seeded(9));
    module.zero_grad();
    module.backward_update_gradient(x.view(), delta.view()).unwrap();
    let once = params(module);
    assert!(!once.is_empty(), "{module} has parameters");
    assert!(once.iter().any(|(_, _, g)| g.iter().any(|&v| v != 0.0)), "{module}: some gradient is non-zero");

    module.backward_update_gradient(x.view(), delta.view()).unwrap();
    let twice = params(module);
    for ((name, _, g1), (_, _, g2)) in once.iter().zip(twice) {
        // Accumulating adds into the running sum, so the rounding may differ from 2·g in the last bit.
        let worst = (&g2 - &(g1 * 2.0)).iter().fold(0.0f64, |m, d| m.max(d.abs()));
        assert!(
            worst <= 1e-12 * (1.0 + g1.iter().fold(0.0f64, |m, v| m.max(v.abs()))),
            "{module}: {name} after two calls: {g2} vs 2 × {g1}"
        );
    }

    // Setting replaces what was accumulated, and never reads it: not even NaN.
    for garbage in [None, Some(f64::NAN)] {
        if let Some(value) = garbage {
            module.visit_parameters_mut(&mut |mut p| p.grad.fill(value));
        }
        module.backward_set_gradient(x.view(), delta.view()).unwrap();
        for ((name, _, g1), (_, _, set)) in once.iter().zip(params(module)) {
            let same = g1.iter().zip(&set).all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{module}: {name} set over {garbage:?}: {set} vs {g1}");
        }
    }
    module.backward_update_gradient(x.view(), delta.view()).unwrap();

    let step = 0.125; // a power of two, so w − step·g is exact to compare
    let before = params(module);
    module.update_parameters(step);
    for ((name, w, g), (_, w_after, _)) in before.iter().zip(params(module)) {
        assert_eq!(w_after, w - &(g * step), "{module}: {name} after update_parameters");
    }

    module.zero_grad();
    for (name, _, g) in params(module) {
        assert!(g.iter().all(|&v| v == 0.0), "{module}: {name} after zero_grad");
    }
}

#[test]
fn linear_accumulates_and_updates() {
    let mut rng = StdRng::seed_from_u64(0);
    let x = gradcheck::uniform(&[5, 4], -1.0..1.0, &mut rng);
    check_accumulation(&mut Linear::<f64>::new(4, 3, &mut rng), &x);
}

#[test]
fn conv1d_accumulates_and_updates() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = gradcheck::uniform(&[2, 9, 2], -1.0..1.0, &mut rng);
    check_accumulation(&mut Conv1D::<f64>::new(3, 2, 4, 2, &mut rng), &x);
}

#[test]
fn sequential_accumulates_and_updates() {
    let mut rng = StdRng::seed_from_u64(2);
    let x = gradcheck::uniform(&[3, 8, 1], -1.0..1.0, &mut rng);
    let mut net = Sequential::<f64>::new()
        .add(Conv1D::new(3, 1, 2, 1, &mut rng))
        .add(ReLU::new())
        .add(Flatten::new())
        .add(Linear::new(12, 3, &mut rng));
    check_accumulation(&mut net, &x);
}

#[test]
fn autoencoder_accumulates_and_updates() {
    let mut rng = StdRng::seed_from_u64(3);
    let x = gradcheck::uniform(&[4, 6], 0.0..1.0, &mut rng);
    let encoder = Sequential::<f64>::new().add(Linear::new(6, 2, &mut rng));
    let decoder = Sequential::<f64>::new().add(Linear::new(2, 6, &mut rng));
    check_accumulation(&mut AutoEncoder::new(encoder, decoder), &x);
}

#[test]
fn sequential_backward_set_returns_the_input_gradient_of_backward() {
    let mut rng = StdRng::seed_from_u64(4);
    let x = gradcheck::uniform(&[3, 5], -1.0..1.0, &mut rng);
    let mut net = Sequential::<f64>::new()
        .add(Linear::new(5, 4, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(4, 2, &mut rng));
    let shape = net.forward(x.view()).unwrap().shape().to_vec();
    let delta = gradcheck::uniform(&shape, -1.0..1.0, &mut rng);
    net.zero_grad();
    let expected = net.backward(x.view(), delta.view()).unwrap().clone();
    let accumulated = params(&net);
    net.visit_parameters_mut(&mut |mut p| p.grad.fill(f64::NAN));
    assert_eq!(net.backward_set(x.view(), delta.view()).unwrap(), &expected);
    for ((name, _, g), (_, _, set)) in accumulated.iter().zip(params(&net)) {
        assert_eq!(&set, g, "{name}");
    }
}
