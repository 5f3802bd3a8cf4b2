//! `cargo xtask bench-peers`: the workloads W1–W5 in this library and in
//! PyTorch, in the same run, and the ratio PyTorch time / our time.
//!
//! Ours: `nn bench --workload Wk --json --threads t`, the binary of
//! `cargo build --release -p nn-cli` built once at the start.
//! PyTorch: `xtask/peers/torch_workloads.py`, on the data `nn bench
//! --dump-data` writes (the same rows, networks, loss reduction, SGD). Both
//! also time a 1024³ f32 matrix product and the W1, W2 and W4 sizes, so each
//! workload's GFLOP/s can be read beside the machine's GEMM peak.
//!
//! The Python: `--python PATH`, else `$NN_TORCH_PYTHON`, else a venv under
//! `target/peers-venv` made with `python3 -m venv` and `pip install torch numpy`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde_json::{Value, json};

/// The usage line.
pub const USAGE: &str = "cargo xtask bench-peers [--python PATH] [--threads 1,2] [--workloads W1,W2,W3,W4,W5] [--epochs N] [--pin-cpu N] [--repeat N] [--out FILE.json]";

/// The targets of the performance issue: PyTorch time / our time at least this.
const TARGETS: [(&str, f64); 4] = [("W1", 8.0), ("W2", 4.0), ("W3", 4.0), ("W4", 1.1)];
/// W5: our speed-up from 1 to 2 threads at least this.
const W5_SPEEDUP_TARGET: f64 = 1.8;

/// The options of `bench-peers`.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The Python with torch and numpy, if given.
    pub python: Option<PathBuf>,
    /// Thread counts to compare.
    pub threads: Vec<usize>,
    /// Workloads to run.
    pub workloads: Vec<String>,
    /// Epochs in all for both sides (the first a warm-up); each side's default when `None`.
    pub epochs: Option<usize>,
    /// Where to write every measurement as JSON.
    pub out: PathBuf,
    /// The CPU that both sides' 1-thread measurements run on (with `taskset`),
    /// if given: on a shared virtual machine one vCPU can run much slower
    /// than the other for minutes, and a ratio of two runs placed on
    /// different vCPUs then measures the host, not the libraries.
    pub pin_cpu: Option<usize>,
    /// Runs of each side for W1–W4, alternating; each side's fastest median is kept.
    pub repeat: usize,
}

/// Reads the options.
///
/// # Errors
/// A message for an unknown option, a missing or bad value.
pub fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        python: None,
        threads: vec![1, 2],
        workloads: ["W1", "W2", "W3", "W4", "W5"].map(String::from).to_vec(),
        epochs: None,
        out: PathBuf::from("target/bench-peers.json"),
        pin_cpu: None,
        repeat: 1,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--python" => options.python = Some(PathBuf::from(value()?)),
            "--threads" => {
                let text = value()?;
                options.threads = text
                    .split(',')
                    .map(|t| t.trim().parse::<usize>().ok().filter(|&t| t > 0))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("--threads takes counts from 1 such as 1,2, got '{text}'"))?;
            }
            "--workloads" => {
                let text = value()?;
                options.workloads = text.split(',').map(|w| w.trim().to_uppercase()).collect();
                if let Some(bad) =
                    options.workloads.iter().find(|w| !["W1", "W2", "W3", "W4", "W5"].contains(&w.as_str()))
                {
                    return Err(format!("unknown workload '{bad}': choose among W1, W2, W3, W4, W5"));
                }
            }
            "--epochs" => {
                let text = value()?;
                options.epochs = Some(text.parse().ok().filter(|&e: &usize| e >= 2).ok_or_else(|| {
                    format!("--epochs takes a count from 2 (a warm-up and a timed epoch), got '{text}'")
                })?);
            }
            "--out" => options.out = PathBuf::from(value()?),
            "--repeat" => {
                let text = value()?;
                options.repeat = text
                    .parse()
                    .ok()
                    .filter(|&n: &usize| n >= 1)
                    .ok_or_else(|| format!("--repeat takes a count from 1, got '{text}'"))?;
            }
            "--pin-cpu" => {
                let text = value()?;
                options.pin_cpu = Some(
                    text.parse()
                        .map_err(|_| format!("--pin-cpu takes a CPU number such as 0, got '{text}'"))?,
                );
            }
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    options.threads.sort_unstable();
    options.threads.dedup();
    Ok(options)
}

/// Runs `bench-peers` with the command line after its name.
pub fn run(args: &[String]) -> ExitCode {
    let options = match parse_args(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("xtask bench-peers: {message}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    match measure(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask bench-peers: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (xtask's parent directory).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the workspace").to_path_buf()
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `command`, its stderr passed through, and returns its stdout.
fn output(command: &mut Command, what: &str) -> Result<String, String> {
    let out = command.stderr(Stdio::inherit()).output().map_err(|e| format!("cannot run {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed ({})", out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The last line of `text` that is a JSON object.
fn last_json(text: &str, what: &str) -> Result<Value, String> {
    text.lines()
        .rev()
        .find_map(|line| serde_json::from_str::<Value>(line.trim()).ok().filter(Value::is_object))
        .ok_or_else(|| format!("{what} printed no JSON object: {text}"))
}

/// The `nn` binary `cargo build --release -p nn-cli` makes.
fn nn_binary() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from);
    target.join("release").join(format!("nn{}", std::env::consts::EXE_SUFFIX))
}

/// `program`, or `taskset -c <cpu> program` when pinned to `cpu`.
fn pinned(program: &Path, cpu: Option<usize>) -> Command {
    match cpu {
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// `nn bench <args> --json`, with the binary built once at the start (as
/// `cargo run --release -p nn-cli -- bench <args> --json` would run it, but
/// never rebuilt in the middle of a run when the sources change), on `cpu` if given.
fn ours(args: &[String], cpu: Option<usize>) -> Result<Value, String> {
    let mut command = pinned(&nn_binary(), cpu);
    command.current_dir(root()).arg("bench").args(args).arg("--json");
    let what = format!("nn bench {}", args.join(" "));
    last_json(&output(&mut command, &what)?, &what)
}

/// `torch_workloads.py <args>` with `python`, on `cpu` if given.
fn theirs(python: &Path, args: &[String], cpu: Option<usize>) -> Result<Value, String> {
    let script = root().join("xtask/peers/torch_workloads.py");
    let mut command = pinned(python, cpu);
    command.arg(&script).args(args);
    let what = format!("torch_workloads.py {}", args.join(" "));
    last_json(&output(&mut command, &what)?, &what)
}

/// Whether `python` imports torch and numpy.
fn has_torch(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import torch, numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The Python to run PyTorch with: `--python`, `$NN_TORCH_PYTHON`, or the
/// venv under `target/peers-venv`, made and filled with torch and numpy if needed.
fn python(options: &Options) -> Result<PathBuf, String> {
    let given = options.python.clone().or_else(|| std::env::var_os("NN_TORCH_PYTHON").map(PathBuf::from));
    if let Some(python) = given {
        if !has_torch(&python) {
            return Err(format!("{} cannot import torch and numpy", python.display()));
        }
        return Ok(python);
    }
    let venv = root().join("target/peers-venv");
    let python = venv.join("bin/python");
    if python.exists() && has_torch(&python) {
        return Ok(python);
    }
    if !python.exists() {
        eprintln!("bench-peers: creating a Python venv in {} (python3 -m venv)", venv.display());
        output(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv")?;
    }
    eprintln!(
        "bench-peers: installing torch and numpy into {} with pip: a large download \
         (torch and its dependencies: several hundred MB to a few GB); \
         give --python PATH or NN_TORCH_PYTHON to use a Python that has them",
        venv.display()
    );
    let status = Command::new(&python)
        .args(["-m", "pip", "install", "--disable-pip-version-check", "torch", "numpy"])
        .status()
        .map_err(|e| format!("cannot run pip: {e}"))?;
    if !status.success() || !has_torch(&python) {
        return Err(format!("pip could not install torch and numpy into {}", venv.display()));
    }
    Ok(python)
}

/// The load average of the last minute, from /proc/loadavg.
fn load() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

fn number(value: &Value, key: &str) -> f64 {
    value[key].as_f64().unwrap_or(f64::NAN)
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// W1…W5.
    pub workload: String,
    /// Thread count.
    pub threads: usize,
    /// Our median epoch (W5: search), ms.
    pub ours_ms: f64,
    /// PyTorch's, ms.
    pub torch_ms: f64,
    /// Our GFLOP/s.
    pub ours_gflops: f64,
    /// Our allocations per step, if counted.
    pub allocations: Option<f64>,
    /// Model FLOPs per epoch (the same count for both sides).
    pub flops: f64,
}

impl Row {
    /// PyTorch time / our time.
    pub fn ratio(&self) -> f64 {
        self.torch_ms / self.ours_ms
    }

    /// The target for this row's ratio, if any.
    pub fn target(&self) -> Option<f64> {
        TARGETS.iter().find(|(w, _)| *w == self.workload).map(|&(_, t)| t)
    }
}

/// The Markdown table of the rows.
pub fn table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| workload | threads | ours ms | PyTorch ms | PyTorch / ours | target | met | ours GFLOP/s | PyTorch GFLOP/s | allocations / step |\n\
         |---|---:|---:|---:|---:|---:|---|---:|---:|---:|\n",
    );
    for r in rows {
        let (target, met) = match r.target() {
            Some(t) => (format!("≥ {t}×"), if r.ratio() >= t { "yes" } else { "no" }),
            None => ("—".to_string(), "—"),
        };
        let allocations = r.allocations.map_or("—".to_string(), |a| format!("{a:.2}"));
        text.push_str(&format!(
            "| {} | {} | {:.2} | {:.2} | {:.2}× | {target} | {met} | {:.1} | {:.1} | {allocations} |\n",
            r.workload,
            r.threads,
            r.ours_ms,
            r.torch_ms,
            r.ratio(),
            r.ours_gflops,
            r.flops / (r.torch_ms * 1e-3) / 1e9,
        ));
    }
    text
}

fn measure(options: &Options) -> Result<(), String> {
    let python = python(options)?;
    let load_before = load();
    eprintln!("bench-peers: building nn (release)");
    output(
        Command::new(cargo()).current_dir(root()).args(["build", "--release", "-p", "nn-cli"]),
        "cargo build",
    )?;
    let data = root().join("target/peers-data");
    ours(&["--dump-data".into(), data.display().to_string()], None)?;
    let data = data.display().to_string();
    let epochs: Vec<String> =
        options.epochs.map(|e| vec!["--epochs".into(), e.to_string()]).unwrap_or_default();
    let mut raw = serde_json::Map::new();

    let mut gemm = Vec::new();
    for &t in &options.threads {
        eprintln!("bench-peers: GEMM on {t} thread(s)");
        let threads = vec!["--threads".to_string(), t.to_string()];
        let cpu = options.pin_cpu.filter(|_| t == 1);
        let o = ours(&[vec!["--gemm".into()], threads.clone()].concat(), cpu)?;
        let p = theirs(&python, &[vec!["--gemm".into()], threads].concat(), cpu)?;
        gemm.push((t, o.clone(), p.clone()));
        raw.insert(format!("gemm/{t}"), json!({"ours": o, "pytorch": p}));
    }

    let mut rows = Vec::new();
    let mut w5_ours: BTreeMap<usize, Value> = BTreeMap::new();
    let mut w5_identical = None;
    let mut w5_torch_way = BTreeMap::new();
    for workload in &options.workloads {
        for &t in &options.threads {
            eprintln!("bench-peers: {workload} on {t} thread(s)");
            let threads = vec!["--threads".to_string(), t.to_string()];
            let base = vec!["--workload".to_string(), workload.clone()];
            // W5 times 1 thread in the same process as its 2 threads, so it is never pinned.
            let cpu = options.pin_cpu.filter(|_| t == 1 && workload != "W5");
            let ours_args = [base.clone(), threads.clone(), epochs.clone()].concat();
            let mut o = if workload == "W5" {
                // `nn bench --workload W5 --threads t` measures 1 thread and t threads:
                // 1 thread comes with the largest count, from the same process.
                if !w5_ours.contains_key(&t) {
                    let most = options.threads.iter().copied().max().unwrap_or(t);
                    let asked = if t == 1 { most } else { t };
                    let threads = vec!["--threads".to_string(), asked.to_string()];
                    let report = ours(&[base.clone(), threads, epochs.clone()].concat(), None)?;
                    if asked == 2 {
                        w5_identical = report["identical_results"].as_bool();
                    }
                    for run in report["runs"].as_array().into_iter().flatten() {
                        let mut run = run.clone();
                        run["flops_per_epoch"] = report["flops_per_epoch"].clone();
                        w5_ours.insert(run["threads"].as_u64().unwrap_or(0) as usize, run);
                    }
                    raw.insert(format!("W5/ours/{asked}"), report);
                }
                w5_ours[&t].clone()
            } else {
                ours(&ours_args, cpu)?
            };
            let theirs_args =
                [base.clone(), threads.clone(), epochs.clone(), vec!["--data".into(), data.clone()]].concat();
            let mut p = theirs(&python, &theirs_args, cpu)?;
            // `--repeat n`: n runs of each side, alternating, each side's
            // fastest median kept (W5 runs once: a search takes seconds).
            let runs = if workload == "W5" { 1 } else { options.repeat };
            for _ in 1..runs {
                let again = ours(&ours_args, cpu)?;
                if number(&again, "epoch_ms_median") < number(&o, "epoch_ms_median") {
                    o = again;
                }
                let again = theirs(&python, &theirs_args, cpu)?;
                if number(&again, "epoch_ms_median") < number(&p, "epoch_ms_median") {
                    p = again;
                }
            }
            if workload == "W5" {
                w5_torch_way.insert(t, p["way"].as_str().unwrap_or("").to_string());
            }
            rows.push(Row {
                workload: workload.clone(),
                threads: t,
                ours_ms: number(&o, "epoch_ms_median"),
                torch_ms: number(&p, "epoch_ms_median"),
                ours_gflops: number(&o, "gflops"),
                allocations: o["allocations_per_step"].as_f64(),
                flops: number(&o, "flops_per_epoch"),
            });
            raw.insert(format!("{workload}/{t}"), json!({"ours": o, "pytorch": p}));
        }
    }
    let load_after = load();

    println!("{}", table(&rows));
    println!("GEMM, f32 (median GFLOP/s; ours: nn_core::linalg::matmul_into, PyTorch: torch.matmul):\n");
    println!("| threads | m × k × n | ours GFLOP/s | PyTorch GFLOP/s |\n|---:|---|---:|---:|");
    for (t, o, p) in &gemm {
        let sizes = |v: &Value| v["gemm"].as_array().cloned().unwrap_or_default();
        for (a, b) in sizes(o).iter().zip(sizes(p).iter()) {
            println!(
                "| {t} | {} × {} × {} | {:.1} | {:.1} |",
                a["m"],
                a["k"],
                a["n"],
                number(a, "gflops"),
                number(b, "gflops")
            );
        }
    }
    if let (Some(one), Some(two)) = (w5_ours.get(&1), w5_ours.get(&2)) {
        let speedup = number(one, "epoch_ms_median") / number(two, "epoch_ms_median");
        println!(
            "\nW5 (ours) speed-up from 1 to 2 threads: {speedup:.2}× (target ≥ {W5_SPEEDUP_TARGET}×: {}), identical results: {}",
            if speedup >= W5_SPEEDUP_TARGET { "met" } else { "not met" },
            w5_identical.map_or("unknown".into(), |i| i.to_string())
        );
    }
    for (t, way) in &w5_torch_way {
        println!("W5 (PyTorch) on {t} thread(s): the faster way was {way}");
    }
    let fmt_load = |l: Option<f64>| l.map_or("unknown".into(), |l| format!("{l:.2}"));
    println!("\nload average (1 min): {} before, {} after", fmt_load(load_before), fmt_load(load_after));
    if options.repeat > 1 {
        println!("W1–W4: each side's fastest median of {} alternating runs", options.repeat);
    }
    if let Some(cpu) = options.pin_cpu {
        println!("1-thread runs of GEMM and W1–W4, both sides: pinned to CPU {cpu}");
    }

    raw.insert("load_before".into(), json!(load_before));
    raw.insert("load_after".into(), json!(load_after));
    raw.insert("pin_cpu".into(), json!(options.pin_cpu));
    raw.insert("repeat".into(), json!(options.repeat));
    let out = root().join(&options.out);
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(&Value::Object(raw)).map_err(|e| e.to_string())?;
    std::fs::write(&out, text).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("bench-peers: every measurement in {}", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn options_have_defaults_and_are_checked() {
        let o = parse_args(&[]).unwrap();
        assert_eq!(o.threads, vec![1, 2]);
        assert_eq!(o.workloads.len(), 5);
        assert_eq!(o.python, None);
        let o = parse_args(&args("--python /p --threads 2,1,2 --workloads w1,W4 --epochs 3")).unwrap();
        assert_eq!(o.python, Some(PathBuf::from("/p")));
        assert_eq!(o.threads, vec![1, 2]);
        assert_eq!(o.workloads, vec!["W1", "W4"]);
        assert_eq!(o.epochs, Some(3));
        assert_eq!(
            parse_args(&args("--threads 0")).unwrap_err(),
            "--threads takes counts from 1 such as 1,2, got '0'"
        );
        assert_eq!(
            parse_args(&args("--workloads W7")).unwrap_err(),
            "unknown workload 'W7': choose among W1, W2, W3, W4, W5"
        );
        assert_eq!(
            parse_args(&args("--epochs 1")).unwrap_err(),
            "--epochs takes a count from 2 (a warm-up and a timed epoch), got '1'"
        );
        assert_eq!(parse_args(&args("--python")).unwrap_err(), "--python needs a value");
        assert_eq!(parse_args(&args("--fast")).unwrap_err(), "unknown option '--fast'");
        assert_eq!(parse_args(&args("--pin-cpu 1")).unwrap().pin_cpu, Some(1));
        assert_eq!(parse_args(&args("--repeat 3")).unwrap().repeat, 3);
        assert_eq!(parse_args(&args("--repeat 0")).unwrap_err(), "--repeat takes a count from 1, got '0'");
        assert_eq!(
            parse_args(&args("--pin-cpu first")).unwrap_err(),
            "--pin-cpu takes a CPU number such as 0, got 'first'"
        );
    }

    #[test]
    fn the_table_shows_ratios_and_targets() {
        let row = |workload: &str, ours_ms, torch_ms| Row {
            workload: workload.into(),
            threads: 1,
            ours_ms,
            torch_ms,
            ours_gflops: 40.0,
            allocations: Some(0.0),
            flops: 1e9,
        };
        let text = table(&[row("W1", 1.0, 10.0), row("W4", 1000.0, 800.0), row("W5", 100.0, 300.0)]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], "| W1 | 1 | 1.00 | 10.00 | 10.00× | ≥ 8× | yes | 40.0 | 100.0 | 0.00 |");
        assert_eq!(lines[3], "| W4 | 1 | 1000.00 | 800.00 | 0.80× | ≥ 1.1× | no | 40.0 | 1.2 | 0.00 |");
        assert_eq!(lines[4], "| W5 | 1 | 100.00 | 300.00 | 3.00× | — | — | 40.0 | 3.3 | 0.00 |");
    }

    #[test]
    fn the_last_json_line_is_read() {
        assert_eq!(last_json("noise\n{\"a\": 1}\n", "x").unwrap()["a"], 1);
        assert!(last_json("no json", "x").is_err());
    }
}
