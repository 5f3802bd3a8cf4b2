//! Sequential and AutoEncoder: gradients equal the chain of their parts,
//! the report's shapes come out right, and a shape typo is refused clearly.

use ndarray::ArrayD;
use nn::core::gradcheck;
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, TanH};
use nn::models::{AutoEncoder, Sequential};
use nn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn grads(module: &dyn Module<f64>) -> Vec<ArrayD<f64>> {
    let mut out = Vec::new();
    module.visit_parameters(&mut |p| out.push(p.grad.to_owned()));
    out
}

#[test]
fn sequential_backward_equals_the_chain_of_its_parts() {
    let mut rng = StdRng::seed_from_u64(11);
    let mut parts: Vec<Box<dyn Module<f64>>> = vec![
        Box::new(Conv1D::new(3, 1, 4, 1, &mut rng)),
        Box::new(ReLU::new()),
        Box::new(MaxPool1D::new(2, 2)),
        Box::new(Flatten::new()),
        Box::new(Linear::new(3 * 4, 5, &mut rng)),
    ];
    let mut rng = StdRng::seed_from_u64(11);
    let mut net = Sequential::<f64>::new()
        .add(Conv1D::new(3, 1, 4, 1, &mut rng))
        .add(ReLU::new())
        .add(MaxPool1D::new(2, 2))
        .add(Flatten::new())
        .add(Linear::new(3 * 4, 5, &mut rng));
    let x = gradcheck::uniform(&[2, 8, 1], -1.0..1.0, &mut rng);
    let delta = gradcheck::uniform(&[2, 5], -1.0..1.0, &mut rng);

    // By hand: forward through each part, then backward from the last.
    let mut inputs = vec![x.clone()];
    for part in parts.iter_mut() {
        let out = part.forward(inputs.last().unwrap().view()).unwrap().clone();
        inputs.push(out);
    }
    let mut d = delta.clone();
    for (part, input) in parts.iter_mut().zip(&inputs).rev() {
        part.backward_update_gradient(input.view(), d.view()).unwrap();
        d = part.backward_delta(input.view(), d.view()).unwrap().clone();
    }

    let out = net.forward(x.view()).unwrap().clone();
    assert_eq!(&out, inputs.last().unwrap());
    let grad_input = net.backward(x.view(), delta.view()).unwrap().clone();
    assert_eq!(grad_input, d);
    let by_hand: Vec<ArrayD<f64>> = parts.iter().flat_map(|p| grads(p.as_ref())).collect();
    assert_eq!(grads(&net), by_hand);
    assert_eq!(by_hand.len(), 4);
}

#[test]
fn sequential_backward_delta_alone_does_not_touch_parameter_gradients() {
    let mut rng = StdRng::seed_from_u64(12);
    let mut net = Sequential::<f64>::new().add(Linear::new(4, 3, &mut rng)).add(TanH::new());
    let x = gradcheck::uniform(&[2, 4], -1.0..1.0, &mut rng);
    let delta = gradcheck::uniform(&[2, 3], -1.0..1.0, &mut rng);
    net.forward(x.view()).unwrap();
    let via_delta = net.backward_delta(x.view(), delta.view()).unwrap().clone();
    assert!(grads(&net).iter().all(|g| g.iter().all(|&v| v == 0.0)));
    let via_backward = net.backward(x.view(), delta.view()).unwrap().clone();
    assert_eq!(via_delta, via_backward);
}

#[test]
fn autoencoder_equals_its_encoder_then_its_decoder() {
    let build = |seed| {
        let mut rng = StdRng::seed_from_u64(seed);
        let encoder = Sequential::<f64>::new().add(Linear::new(6, 3, &mut rng)).add(TanH::new());
        let decoder = Sequential::<f64>::new().add(Linear::new(3, 6, &mut rng)).add(Sigmoid::new());
        (encoder, decoder)
    };
    let (mut encoder, mut decoder) = build(5);
    let (e, d) = build(5);
    let mut auto = AutoEncoder::new(e, d);
    let x = gradcheck::uniform(&[3, 6], 0.0..1.0, &mut gradcheck::seeded(1));
    let delta = gradcheck::uniform(&[3, 6], -1.0..1.0, &mut gradcheck::seeded(2));

    let code = encoder.forward(x.view()).unwrap().clone();
    let out = decoder.forward(code.view()).unwrap().clone();
    let d_code = decoder.backward(code.view(), delta.view()).unwrap().clone();
    let d_x = encoder.backward(x.view(), d_code.view()).unwrap().clone();

    assert_eq!(auto.forward(x.view()).unwrap(), &out);
    assert_eq!(auto.latent(x.view()).unwrap(), &code);
    auto.forward(x.view()).unwrap();
    assert_eq!(auto.backward(x.view(), delta.view()).unwrap(), &d_x);
    let mut expected = grads(&encoder);
    expected.extend(grads(&decoder));
    assert_eq!(grads(&auto), expected);

    let mut names = Vec::new();
    auto.visit_parameters(&mut |p| names.push(p.name.to_string()));
    assert_eq!(names, ["encoder.0.weight", "encoder.0.bias", "decoder.0.weight", "decoder.0.bias"]);
}

fn report_conv_net(conv: (usize, usize), linear_in: usize) -> Sequential<f32> {
    let mut rng = StdRng::seed_from_u64(0);
    Sequential::new()
        .add(Conv1D::new(conv.0, 1, conv.1, 1, &mut rng))
        .add(MaxPool1D::new(2, 2))
        .add(Flatten::new())
        .add(Linear::new(linear_in, 10, &mut rng))
}

#[test]
fn the_report_convolution_turns_64_inputs_into_992() {
    let net = report_conv_net((3, 32), 992);
    let shapes = net.check(&[16, 64, 1]).unwrap();
    assert_eq!(shapes, vec![vec![16, 62, 32], vec![16, 31, 32], vec![16, 992], vec![16, 10]]);
    let summary = net.summary(&[16, 64, 1]).unwrap();
    // Conv1D(3,1,32): 32·1·3 + 32; Linear(992,10): 992·10 + 10.
    assert_eq!(summary.rows.iter().map(|r| r.parameters).collect::<Vec<_>>(), vec![128, 0, 0, 9930]);
    assert_eq!(summary.total_parameters(), 10058);
    assert_eq!(net.parameter_count(), 10058);
    let table = summary.to_string();
    assert!(table.contains("Conv1D(3, 1, 32)") && table.contains("(16, 992)"), "{table}");
    assert!(table.ends_with("total parameters: 10058"), "{table}");
}

#[test]
fn the_report_kernel_size_5_typo_is_refused_with_both_sizes() {
    // The report wrote Linear(310, 10) after Conv1D(5,1,10) → MaxPool1D(2,2) → Flatten: 30 × 10 = 300.
    let net = report_conv_net((5, 10), 310);
    let err = net.check(&[1, 64, 1]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "layer 3 of Sequential, Linear(310, 10) expects 310 features but receives 300 \
         (30 × 10 from Flatten() at layer 2)"
    );
    // forward refuses it the same way, before ndarray sees the product.
    let mut net = net;
    let x = ArrayD::<f32>::zeros(ndarray::IxDyn(&[4, 64, 1]));
    let err = net.forward(x.view()).unwrap_err();
    assert!(err.to_string().contains("expects 310 features but receives 300"), "{err}");
}

#[test]
fn sequential_prints_in_the_report_notation() {
    let mut rng = StdRng::seed_from_u64(0);
    let net: Sequential = Sequential::new()
        .add(Linear::new(64, 100, &mut rng))
        .add(ReLU::new())
        .add(Linear::new(100, 10, &mut rng));
    assert_eq!(net.to_string(), "Linear(64, 100) -> ReLU() -> Linear(100, 10)");
    assert_eq!(
        report_conv_net((3, 32), 992).to_string(),
        "Conv1D(3, 1, 32) -> MaxPool1D(2, 2) -> Flatten() -> Linear(992, 10)"
    );
}

#[test]
fn a_mismatched_decoder_names_the_decoder() {
    let mut rng = StdRng::seed_from_u64(0);
    let encoder = Sequential::<f32>::new().add(Linear::new(64, 50, &mut rng));
    let decoder = Sequential::<f32>::new().add(Linear::new(30, 64, &mut rng));
    let auto = AutoEncoder::new(encoder, decoder);
    let err = auto.check(&[8, 64]).unwrap_err();
    assert_eq!(err.to_string(), "layer 0 of the decoder, Linear(30, 64) expects 30 features but receives 50");
}

#[test]
fn first_non_finite_output_names_the_layer() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut net = Sequential::<f32>::new().add(Linear::new(2, 2, &mut rng)).add(ReLU::new());
    let x = ndarray::arr2(&[[f32::NAN, 1.0]]).into_dyn();
    net.forward(x.view()).unwrap();
    assert_eq!(net.first_non_finite_output().as_deref(), Some("layer 0, Linear(2, 2)"));
}
