//! Parity with real PyTorch: the same weights and inputs through our layers
//! and through `torch.nn`, forward and both gradients, in f64.
//!
//! Needs a Python with torch: `NN_TORCH_PYTHON=/path/to/python cargo test --test pytorch_parity`
//! (default `python3`). Without torch the test says so and passes: CI does not install it.

use std::io::Write;
use std::process::{Command, Stdio};

use ndarray::ArrayD;
use nn::core::gradcheck;
use nn::layers::{Conv1D, Flatten, Linear, MaxPool1D, ReLU, Sigmoid, Softmax, TanH, Unflatten, Upsample1D};
use nn::losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};
use nn::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

/// Builds the same network in torch (channels-last wrappers around Conv1d,
/// MaxPool1d and Upsample), loads our weights, and returns output and gradients.
const SCRIPT: &str = r#"
import json, sys, torch
torch.set_default_dtype(torch.float64)
spec = json.load(sys.stdin)
class ChannelsLast(torch.nn.Module):
    def __init__(self, inner):
        super().__init__(); self.inner = inner
    def forward(self, x):
        return self.inner(x.transpose(1, 2)).transpose(1, 2)
def layer(l):
    k = l["kind"]
    if k == "Linear": return torch.nn.Linear(l["in"], l["out"])
    if k == "Conv1D": return ChannelsLast(torch.nn.Conv1d(l["chan_in"], l["chan_out"], l["k"], stride=l["stride"]))
    if k == "MaxPool1D": return ChannelsLast(torch.nn.MaxPool1d(l["k"], stride=l["stride"]))
    if k == "Upsample1D": return ChannelsLast(torch.nn.Upsample(scale_factor=l["scale"], mode="nearest"))
    if k == "Flatten": return torch.nn.Flatten()
    if k == "Unflatten": return torch.nn.Unflatten(1, (l["length"], l["channels"]))
    return {"ReLU": torch.nn.ReLU, "TanH": torch.nn.Tanh, "Sigmoid": torch.nn.Sigmoid}.get(k, lambda: torch.nn.Softmax(dim=-1))()
net = torch.nn.Sequential(*[layer(l) for l in spec["layers"]])
state = {}
for name, t in net.state_dict().items():
    ours = name.replace(".inner", "")
    state[name] = torch.tensor(spec["params"][ours]["value"]).reshape(t.shape)
net.load_state_dict(state, strict=True)
x = torch.tensor(spec["input"], requires_grad=True)
out = net(x)
out.backward(torch.tensor(spec["delta"]))
grads = {n.replace(".inner", ""): p.grad.flatten().tolist() for n, p in net.named_parameters()}
y, yhat = torch.tensor(spec["y"]), torch.tensor(spec["yhat"])
b = y.shape[0]
losses = {}
for name in ["MSELoss()", "BCELoss()", "CrossEntropyLoss()", "LogSoftmaxCrossEntropy()"]:
    p = (torch.sigmoid(yhat) if name == "BCELoss()" else torch.softmax(yhat, -1) if name == "CrossEntropyLoss()" else yhat).detach().requires_grad_(True)
    if name == "MSELoss()": v = torch.nn.functional.mse_loss(p, y, reduction="sum") / b
    elif name == "BCELoss()": v = torch.nn.functional.binary_cross_entropy(p, y, reduction="sum") / b
    elif name == "CrossEntropyLoss()": v = -(y * torch.log(p)).sum() / b
    else: v = torch.nn.functional.cross_entropy(p, y, reduction="sum") / b
    v.backward()
    losses[name] = {"value": v.item(), "grad": p.grad.flatten().tolist()}
print(json.dumps({"output": out.detach().flatten().tolist(), "grad_input": x.grad.flatten().tolist(), "grads": grads, "losses": losses}))
"#;

/// A loss and the prediction it takes (raw scores or probabilities).
type LossCase<'a> = (Box<dyn Loss<f64>>, &'a ArrayD<f64>);

fn python() -> Option<String> {
    let python = std::env::var("NN_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&python).args(["-c", "import torch"]).stderr(Stdio::null()).status().ok()?;
    probe.success().then_some(python)
}

fn flat(a: &ArrayD<f64>) -> Vec<f64> {
    a.iter().copied().collect()
}

fn nested(a: &ArrayD<f64>) -> Value {
    fn go(a: ndarray::ArrayViewD<'_, f64>) -> Value {
        if a.ndim() == 0 {
            return json!(a.first().copied().unwrap_or(0.0));
        }
        Value::Array(a.outer_iter().map(go).collect())
    }
    go(a.view())
}

fn assert_close(what: &str, ours: &[f64], theirs: &Value) {
    let theirs: Vec<f64> = theirs.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()), "{what}[{i}]: ours {a}, PyTorch {b}");
    }
}

#[test]
fn layers_and_losses_match_pytorch() {
    let Some(python) = python() else {
        eprintln!("skipped: no Python with torch (set NN_TORCH_PYTHON to one)");
        return;
    };
    let mut rng = StdRng::seed_from_u64(2024);
    // Conv1D (stride 2, uneven tail) → ReLU → MaxPool1D → Upsample1D → Conv1D → TanH → Flatten → Linear
    // → Sigmoid → Unflatten → Conv1D → Flatten → Linear → Softmax.
    let layers = json!([
        {"kind": "Conv1D", "k": 3, "chan_in": 2, "chan_out": 4, "stride": 2},
        {"kind": "ReLU"},
        {"kind": "MaxPool1D", "k": 2, "stride": 1},
        {"kind": "Upsample1D", "scale": 2},
        {"kind": "Conv1D", "k": 2, "chan_in": 4, "chan_out": 3, "stride": 1},
        {"kind": "TanH"},
        {"kind": "Flatten"},
        {"kind": "Linear", "in": 21, "out": 6},
        {"kind": "Sigmoid"},
        {"kind": "Unflatten", "length": 3, "channels": 2},
        {"kind": "Conv1D", "k": 2, "chan_in": 2, "chan_out": 5, "stride": 1},
        {"kind": "Flatten"},
        {"kind": "Linear", "in": 10, "out": 5},
        {"kind": "Softmax"},
    ]);
    let mut net = Sequential::<f64>::new()
        .add(Conv1D::new(3, 2, 4, 2, &mut rng))
        .add(ReLU::new())
        .add(MaxPool1D::new(2, 1))
        .add(Upsample1D::new(2))
        .add(Conv1D::new(2, 4, 3, 1, &mut rng))
        .add(TanH::new())
        .add(Flatten::new())
        .add(Linear::new(21, 6, &mut rng))
        .add(Sigmoid::new())
        .add(Unflatten::new(3, 2))
        .add(Conv1D::new(2, 2, 5, 1, &mut rng))
        .add(Flatten::new())
        .add(Linear::new(10, 5, &mut rng))
        .add(Softmax::new());
    let x = gradcheck::uniform(&[3, 12, 2], -1.0..1.0, &mut rng);
    let delta = gradcheck::uniform(&[3, 5], -1.0..1.0, &mut rng);
    let output = net.forward(x.view()).unwrap().clone();
    let grad_input = net.backward(x.view(), delta.view()).unwrap().clone();
    let mut params = serde_json::Map::new();
    let mut grads = Vec::new();
    net.visit_parameters(&mut |p| {
        let value: Vec<f64> = p.value.iter().copied().collect();
        params.insert(p.name.to_string(), json!({ "value": value }));
        grads.push((p.name.to_string(), p.grad.iter().copied().collect::<Vec<f64>>()));
    });

    let y = {
        let mut y = ArrayD::zeros(ndarray::IxDyn(&[3, 5]));
        for (row, class) in [(0, 1), (1, 4), (2, 0)] {
            y[[row, class]] = 1.0;
        }
        y
    };
    let yhat = gradcheck::uniform(&[3, 5], -2.0..2.0, &mut rng);
    let spec = json!({
        "layers": layers, "params": params, "input": nested(&x), "delta": nested(&delta),
        "y": nested(&y), "yhat": nested(&yhat),
    });
    let mut child = Command::new(python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python starts");
    child.stdin.take().unwrap().write_all(spec.to_string().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the PyTorch script failed");
    let torch: Value = serde_json::from_slice(&out.stdout).unwrap();

    assert_close("output", &flat(&output), &torch["output"]);
    assert_close("grad_input", &flat(&grad_input), &torch["grad_input"]);
    for (name, grad) in &grads {
        assert_close(name, grad, &torch["grads"][name]);
    }

    let sigmoid = yhat.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    let softmax = {
        let mut s = Softmax::<f64>::new();
        s.forward(yhat.view()).unwrap().clone()
    };
    let mut losses: Vec<LossCase<'_>> = vec![
        (Box::new(MSELoss::new()), &yhat),
        (Box::new(BCELoss::new()), &sigmoid),
        (Box::new(CrossEntropyLoss::new()), &softmax),
        (Box::new(LogSoftmaxCrossEntropy::new()), &yhat),
    ];
    // BCE's target is a probability too; the one-hot rows are valid targets for all four.
    for (loss, prediction) in losses.iter_mut() {
        let name = loss.to_string();
        let value = loss.forward(y.view(), prediction.view()).unwrap();
        assert_close(&format!("{name} value"), &[value], &json!([torch["losses"][&name]["value"]]));
        let grad = loss.backward(y.view(), prediction.view()).unwrap().clone();
        assert_close(&format!("{name} gradient"), &flat(&grad), &torch["losses"][&name]["grad"]);
    }
}
