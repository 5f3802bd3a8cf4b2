//! `nn export --torch model.py --model M`: a PyTorch script that builds the
//! model's network as an `nn.Sequential` (or an auto-encoder of two) and
//! loads the file with `load_state_dict(strict=True)`.
//!
//! Our sequences are (batch, length, channels), PyTorch's are (batch,
//! channels, length): the script subclasses `Conv1d`, `MaxPool1d` and
//! `Upsample` to transpose around them. Subclasses, not wrappers, so that the
//! parameter names stay `0.weight` and match the file.

use std::io::Write;
use std::path::Path;

use nn_io::Metadata;

use crate::args::ExportArgs;
use crate::error::CliResult;
use crate::experiment::NetSpec;
use crate::model_file::{self, ModelInfo};
use crate::notation::LayerSpec;
use crate::output_paths::RunFiles;

/// Metadata keys of a checkpoint that a model file does not carry.
const CHECKPOINT_KEYS: &[&str] = &[
    "checkpoint",
    "history",
    "optimizer_steps",
    "rows",
    "early_stop_eps",
    "checkpoint_every",
    crate::fingerprint::DATA_FINGERPRINT,
];

/// Runs `nn export`.
///
/// # Errors
/// A model file that cannot be loaded (it is loaded fully, so the script is
/// only written for a file that fits its network), or a script that cannot
/// be written, or is the model file.
pub fn run(args: &ExportArgs) -> CliResult<()> {
    RunFiles::new()
        .input("the --model file", Some(&args.model))
        .output("--torch", Some(&args.torch))
        .check()?;
    let model = model_file::load(&args.model)?;
    let mut metadata = model.metadata.clone();
    if metadata.get("checkpoint").is_some() {
        for key in CHECKPOINT_KEYS {
            metadata.remove(key);
        }
    }
    let script = torch_script(&model.info, &metadata, &args.model);
    nn_io::write_atomic(&args.torch, |file| file.write_all(script.as_bytes()))?;
    Ok(())
}

/// The script for `info`, loading `model_path` by default; `save()` writes
/// `metadata` back so that `nn` reads the file PyTorch writes.
pub fn torch_script(info: &ModelInfo, metadata: &Metadata, model_path: &Path) -> String {
    let (notation, build) = match &info.net {
        NetSpec::Classifier(specs) => {
            (NetSpec::Classifier(specs.clone()).notation(), sequential(specs, "    "))
        }
        NetSpec::AutoEncoder { encoder, decoder } => (
            format!(
                "encoder: {}\n    decoder: {}",
                NetSpec::Classifier(encoder.clone()).notation(),
                NetSpec::Classifier(decoder.clone()).notation()
            ),
            format!(
                "AutoEncoder(\n        {},\n        {},\n    )",
                sequential(encoder, "        "),
                sequential(decoder, "        ")
            ),
        ),
    };
    let shape: Vec<String> = info.row_shape.iter().map(usize::to_string).collect();
    let input_shape =
        if shape.len() == 1 { format!("({},)", shape[0]) } else { format!("({})", shape.join(", ")) };
    let metadata_literal: serde_json::Map<String, serde_json::Value> =
        metadata.iter().map(|(k, v)| (k.to_string(), v.into())).collect();
    let loss = info.loss.build().to_string();
    format!(
        r#""""PyTorch equivalent of a model of `nn`, written by `nn export` from {file}.

    {notation}

Loss used in training: {loss}. Inputs are float32 rows of shape (batch, *INPUT_SHAPE).

    net = load("{file}")        # strict: every name, shape and element type must fit
    y = net(x)                  # x: (batch, *INPUT_SHAPE)
    save(net, "copy.safetensors")  # a file nn can load again (nn eval, nn predict)

nn keeps sequences as (batch, length, channels), channels last; the Conv1d,
MaxPool1d and Upsample below transpose around PyTorch's (batch, channels,
length) layers, so parameter names (0.weight, ...) and shapes are PyTorch's
own: Linear weight (out, in), Conv1d weight (out, in, k).
"""

import torch
from torch import nn
from safetensors.torch import load_file, save_file

MODEL_FILE = {file_literal}
INPUT_SHAPE = {input_shape}
METADATA = {metadata_literal}


class Conv1d(nn.Conv1d):
    """nn.Conv1d on (batch, length, channels) inputs, as nn's Conv1D."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class MaxPool1d(nn.MaxPool1d):
    """nn.MaxPool1d on (batch, length, channels) inputs, as nn's MaxPool1D."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class Upsample(nn.Upsample):
    """Nearest-neighbour nn.Upsample on (batch, length, channels) inputs, as nn's Upsample1D."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class AutoEncoder(nn.Module):
    """decoder(encoder(x)); parameters named encoder.0.weight, decoder.0.weight, ..."""

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, x):
        return self.decoder(self.encoder(x))


def build():
    """The network, with PyTorch's initial weights."""
    return {build}


def load(path=MODEL_FILE):
    """The network with the parameters of the safetensors file at `path`."""
    state = {{k: v for k, v in load_file(path).items() if not k.startswith("optimizer.")}}
    net = build()
    net.load_state_dict(state, strict=True)
    return net.eval()


def save(net, path):
    """Writes the parameters of `net` and the model's metadata to `path`."""
    state = {{k: v.detach().contiguous() for k, v in net.state_dict().items()}}
    save_file(state, path, metadata=METADATA)


if __name__ == "__main__":
    import sys

    print(load(sys.argv[1] if len(sys.argv) > 1 else MODEL_FILE))
"#,
        file = model_path.display(),
        file_literal = serde_json::Value::from(model_path.display().to_string()),
        metadata_literal = serde_json::Value::Object(metadata_literal),
    )
}

/// `nn.Sequential(...)` of `specs`, one layer per line indented by `indent` + 4.
fn sequential(specs: &[LayerSpec], indent: &str) -> String {
    let layers: String =
        specs.iter().map(|spec| format!("{indent}    {},  # {spec}\n", torch_layer(*spec))).collect();
    format!("nn.Sequential(\n{layers}{indent})")
}

/// The PyTorch module of one layer, channels-last where it matters.
fn torch_layer(spec: LayerSpec) -> String {
    match spec {
        LayerSpec::Linear { input, output } => format!("nn.Linear({input}, {output})"),
        LayerSpec::Conv1D { k_size, chan_in, chan_out, stride } => {
            format!("Conv1d({chan_in}, {chan_out}, {k_size}, stride={stride})")
        }
        LayerSpec::MaxPool1D { k_size, stride } => format!("MaxPool1d({k_size}, stride={stride})"),
        LayerSpec::Upsample1D { scale } => format!("Upsample(scale_factor={scale}, mode=\"nearest\")"),
        LayerSpec::Flatten => "nn.Flatten()".into(),
        LayerSpec::Unflatten { length, channels } => format!("nn.Unflatten(1, ({length}, {channels}))"),
        LayerSpec::TanH => "nn.Tanh()".into(),
        LayerSpec::Sigmoid => "nn.Sigmoid()".into(),
        LayerSpec::ReLU => "nn.ReLU()".into(),
        LayerSpec::Softmax => "nn.Softmax(dim=-1)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::LossName;

    #[test]
    fn layers_become_channels_last_pytorch_modules() {
        let specs = crate::notation::parse(
            "Conv1D(3,1,32,2) -> MaxPool1D(2) -> Upsample1D(2) -> Flatten -> Linear(992,10) -> Softmax",
        )
        .unwrap();
        let text = sequential(&specs, "    ");
        assert_eq!(
            text,
            "nn.Sequential(\n        Conv1d(1, 32, 3, stride=2),  # Conv1D(3, 1, 32, 2)\n        MaxPool1d(2, stride=2),  # MaxPool1D(2, 2)\n        Upsample(scale_factor=2, mode=\"nearest\"),  # Upsample1D(2)\n        nn.Flatten(),  # Flatten()\n        nn.Linear(992, 10),  # Linear(992, 10)\n        nn.Softmax(dim=-1),  # Softmax()\n    )"
        );
        let unflatten = crate::notation::parse("Linear(8,496) -> Unflatten(31,16)").unwrap();
        assert!(
            sequential(&unflatten, "").contains("    nn.Unflatten(1, (31, 16)),  # Unflatten(31, 16)\n"),
            "{}",
            sequential(&unflatten, "")
        );
    }

    #[test]
    fn the_script_names_the_file_shape_and_metadata() {
        let info = ModelInfo {
            net: NetSpec::parse(None, Some("Linear(64,8) -> TanH"), Some("Linear(8,64)")).unwrap(),
            loss: LossName::Mse,
            row_shape: vec![64],
            classes: None,
            trained_on: None,
        };
        let script = torch_script(&info, &info.metadata(), Path::new("dir/ae.safetensors"));
        assert!(script.contains("MODEL_FILE = \"dir/ae.safetensors\"\nINPUT_SHAPE = (64,)\n"), "{script}");
        assert!(script.contains("METADATA = {\"decoder\":\"Linear(8, 64)\","), "{script}");
        assert!(
            script.contains("    return AutoEncoder(\n        nn.Sequential(\n            nn.Linear(64, 8),"),
            "{script}"
        );
        assert!(script.contains("Loss used in training: MSELoss()."), "{script}");
    }
}
