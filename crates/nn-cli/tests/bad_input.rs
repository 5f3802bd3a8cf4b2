//! Every row of docs/BAD-INPUT.md: each bad input, through the `nn` binary
//! where it comes from the command line or a file, gets exactly the message
//! the table shows, on one `nn: ` line, with exit status 2 and no panic.

mod common;

use std::collections::BTreeMap;

use common::{TempDir, nn, ok, refused, stderr, write_csv};
use ndarray::{ArrayD, IxDyn};
use nn_core::Loss;
use nn_io::Metadata;
use nn_losses::{BCELoss, CrossEntropyLoss, LogSoftmaxCrossEntropy, MSELoss};

/// The files the cases read, in a fresh directory, and a small trained model.
struct Fixture {
    dir: TempDir,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = TempDir::new(&format!("bad-{name}"));
        let write = |file: &str, bytes: &[u8]| std::fs::write(dir.path().join(file), bytes).unwrap();
        write_csv(&dir.file("w3.csv"), 20, 3, 2);
        write_csv(&dir.file("l12.csv"), 48, 64, 12);
        write("nan.csv", b"1,nan,0\n1,2,1\n");
        write("inf.csv", b"1,2,0\n1,-inf,1\n");
        write("big.csv", b"1,2,0\n1,1e39,1\n");
        write("negative-label.csv", b"1,2,0\n1,3,-1\n");
        write("fraction-label.csv", b"1,2,0\n1,3,2.5\n");
        write("huge-label.csv", b"1,2,0\n1,3,99999999\n");
        // Pixels 0 to 16 not scaled to [0, 1], the first column 16 throughout.
        let unscaled: String =
            (0..20).map(|i| format!("16,{},{},{}\n", i % 17, (i * 7) % 17, i % 2)).collect();
        write("unscaled.csv", unscaled.as_bytes());
        write("empty.csv", b"");
        write("header.csv", b"a,b,label\n");
        write("one.csv", b"1,2,0\n");
        write("ragged.csv", b"1,2,0\n3,4\n");
        write("word.csv", b"1,2,0\n3,x,1\n");
        write("latin1.csv", b"1,2,0\n3,\xe9,1\n");
        write("cut.csv.gz", b"\x1f\x8b\x08\x00");
        write("typo1.csv", b"1,0.5x,0\n3,4,1\n");
        write("shard-0.csv", b"a shard's rows\n");
        write("shard-1.csv", b"a shard's rows\n");
        let shard = |rows: &[&str]| {
            let header = "point,h,fold,score,final_train_loss,epochs_run,status,seconds,train_loss_history,points,cv,shard,search";
            std::iter::once(header).chain(rows.iter().copied()).map(|r| format!("{r}\n")).collect::<String>()
        };
        let row = |score: &str, points: &str| {
            format!("0,4,0,{score},0.2,2,ok,1.5,0.3;0.2,{points},2,0/1,0000000000000abc")
        };
        write("huge-shard.csv", shard(&[&row("0.9", "4294967296")]).as_bytes());
        write("overflow-shard.csv", shard(&[&row("0.9", "18446744073709551615")]).as_bytes());
        write(
            "nan-shard.csv",
            shard(&[&row("NaN", "1"), &row("0.9", "1").replacen("0,4,0", "0,4,1", 1)]).as_bytes(),
        );
        write("cut-shard.csv", shard(&[&row("0.9", "2")]).as_bytes());
        let images = |n: u32| {
            let mut b = [0x803u32, n, 8, 8].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
            b.extend((0..n as usize * 64).map(|i| (i % 17) as u8));
            b
        };
        let labels = |n: u32| {
            let mut b = [0x801u32, n].iter().flat_map(|v| v.to_be_bytes()).collect::<Vec<u8>>();
            b.extend((0..n).map(|i| (i % 3) as u8));
            b
        };
        let ok_images = images(10);
        write("images.idx3-ubyte", &ok_images);
        write("labels.idx1-ubyte", &labels(10));
        write("nine.idx1-ubyte", &labels(9));
        write("cut.idx3-ubyte", &ok_images[..ok_images.len() - 7]);
        write("short.idx3-ubyte", &ok_images[..9]);
        let mut magic = ok_images.clone();
        magic[3] = 0x01;
        write("magic.idx3-ubyte", &magic);
        write("none.idx3-ubyte", &images(0));
        write("none.idx1-ubyte", &labels(0));

        let model = dir.file("m.safetensors");
        ok(&nn(&[
            "train",
            "--net",
            "Linear(64,16) -> ReLU -> Linear(16,10)",
            "--epochs",
            "1",
            "--save",
            &model,
        ]));
        let bytes = std::fs::read(&model).unwrap();
        write("cut.safetensors", &bytes[..bytes.len() / 2]);
        write("text.safetensors", b"this is a CSV file, not a model\n1,2,3\n");
        let file = nn_io::load_tensors::<f32>(&model).unwrap();
        // The same model in f64.
        let wide: BTreeMap<String, ArrayD<f64>> =
            file.tensors.iter().map(|(k, v)| (k.clone(), v.mapv(f64::from))).collect();
        nn_io::save_tensors(
            dir.path().join("f64.safetensors"),
            wide.iter().map(|(k, v)| (k, v.view())),
            &file.metadata,
        )
        .unwrap();
        // Tensors without the metadata nn needs (as safetensors' own save_file writes them).
        nn_io::save_tensors(
            dir.path().join("bare.safetensors"),
            file.tensors.iter().map(|(k, v)| (k, v.view())),
            &Metadata::new(),
        )
        .unwrap();
        // Tensors that do not fit the network the metadata describes.
        let mut wrong = file.tensors.clone();
        wrong.remove("2.bias");
        wrong.insert("2.weight".into(), ArrayD::zeros(IxDyn(&[10, 8])));
        wrong.insert("extra".into(), ArrayD::zeros(IxDyn(&[1])));
        nn_io::save_tensors(
            dir.path().join("wrong.safetensors"),
            wrong.iter().map(|(k, v)| (k, v.view())),
            &file.metadata,
        )
        .unwrap();
        // The model with a NaN weight, and a checkpoint with an infinite optimizer state.
        let mut nan = file.tensors.clone();
        nan.get_mut("0.bias").unwrap()[3] = f32::NAN;
        nn_io::save_tensors(
            dir.path().join("nanw.safetensors"),
            nan.iter().map(|(k, v)| (k, v.view())),
            &file.metadata,
        )
        .unwrap();
        let ck = dir.file("ck.safetensors");
        ok(&nn(&[
            "train",
            "--net",
            "Linear(64,10)",
            "--epochs",
            "1",
            "--optimizer",
            "adam",
            "--checkpoint",
            &ck,
        ]));
        let mut ck_file = nn_io::load_tensors::<f32>(&ck).unwrap();
        ck_file.tensors.get_mut("optimizer.exp_avg_sq.0.weight").unwrap()[[2, 5]] = f32::INFINITY;
        nn_io::save_tensors(
            dir.path().join("infstate.safetensors"),
            ck_file.tensors.iter().map(|(k, v)| (k, v.view())),
            &ck_file.metadata,
        )
        .unwrap();
        Self { dir }
    }

    fn file(&self, name: &str) -> String {
        self.dir.file(name)
    }
}

/// One case: the row of docs/BAD-INPUT.md, the arguments, the message.
struct Case {
    row: &'static str,
    args: Vec<String>,
    message: String,
}

fn cases(f: &Fixture) -> Vec<Case> {
    let case = |row, args: &[&str], message: &str| Case {
        row,
        args: args.iter().map(|a| a.to_string()).collect(),
        message: message.to_string(),
    };
    let (m, train) = (f.file("m.safetensors"), "train");
    let csv = |name: &str| f.file(name);
    // The bound depends on the machine: this one, as the binary sees it.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let too_many = format!(
        "--threads 100000 is more than the {} threads nn starts on this machine of {cores} core{} (4 per core, at least 64)",
        (cores * 4).max(64),
        if cores == 1 { "" } else { "s" }
    );
    vec![
        case(
            "wrong shapes between layers",
            &[train, "--net", "Linear(64,100) -> ReLU -> Linear(50,10)"],
            "layer 2 of Sequential, Linear(50, 10) expects 50 features but receives 100",
        ),
        case(
            "wrong shapes between layers",
            &[train, "--net", "Linear(32,10)"],
            "the data has 64 features per row, but layer 0 of Sequential, Linear(32, 10) expects 32 features but receives 64",
        ),
        case(
            "wrong input width for a loaded model",
            &["predict", "--model", &m, "--data", &csv("w3.csv")],
            // predict also takes rows without a label column, so it counts columns.
            &format!(
                "{m} takes rows of 64 features but {} has 4 columns: give 64 feature columns, optionally followed by a label",
                csv("w3.csv")
            ),
        ),
        case(
            "wrong input width for a loaded model",
            &["eval", "--model", &m, "--data", &csv("w3.csv")],
            &format!("{m} takes rows of 64 features but {} has 3 features per row", csv("w3.csv")),
        ),
        case(
            "targets whose shape does not match predictions",
            &[train, "--encoder", "Linear(64,8)", "--decoder", "Linear(8,32)"],
            "the auto-encoder's output is 32 values per row but the input has 64 features: end the decoder with 64 outputs",
        ),
        case(
            "targets whose shape does not match predictions",
            &[train, "--net", "Linear(64,10)", "--data", &csv("l12.csv")],
            "the network's output is 10 values per row but the data has 12 classes: end the network with 12 outputs",
        ),
        case(
            "NaN or infinite values in data",
            &[train, "--net", "Linear(2,2)", "--data", &csv("nan.csv")],
            &format!("{}: line 1, column 2: 'nan' is not finite", csv("nan.csv")),
        ),
        case(
            "NaN or infinite values in data",
            &[train, "--net", "Linear(2,2)", "--data", &csv("inf.csv")],
            &format!("{}: line 2, column 2: '-inf' is not finite", csv("inf.csv")),
        ),
        case(
            "NaN or infinite values in data",
            &[train, "--net", "Linear(2,2)", "--data", &csv("big.csv")],
            &format!("{}: line 2, column 2: '1e39' is not finite", csv("big.csv")),
        ),
        case(
            "values a loss cannot take",
            &[
                train,
                "--encoder",
                "Linear(3,2)",
                "--decoder",
                "Linear(2,3) -> Sigmoid",
                "--data",
                &csv("unscaled.csv"),
                "--batch-size",
                "8",
            ],
            "training data: BCELoss(): target y holds 16 at row 0, column 0, outside [0, 1]; \
             BCELoss takes targets in [0, 1]: scale the data (e.g. divide by its largest value)",
        ),
        case(
            "labels out of range",
            &[train, "--net", "Linear(2,2)", "--data", &csv("negative-label.csv")],
            &format!("{}: line 2: label '-1' is not a non-negative integer", csv("negative-label.csv")),
        ),
        case(
            "labels out of range",
            &[train, "--net", "Linear(2,2)", "--data", &csv("fraction-label.csv")],
            &format!("{}: line 2: label '2.5' is not a non-negative integer", csv("fraction-label.csv")),
        ),
        case(
            "labels out of range",
            &[train, "--net", "Linear(2,2)", "--data", &csv("huge-label.csv")],
            &format!("{}: label 99999999 at line 2 is out of range (0..16777216)", csv("huge-label.csv")),
        ),
        case(
            "labels out of range",
            &["eval", "--model", &m, "--data", &csv("l12.csv")],
            &format!(
                "{}: label 10 in row 11 is out of range: the model has 10 classes (0..10)",
                csv("l12.csv")
            ),
        ),
        case(
            "empty data sets",
            &[train, "--net", "Linear(2,2)", "--data", &csv("empty.csv")],
            &format!("{}: no data rows", csv("empty.csv")),
        ),
        case(
            "empty data sets",
            &["predict", "--model", &m, "--data", &csv("header.csv")],
            &format!("{}: no data rows", csv("header.csv")),
        ),
        case(
            "empty data sets",
            &[
                train,
                "--net",
                "Linear(64,3)",
                "--data",
                &csv("none.idx3-ubyte"),
                "--labels",
                &csv("none.idx1-ubyte"),
            ],
            &format!("{}: no data rows", csv("none.idx3-ubyte")),
        ),
        case(
            "empty data sets",
            &[train, "--net", "Linear(2,1)", "--data", &csv("one.csv")],
            "1 rows are too few to split into a training and a test part with --test-fraction 0.2: each part needs at least one row",
        ),
        case(
            "batch size 0",
            &[train, "--net", "Linear(64,10)", "--batch-size", "0"],
            "batch size must be at least 1, got 0",
        ),
        case(
            "a corrupt or truncated IDX file",
            &[
                train,
                "--net",
                "Linear(64,3)",
                "--data",
                &csv("cut.idx3-ubyte"),
                "--labels",
                &csv("labels.idx1-ubyte"),
            ],
            &format!(
                "{}: truncated: header says 640 bytes of data but the file has 633",
                csv("cut.idx3-ubyte")
            ),
        ),
        case(
            "a corrupt or truncated IDX file",
            &[
                train,
                "--net",
                "Linear(64,3)",
                "--data",
                &csv("short.idx3-ubyte"),
                "--labels",
                &csv("labels.idx1-ubyte"),
            ],
            &format!(
                "{}: truncated header: 9 bytes, an IDX images file starts with 16",
                csv("short.idx3-ubyte")
            ),
        ),
        case(
            "a corrupt or truncated IDX file",
            &[
                train,
                "--net",
                "Linear(64,3)",
                "--data",
                &csv("magic.idx3-ubyte"),
                "--labels",
                &csv("labels.idx1-ubyte"),
            ],
            &format!(
                "{}: bad magic 0x00000801, expected 0x00000803 (an IDX images file)",
                csv("magic.idx3-ubyte")
            ),
        ),
        case(
            "a corrupt or truncated IDX file",
            &[
                train,
                "--net",
                "Linear(64,3)",
                "--data",
                &csv("images.idx3-ubyte"),
                "--labels",
                &csv("nine.idx1-ubyte"),
            ],
            &format!("{}: 10 images but {}: 9 labels", csv("images.idx3-ubyte"), csv("nine.idx1-ubyte")),
        ),
        case(
            "a corrupt or truncated CSV file",
            &[train, "--net", "Linear(2,2)", "--data", &csv("ragged.csv")],
            &format!("{}: line 2 has 2 columns but the first row has 3", csv("ragged.csv")),
        ),
        case(
            "a corrupt or truncated CSV file",
            &[train, "--net", "Linear(2,2)", "--data", &csv("word.csv")],
            &format!("{}: line 2, column 2: 'x' is not a number", csv("word.csv")),
        ),
        case(
            "a corrupt or truncated CSV file",
            &[train, "--net", "Linear(2,2)", "--data", &csv("latin1.csv")],
            &format!("{}: line 2 is not valid utf-8", csv("latin1.csv")),
        ),
        case(
            "a corrupt or truncated CSV file",
            &[train, "--net", "Linear(2,2)", "--data", &csv("cut.csv.gz")],
            &format!("{}: bad gzip data: unexpected end of file", csv("cut.csv.gz")),
        ),
        case(
            "a corrupt or truncated CSV file",
            &[train, "--net", "Linear(2,2)", "--data", &csv("typo1.csv")],
            &format!("{}: line 1, column 2: '0.5x' is not a number", csv("typo1.csv")),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["eval", "--model", &csv("cut.safetensors")],
            &format!(
                "{} is not a valid safetensors file: tensor 0.weight ends at byte 4160 of the data but the file holds 2144 bytes of data (truncated?)",
                csv("cut.safetensors")
            ),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["predict", "--model", &csv("text.safetensors")],
            &format!(
                "{} is not a valid safetensors file: the header length is 2338328219631577204 bytes but only 30 bytes follow (truncated, or not a safetensors file)",
                csv("text.safetensors")
            ),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["eval", "--model", &csv("f64.safetensors")],
            &format!(
                "{}: tensor 0.bias is f64 but the model computes in f32; build the model in f64 or convert the file",
                csv("f64.safetensors")
            ),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["export", "--torch", &csv("m.py"), "--model", &csv("bare.safetensors")],
            &format!(
                "{} is not a model written by nn: no \"net\" (or \"encoder\" and \"decoder\") entry in its metadata; nn train --save writes one",
                csv("bare.safetensors")
            ),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["predict", "--model", &csv("wrong.safetensors")],
            &format!(
                "{} does not fit the model: missing 2.bias; unexpected extra; 2.weight: file (10, 8) vs model (10, 16)",
                csv("wrong.safetensors")
            ),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["eval", "--model", &csv("nanw.safetensors")],
            &format!("{}: tensor 0.bias holds a non-finite value (NaN) at index 3", csv("nanw.safetensors")),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["predict", "--model", &csv("nanw.safetensors")],
            &format!("{}: tensor 0.bias holds a non-finite value (NaN) at index 3", csv("nanw.safetensors")),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &["export", "--torch", &csv("nanw.py"), "--model", &csv("nanw.safetensors")],
            &format!("{}: tensor 0.bias holds a non-finite value (NaN) at index 3", csv("nanw.safetensors")),
        ),
        case(
            "a corrupt or truncated safetensors file",
            &[train, "--resume", &csv("infstate.safetensors"), "--epochs", "2"],
            &format!(
                "{}: tensor optimizer.exp_avg_sq.0.weight holds a non-finite value (inf) at index (2, 5)",
                csv("infstate.safetensors")
            ),
        ),
        case(
            "an unknown layer name",
            &[train, "--net", "Linear(64,10) -> Sigmoidd"],
            "--net: unknown layer 'Sigmoidd'; did you mean Sigmoid? at column 18",
        ),
        case(
            "an unknown layer name",
            &[train, "--net", "Linear(64,10) -> Dense(10,10)"],
            "--net: unknown layer 'Dense'; known layers: Linear, Conv1D, MaxPool1D, Upsample1D, Flatten, Unflatten, TanH, Sigmoid, ReLU, Softmax at column 18",
        ),
        case(
            "negative or zero sizes in the notation",
            &[train, "--net", "Linear(64,-10)"],
            "--net: Linear sizes must be positive, found -10 at column 11",
        ),
        case(
            "negative or zero sizes in the notation",
            &[train, "--encoder", "Conv1D(0,1,4)", "--decoder", "Linear(4,64)"],
            "--encoder: Conv1D sizes must be positive, found 0 at column 8",
        ),
        case(
            "a learning rate that makes training diverge",
            &[train, "--net", "Linear(64,10)", "--loss", "mse", "--lr", "1e30"],
            "training diverged at epoch 1, batch 2: loss is inf; every layer's output is finite, the loss is not; try a smaller learning rate (now 1e30)",
        ),
        case(
            "a learning rate that makes training diverge",
            &[train, "--net", "Linear(64,10)", "--lr", "-1"],
            "learning rate must be positive and finite, got -1",
        ),
        case(
            "an output file that is an input",
            &["predict", "--model", &m, "--data", &csv("w3.csv"), "--out", &m],
            &format!("--out {m} is also the --model file; give another path"),
        ),
        case(
            "an output file that is an input",
            &["export", "--model", &m, "--torch", &m],
            &format!("--torch {m} is also the --model file; give another path"),
        ),
        case(
            "an output file that is an input",
            &[
                train,
                "--net",
                "Linear(3,2)",
                "--data",
                &csv("w3.csv"),
                "--epochs",
                "2",
                "--history",
                &csv("w3.csv"),
            ],
            &format!("--history {} is also the --data file; give another path", csv("w3.csv")),
        ),
        case(
            "an output file that is an input",
            &[train, "--net", "Linear(3,2)", "--data", &csv("w3.csv"), "--plot", &f.file("./w3.csv")],
            &format!("--plot {} is also the --data file; give another path", f.file("./w3.csv")),
        ),
        case(
            "an output file that is an input",
            &["grid", "merge", &csv("shard-0.csv"), &csv("shard-1.csv"), "--results", &csv("shard-0.csv")],
            &format!("--results {} is also a shard file being merged; give another path", csv("shard-0.csv")),
        ),
        case(
            "an output file that is an input",
            &[
                train,
                "--net",
                "Linear(64,10)",
                "--save",
                &csv("g.safetensors"),
                "--history",
                &csv("g.safetensors"),
                "--force",
            ],
            &format!("--history {} is also the --save file; give another path", csv("g.safetensors")),
        ),
        case(
            "an output file that is an input",
            &[train, "--net", "Linear(64,10)", "--save", &m, "--checkpoint", &m, "--force"],
            &format!("--checkpoint {m} is also the --save file; give another path"),
        ),
        case(
            "a notation ending in an arrow",
            &[train, "--net", "Linear(64,10) ->", "--epochs", "1"],
            "--net: missing layer after the last arrow at column 17",
        ),
        case(
            "a notation ending in an arrow",
            &[train, "--encoder", "Linear(64,3) →", "--decoder", "Linear(3,64)"],
            "--encoder: missing layer after the last arrow at column 15",
        ),
        case(
            "a notation ending in an arrow",
            &["grid", "--net", "Linear(64,{h})->ReLU->Linear({h},10)->", "--grid", "h=4"],
            "--net at point h=4: missing layer after the last arrow at column 35",
        ),
        case(
            "sizes past what nn builds",
            &[train, "--net", "Linear(64,99999999999) -> ReLU -> Linear(99999999999,10)"],
            "--net: Linear(64, 99999999999) takes the network past the 2147483648 parameters nn builds at most",
        ),
        case(
            "sizes past what nn builds",
            &[
                "grid",
                "--net",
                "Linear(64,{h})->ReLU->Linear({h},10)",
                "--grid",
                "h=99999999999",
                "--epochs",
                "1",
                "--cv",
                "2",
            ],
            "--net at point h=99999999999: Linear(64, 99999999999) takes the network past the 2147483648 parameters nn builds at most",
        ),
        case(
            "a corrupt shard file",
            &["grid", "merge", &csv("huge-shard.csv")],
            &format!(
                "{} line 2: a search of 4294967296 points and 2 folds is more than the 1048576 jobs nn grid merge takes (a corrupt file?)",
                csv("huge-shard.csv")
            ),
        ),
        case(
            "a corrupt shard file",
            &["grid", "merge", &csv("overflow-shard.csv")],
            &format!(
                "{} line 2: a search of 18446744073709551615 points and 2 folds is more than the 1048576 jobs nn grid merge takes (a corrupt file?)",
                csv("overflow-shard.csv")
            ),
        ),
        case(
            "a corrupt shard file",
            &["grid", "merge", &csv("nan-shard.csv")],
            &format!("{} line 2: score 'NaN' is not finite", csv("nan-shard.csv")),
        ),
        case(
            "a corrupt shard file",
            &["grid", "merge", &csv("cut-shard.csv")],
            &format!(
                "{} line 2: shard 0/1 of a search of 2 points and 2 folds runs 4 jobs, but the file has 1 rows of it; give the file the shard wrote, whole",
                csv("cut-shard.csv")
            ),
        ),
        case(
            "an empty value in --grid",
            &["grid", "--net", "Linear(64,{h})->ReLU->Linear({h},10)", "--grid", "h=4,,8"],
            "--grid h=4,,8: an empty value between commas; write NAME=V1,V2,... e.g. hidden=50,100",
        ),
        case("too many threads", &[train, "--net", "Linear(64,10)", "--threads", "100000"], &too_many),
        case(
            "too many threads",
            &[
                "grid",
                "--net",
                "Linear(64,{h})->ReLU->Linear({h},10)",
                "--grid",
                "h=4",
                "--threads",
                "100000",
            ],
            &too_many,
        ),
        case(
            "a directory option naming a file",
            &[
                "grid",
                "--net",
                "Linear(64,{h})->ReLU->Linear({h},10)",
                "--grid",
                "h=4",
                "--loss-graphs",
                &csv("w3.csv"),
            ],
            &format!("--loss-graphs {} is a file, not a directory", csv("w3.csv")),
        ),
        case(
            "a directory option naming a file",
            &["repro", "--quick", "--only", "3.3", "--out", &csv("w3.csv")],
            &format!("--out {} is a file, not a directory", csv("w3.csv")),
        ),
        case(
            "a directory option naming a file",
            &["bench", "--dump-data", &csv("w3.csv")],
            &format!("--dump-data {} is a file, not a directory", csv("w3.csv")),
        ),
    ]
}

/// Runs the cases of `row` (all of them for `None`) and checks each message.
fn check(row: Option<&str>, name: &str) {
    let fixture = Fixture::new(name);
    let cases: Vec<Case> = cases(&fixture).into_iter().filter(|c| row.is_none_or(|r| c.row == r)).collect();
    assert!(!cases.is_empty(), "no case for {row:?}");
    for case in cases {
        let out = nn(&case.args);
        assert_eq!(refused(&out), case.message, "nn {:?}\n{}", case.args, stderr(&out));
    }
}

#[test]
fn nothing_panics_on_any_bad_input() {
    check(None, "all");
}

#[test]
fn wrong_shapes_between_layers() {
    check(Some("wrong shapes between layers"), "shapes");
}

#[test]
fn wrong_input_width_for_a_loaded_model() {
    check(Some("wrong input width for a loaded model"), "width");
}

#[test]
fn targets_whose_shape_does_not_match_predictions() {
    check(Some("targets whose shape does not match predictions"), "targets");
}

/// The library side of the row: a loss given targets of another shape.
#[test]
fn a_loss_refuses_targets_of_another_shape() {
    let y = ArrayD::<f32>::zeros(IxDyn(&[2, 3]));
    let yhat = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
    let err = MSELoss::new().forward(y.view(), yhat.view()).unwrap_err();
    assert_eq!(err.to_string(), "MSELoss(): target y has shape (2, 3) but prediction yhat has shape (2, 4)");
    let labels = ArrayD::<f32>::zeros(IxDyn(&[2]));
    let err = LogSoftmaxCrossEntropy::new().forward(labels.view(), yhat.view()).unwrap_err();
    assert!(err.to_string().starts_with("LogSoftmaxCrossEntropy(): target y has shape (2,)"), "{err}");
}

#[test]
fn nan_or_infinite_values_in_data() {
    check(Some("NaN or infinite values in data"), "nan");
}

#[test]
fn values_a_loss_cannot_take() {
    check(Some("values a loss cannot take"), "domain");
}

/// The library side of the row: a loss given a value outside its domain.
#[test]
fn a_loss_refuses_values_outside_its_domain() {
    let y = ndarray::array![[0.0f32, 2.0]].into_dyn();
    let yhat = ndarray::array![[0.5f32, 0.5]].into_dyn();
    let err = BCELoss::new().forward(y.view(), yhat.view()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "BCELoss(): target y holds 2 at row 0, column 1, outside [0, 1]; \
         BCELoss takes targets in [0, 1]: scale the data (e.g. divide by its largest value)"
    );
    let y = ndarray::array![[-1.0f32, 0.0]].into_dyn();
    let err = CrossEntropyLoss::new().forward(y.view(), yhat.view()).unwrap_err();
    assert!(err.to_string().starts_with("CrossEntropyLoss(): target y holds -1 at row 0, column 0"), "{err}");
}

#[test]
fn labels_out_of_range() {
    check(Some("labels out of range"), "labels");
}

#[test]
fn empty_data_sets() {
    check(Some("empty data sets"), "empty");
}

#[test]
fn batch_size_0() {
    check(Some("batch size 0"), "batch0");
}

#[test]
fn a_batch_larger_than_the_data_is_one_batch_with_a_warning() {
    let out = nn(&["train", "--net", "Linear(64,10)", "--batch-size", "5000", "--epochs", "2", "--json"]);
    let text = ok(&out);
    assert!(text.contains("\"epochs_run\":2"), "{text}");
    assert_eq!(
        stderr(&out),
        "nn: warning: batch size 5000 is larger than the 1437 training rows: each epoch is one batch of 1437\n"
    );
}

#[test]
fn a_corrupt_or_truncated_idx_file() {
    check(Some("a corrupt or truncated IDX file"), "idx");
}

#[test]
fn a_corrupt_or_truncated_csv_file() {
    check(Some("a corrupt or truncated CSV file"), "csv");
}

#[test]
fn a_corrupt_or_truncated_safetensors_file() {
    check(Some("a corrupt or truncated safetensors file"), "safetensors");
}

#[test]
fn an_unknown_layer_name() {
    check(Some("an unknown layer name"), "layer");
}

#[test]
fn negative_or_zero_sizes_in_the_notation() {
    check(Some("negative or zero sizes in the notation"), "sizes");
}

#[test]
fn a_learning_rate_that_makes_training_diverge() {
    check(Some("a learning rate that makes training diverge"), "diverge");
}

#[test]
fn a_notation_ending_in_an_arrow() {
    check(Some("a notation ending in an arrow"), "arrow");
}

#[test]
fn sizes_past_what_nn_builds() {
    check(Some("sizes past what nn builds"), "past");
}

#[test]
fn a_corrupt_shard_file() {
    check(Some("a corrupt shard file"), "shard");
}

#[test]
fn an_empty_value_in_grid() {
    check(Some("an empty value in --grid"), "grid-empty");
}

#[test]
fn too_many_threads() {
    check(Some("too many threads"), "threads");
}

#[test]
fn a_directory_option_naming_a_file() {
    check(Some("a directory option naming a file"), "dir");
}

/// The cases are refused before anything is written: every file is as it was.
#[test]
fn an_output_file_that_is_an_input() {
    let fixture = Fixture::new("overwrite");
    let files = || -> BTreeMap<String, Vec<u8>> {
        std::fs::read_dir(fixture.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let before = files();
    for case in cases(&fixture).into_iter().filter(|c| c.row == "an output file that is an input") {
        let out = nn(&case.args);
        assert_eq!(refused(&out), case.message, "nn {:?}\n{}", case.args, stderr(&out));
    }
    assert!(files() == before, "a refused run changed a file");
}

/// Every row of the table in docs/BAD-INPUT.md has its cases here, and the reverse.
#[test]
fn the_table_and_the_tests_list_the_same_rows() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/BAD-INPUT.md")).unwrap();
    let rows: Vec<&str> = [
        "wrong shapes between layers",
        "wrong input width for a loaded model",
        "targets whose shape does not match predictions",
        "NaN or infinite values in data",
        "values a loss cannot take",
        "labels out of range",
        "empty data sets",
        "batch size 0",
        "a batch larger than the data",
        "a corrupt or truncated IDX file",
        "a corrupt or truncated CSV file",
        "a corrupt or truncated safetensors file",
        "an unknown layer name",
        "negative or zero sizes in the notation",
        "a learning rate that makes training diverge",
        "an output file that is an input",
        "a notation ending in an arrow",
        "sizes past what nn builds",
        "a corrupt shard file",
        "an empty value in --grid",
        "too many threads",
        "a directory option naming a file",
    ]
    .to_vec();
    let headings: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| **"))
        .filter_map(|l| l.split_once("**"))
        .map(|(row, _)| row.to_lowercase())
        .collect();
    let mut expected: Vec<String> = rows.iter().map(|r| r.to_lowercase()).collect();
    expected.dedup();
    let mut found = headings.clone();
    found.dedup();
    assert_eq!(found, expected, "the rows of docs/BAD-INPUT.md, in order");
}
