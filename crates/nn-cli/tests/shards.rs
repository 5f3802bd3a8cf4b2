//! A simulated cluster: `nn grid` split into shards run as separate `nn`
//! processes in parallel (by `--shard K/N`, by Slurm array variables, by a
//! Kubernetes Indexed Job's index), put together by `nn grid merge`; the
//! errors merge must give; and the deploy files' flags.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

/// The cluster variables `--shard auto` reads, removed from every `nn` run
/// unless a test sets them.
const CLUSTER_VARS: [&str; 5] = [
    "SLURM_ARRAY_TASK_ID",
    "SLURM_ARRAY_TASK_MIN",
    "SLURM_ARRAY_TASK_COUNT",
    "SLURM_ARRAY_TASK_STEP",
    "JOB_COMPLETION_INDEX",
];

fn command(args: &[&str], env: &[(&str, String)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nn"));
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for name in CLUSTER_VARS {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

fn nn(args: &[&str]) -> Output {
    command(args, &[]).output().expect("the nn binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "nn failed: {}", stderr(&out));
    stdout(&out)
}

fn fails(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(2), "nn should fail; stdout: {}", stdout(out));
    stderr(out)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nn-cli-shards-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// 4 points × 3 folds on the digits, 2 epochs a job.
fn search(lr: &str) -> Vec<String> {
    [
        "grid",
        "--net",
        "Linear(64,{hidden}) -> ReLU -> Linear({hidden},10)",
        "--grid",
        "hidden=12,24",
        "--grid",
        lr,
        "--cv",
        "3",
        "--epochs",
        "2",
        "--threads",
        "1",
    ]
    .map(String::from)
    .to_vec()
}

fn with(base: &[String], more: &[&str]) -> Vec<String> {
    base.iter().cloned().chain(more.iter().map(|s| s.to_string())).collect()
}

/// One `nn` process: its arguments and the variables set for it.
type Run<'a> = (Vec<String>, Vec<(&'a str, String)>);

/// Starts one `nn` per (arguments, environment) at once, then waits for all.
fn in_parallel(runs: Vec<Run<'_>>) -> Vec<Output> {
    let children: Vec<Child> = runs
        .iter()
        .map(|(args, env)| {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            command(&args, env).spawn().expect("the nn binary starts")
        })
        .collect();
    children.into_iter().map(|c| c.wait_with_output().unwrap()).collect()
}

/// The unsharded run's table, JSON ranking and results rows (seconds cut off).
fn unsharded(dir: &Path) -> (String, String, Vec<String>) {
    let base = search("lr=0.05,0.1");
    let csv = dir.join("whole.csv");
    let args = with(&base, &["--results", text(&csv)]);
    let table = ok(nn(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let json = ok(nn(&with(&base, &["--json"]).iter().map(String::as_str).collect::<Vec<_>>()));
    (table, json, rows_without_seconds(&csv))
}

/// The lines of a results file without its `seconds` column, the only one
/// that differs between runs (no cell of these searches holds a comma).
fn rows_without_seconds(csv: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(csv).unwrap();
    let column = text.lines().next().unwrap().split(',').position(|c| c == "seconds").unwrap();
    text.lines()
        .map(|l| {
            l.split(',')
                .enumerate()
                .filter(|(i, _)| *i != column)
                .map(|(_, c)| c)
                .collect::<Vec<_>>()
                .join(",")
        })
        .collect()
}

/// Merges `files` as a table, as JSON, and with --results; checks they match the unsharded run.
fn merge_matches(dir: &Path, files: &[PathBuf], expected: &(String, String, Vec<String>)) {
    let mut args = vec!["grid", "merge"];
    args.extend(files.iter().map(|f| text(f)));
    let all = dir.join("merged.csv");
    let graphs = dir.join("graphs");
    let table = ok(nn(&[&args[..], &["--results", text(&all), "--loss-graphs", text(&graphs)]].concat()));
    assert_eq!(table, expected.0, "the ranking table and best point");
    assert!(table.contains("best: hidden="), "{table}");
    let json = ok(nn(&[&args[..], &["--json"]].concat()));
    assert_eq!(json, expected.1, "the JSON ranking");
    assert_eq!(rows_without_seconds(&all), expected.2, "every row of --results");
    let pictures = std::fs::read_dir(&graphs).unwrap().count();
    assert_eq!(pictures, 4, "one loss graph per point");
}

#[test]
fn shards_merge_to_the_unsharded_ranking() {
    let dir = temp_dir("flag");
    let expected = unsharded(&dir);
    let base = search("lr=0.05,0.1");

    let one = dir.join("one.csv");
    let out = ok(nn(&with(&base, &["--shard", "0/1", "--results", text(&one)])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()));
    assert!(out.starts_with("shard 0/1: ran 12 of 12 jobs (4 points × 3 folds) of search "), "{out}");
    merge_matches(&dir, &[one], &expected);

    let pattern = dir.join("shard-{shard}.csv");
    let runs = (0..3)
        .map(|k| (with(&base, &["--shard", &format!("{k}/3"), "--results", text(&pattern)]), vec![]))
        .collect();
    let outs = in_parallel(runs);
    for (k, out) in outs.into_iter().enumerate() {
        assert!(ok(out).starts_with(&format!("shard {k}/3: ran 4 of 12 jobs")));
    }
    let files: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("shard-{k}.csv"))).collect();
    merge_matches(&dir, &files, &expected);
    // The order of the files does not matter.
    merge_matches(&dir, &[files[2].clone(), files[0].clone(), files[1].clone()], &expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn slurm_array_variables_choose_the_shard() {
    let dir = temp_dir("slurm");
    let expected = unsharded(&dir);
    let base = search("lr=0.05,0.1");
    let pattern = dir.join("shard-{shard}.csv");
    // An array numbered from 5: --array=5-7.
    let runs = (0..3)
        .map(|k| {
            let env = vec![
                ("SLURM_ARRAY_TASK_ID", (5 + k).to_string()),
                ("SLURM_ARRAY_TASK_MIN", "5".to_string()),
                ("SLURM_ARRAY_TASK_COUNT", "3".to_string()),
            ];
            (with(&base, &["--shard", "auto", "--results", text(&pattern)]), env)
        })
        .collect();
    for (k, out) in in_parallel(runs).into_iter().enumerate() {
        assert!(ok(out).starts_with(&format!("shard {k}/3: ")));
    }
    let files: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("shard-{k}.csv"))).collect();
    merge_matches(&dir, &files, &expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_indexed_job_index_with_shards_chooses_the_shard() {
    let dir = temp_dir("k8s");
    let expected = unsharded(&dir);
    let base = search("lr=0.05,0.1");
    let pattern = dir.join("shard-{shard}.csv");
    let runs = (0..3)
        .map(|k| {
            let args = with(&base, &["--shard", "auto", "--shards", "3", "--results", text(&pattern)]);
            (args, vec![("JOB_COMPLETION_INDEX", k.to_string())])
        })
        .collect();
    for (k, out) in in_parallel(runs).into_iter().enumerate() {
        assert!(ok(out).starts_with(&format!("shard {k}/3: ")));
    }
    let files: Vec<PathBuf> = (0..3).map(|k| dir.join(format!("shard-{k}.csv"))).collect();
    merge_matches(&dir, &files, &expected);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Runs shard `k` of 3 of the search with `lr` into `dir/name`.
fn run_shard(dir: &Path, lr: &str, k: usize, name: &str) -> PathBuf {
    let path = dir.join(name);
    let args = with(&search(lr), &["--shard", &format!("{k}/3"), "--results", text(&path)]);
    ok(nn(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    path
}

fn merge_error(files: &[&Path]) -> String {
    let mut args = vec!["grid", "merge"];
    args.extend(files.iter().map(|f| text(f)));
    let out = nn(&args);
    assert_eq!(stdout(&out), "", "nothing is ranked");
    fails(&out)
}

#[test]
fn merge_refuses_missing_duplicated_and_foreign_shards() {
    let dir = temp_dir("refuse");
    let lr = "lr=0.05,0.1";
    let s0 = run_shard(&dir, lr, 0, "shard-0.csv");
    let s1 = run_shard(&dir, lr, 1, "shard-1.csv");
    let s2 = run_shard(&dir, lr, 2, "shard-2.csv");

    // Shard 1 missing: jobs 1, 4, 7, 10 = (0, 1), (1, 1), (2, 1), (3, 1).
    let err = merge_error(&[&s0, &s2]);
    assert!(err.contains("4 of 12 jobs are missing: point 0 (hidden=12, lr=0.05) fold 1, "), "{err}");
    assert!(err.contains("point 3 (hidden=24, lr=0.1) fold 1; they belong to shard 1/3"), "{err}");

    // A job twice: shard 0 again under another name.
    let copy = dir.join("shard-0-again.csv");
    std::fs::copy(&s0, &copy).unwrap();
    let err = merge_error(&[&s0, &s1, &s2, &copy]);
    assert!(
        err.contains("4 jobs are given more than once: point 0 (hidden=12, lr=0.05) fold 0 is in "),
        "{err}"
    );
    assert!(
        err.contains(&format!("{} line 2 and {} line 2", s0.display(), copy.display())),
        "the files and lines are named: {err}"
    );
    let err = merge_error(&[&s0, &s1, &s0]);
    assert!(err.contains(&format!("{} is given twice", s0.display())), "{err}");

    // Shard 1 of another search: a different learning-rate grid.
    let foreign = run_shard(&dir, "lr=0.05,0.2", 1, "other-1.csv");
    let err = merge_error(&[&s0, &foreign, &s2]);
    assert!(err.starts_with("nn: the files come from 2 different searches: search "), "{err}");
    assert!(
        err.contains(&format!("in {}, {}; search ", s0.display(), s2.display()))
            && err.contains(&format!("in {}; merge the shards of one search", foreign.display())),
        "{err}"
    );

    // Not a shard's file: the unsharded results.
    let whole = dir.join("whole.csv");
    ok(nn(&with(&search(lr), &["--results", text(&whole)]).iter().map(String::as_str).collect::<Vec<_>>()));
    let err = merge_error(&[&whole]);
    assert!(err.contains("is not a shard's results file (nn grid --shard K/N --results FILE.csv)"), "{err}");
    let err = merge_error(&[&dir.join("nowhere.csv")]);
    assert!(err.contains("nowhere.csv: "), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_shard_run_again_replaces_only_its_own_file() {
    let dir = temp_dir("rerun");
    let lr = "lr=0.05,0.1";
    let files: Vec<PathBuf> = (0..3).map(|k| run_shard(&dir, lr, k, &format!("shard-{k}.csv"))).collect();
    let before: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let rows = rows_without_seconds(&files[1]);
    std::fs::write(&files[1], "half a fi").unwrap(); // a task killed mid-write under another writer
    run_shard(&dir, lr, 1, "shard-1.csv");
    assert_eq!(rows_without_seconds(&files[1]), rows, "the same rows again");
    assert_eq!(std::fs::read(&files[0]).unwrap(), before[0]);
    assert_eq!(std::fs::read(&files[2]).unwrap(), before[2]);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["shard-0.csv", "shard-1.csv", "shard-2.csv"], "no temporary file is left");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_shards_are_refused_before_training() {
    let base = search("lr=0.1");
    let run = |more: &[&str], env: Vec<(&str, String)>| {
        let args = with(&base, more);
        let out = command(&args.iter().map(String::as_str).collect::<Vec<_>>(), &env).output().unwrap();
        fails(&out)
    };
    let err = run(&["--shard", "auto", "--results", "s.csv"], vec![]);
    assert!(
        err.contains(
            "--shard auto: neither a Slurm job array (SLURM_ARRAY_TASK_ID) nor a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) is in the environment; give --shard K/N"
        ),
        "{err}"
    );
    let err = run(&["--shard", "3/3", "--results", "s.csv"], vec![]);
    assert!(err.contains("--shard 3/3: shard 3 does not exist: with 3 shards K counts from 0 to 2"), "{err}");
    let err = run(&["--shard", "1/0", "--results", "s.csv"], vec![]);
    assert!(err.contains("--shard 1/0: the number of shards must be at least 1, got 0"), "{err}");
    let err = run(&["--shard", "one/3", "--results", "s.csv"], vec![]);
    assert!(err.contains("--shard one/3: expected K/N with K counting from 0 (e.g. 0/4), or auto"), "{err}");
    let err = run(&["--shard", "0/3"], vec![]);
    assert!(err.contains("--shard 0/3 needs --results FILE.csv"), "{err}");
    let err = run(&["--shard", "auto", "--results", "s.csv"], vec![("JOB_COMPLETION_INDEX", "1".into())]);
    assert!(
        err.contains("JOB_COMPLETION_INDEX=1 is set (a Kubernetes Indexed Job) but --shards N is missing"),
        "{err}"
    );
    let err = run(&["--shards", "3", "--results", "s.csv"], vec![]);
    assert!(err.contains("--shards N goes with --shard auto"), "{err}");
    let err = run(&["--shard", "0/3", "--results", "s.csv", "--loss-graphs", "g"], vec![]);
    assert!(err.contains("give it to nn grid merge"), "{err}");
}

// ---------------------------------------------------------------------------
// The deploy files.

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A YAML value of the block subset the deploy files use.
#[derive(Debug, Clone, PartialEq)]
enum Yaml {
    Map(Vec<(String, Yaml)>),
    Seq(Vec<Yaml>),
    Str(String),
}

impl Yaml {
    fn get(&self, key: &str) -> &Yaml {
        match self {
            Yaml::Map(entries) => entries
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key} in {self:?}")),
            _ => panic!("{key}: not a mapping: {self:?}"),
        }
    }

    fn path(&self, keys: &str) -> &Yaml {
        keys.split('.').fold(self, |v, k| match k.parse::<usize>() {
            Ok(i) => &v.seq()[i],
            Err(_) => v.get(k),
        })
    }

    fn str(&self) -> &str {
        match self {
            Yaml::Str(s) => s,
            _ => panic!("not a scalar: {self:?}"),
        }
    }

    fn seq(&self) -> &[Yaml] {
        match self {
            Yaml::Seq(items) => items,
            _ => panic!("not a sequence: {self:?}"),
        }
    }
}

/// Parses the documents (`---`-separated) of a block-style YAML file:
/// mappings, sequences (`- ` items, also of mappings), plain, single- and
/// double-quoted scalars, comments. Anything else (flow collections, block
/// scalars, anchors, tabs) panics: the deploy files must stay in this subset.
fn parse_yaml(text: &str) -> Vec<Yaml> {
    let mut documents = Vec::new();
    let mut lines: Vec<(usize, String)> = Vec::new();
    for raw in text.lines().chain(["---"]) {
        assert!(!raw.contains('\t'), "a tab in {raw:?}");
        if raw.trim_end() == "---" {
            if !lines.is_empty() {
                let mut at = 0;
                let indent = lines[0].0;
                documents.push(block(&mut lines, &mut at, indent));
                assert_eq!(at, lines.len(), "lines left over at {:?}", lines.get(at));
                lines.clear();
            }
            continue;
        }
        let content = strip_comment(raw);
        if content.trim().is_empty() {
            continue;
        }
        let indent = content.len() - content.trim_start().len();
        lines.push((indent, content.trim().to_string()));
    }
    documents
}

fn strip_comment(line: &str) -> &str {
    let (mut single, mut double) = (false, false);
    let mut previous = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && previous == ' ' => return &line[..i],
            _ => {}
        }
        previous = c;
    }
    line
}

fn block(lines: &mut Vec<(usize, String)>, at: &mut usize, indent: usize) -> Yaml {
    if lines[*at].1 == "-" || lines[*at].1.starts_with("- ") {
        let mut items = Vec::new();
        while *at < lines.len()
            && lines[*at].0 == indent
            && (lines[*at].1 == "-" || lines[*at].1.starts_with("- "))
        {
            let rest = lines[*at].1[1..].trim().to_string();
            if rest.is_empty() {
                *at += 1;
                let inner = lines[*at].0;
                assert!(inner > indent, "an empty item at {:?}", lines[*at]);
                items.push(block(lines, at, inner));
            } else if key_value(&rest).is_some() {
                // `- key: value` opens a mapping indented past the dash.
                lines[*at] = (indent + 2, rest);
                items.push(block(lines, at, indent + 2));
            } else {
                items.push(scalar(&rest));
                *at += 1;
            }
        }
        return Yaml::Seq(items);
    }
    let mut entries = Vec::new();
    while *at < lines.len() && lines[*at].0 == indent {
        let (key, value) =
            key_value(&lines[*at].1).unwrap_or_else(|| panic!("expected key: value at {:?}", lines[*at]));
        *at += 1;
        let value = if !value.is_empty() {
            scalar(&value)
        } else if *at < lines.len()
            && (lines[*at].0 > indent || (lines[*at].0 == indent && lines[*at].1.starts_with("- ")))
        {
            let inner = lines[*at].0;
            block(lines, at, inner)
        } else {
            Yaml::Str(String::new())
        };
        assert!(entries.iter().all(|(k, _)| *k != key), "{key} twice");
        entries.push((key, value));
    }
    assert!(*at == lines.len() || lines[*at].0 < indent, "bad indentation at {:?}", lines[*at]);
    Yaml::Map(entries)
}

/// `key: value` or `key:` (value empty), the key plain.
fn key_value(line: &str) -> Option<(String, String)> {
    if line.starts_with(['"', '\'']) {
        return None;
    }
    let (key, value) = if let Some(key) = line.strip_suffix(':') {
        (key, "")
    } else {
        let (key, value) = line.split_once(": ")?;
        (key, value)
    };
    (!key.is_empty() && !key.contains(' ')).then(|| (key.to_string(), value.trim().to_string()))
}

fn scalar(text: &str) -> Yaml {
    assert!(
        !text.starts_with(['[', '{', '&', '*', '|', '>', '!', '%', '@', '`']),
        "outside the subset: {text:?}"
    );
    if let Some(inner) = text.strip_prefix('\'') {
        let inner = inner.strip_suffix('\'').unwrap_or_else(|| panic!("unclosed: {text}"));
        return Yaml::Str(inner.replace("''", "'"));
    }
    if let Some(inner) = text.strip_prefix('"') {
        let inner = inner.strip_suffix('"').unwrap_or_else(|| panic!("unclosed: {text}"));
        assert!(!inner.contains('\\'), "escapes are outside the subset: {text}");
        return Yaml::Str(inner.to_string());
    }
    assert!(!text.contains(": ") && !text.contains(" #"), "outside the subset: {text:?}");
    Yaml::Str(text.to_string())
}

#[test]
fn the_yaml_subset_parser_reads_what_it_should() {
    let docs = parse_yaml(
        "# c\na: 1\nb:\n  - x\n  - 'y # z'\n  - k: v\n    l: \"w: 2\"\nc:\n- d # e\n---\nf:\n  g: h\n",
    );
    let s = |v: &str| Yaml::Str(v.into());
    let expected0 = Yaml::Map(vec![
        ("a".into(), s("1")),
        (
            "b".into(),
            Yaml::Seq(vec![
                s("x"),
                s("y # z"),
                Yaml::Map(vec![("k".into(), s("v")), ("l".into(), s("w: 2"))]),
            ]),
        ),
        ("c".into(), Yaml::Seq(vec![s("d")])),
    ]);
    assert_eq!(docs, [expected0, Yaml::Map(vec![("f".into(), Yaml::Map(vec![("g".into(), s("h"))]))])]);
}

/// The product of the numbers of values of the `--grid` options in `args`.
fn points(args: &[&str]) -> usize {
    args.windows(2)
        .filter(|w| w[0] == "--grid")
        .map(|w| w[1].split_once('=').unwrap().1.split(',').count())
        .product()
}

fn flag<'a>(args: &[&'a str], name: &str) -> &'a str {
    let at = args.iter().position(|a| *a == name).unwrap_or_else(|| panic!("no {name} in {args:?}"));
    args[at + 1]
}

#[test]
fn the_kubernetes_job_is_an_indexed_job_running_nn_grid_shards() {
    let docs = parse_yaml(&read("deploy/k8s/grid-job.yaml"));
    let job = docs.iter().find(|d| d.get("kind").str() == "Job").expect("a Job");
    assert_eq!(job.get("apiVersion").str(), "batch/v1");
    let spec = job.get("spec");
    assert_eq!(spec.get("completionMode").str(), "Indexed");
    let completions = spec.get("completions").str();
    assert!(completions.parse::<usize>().unwrap() > 1);
    let pod = spec.path("template.spec");
    assert_eq!(pod.get("restartPolicy").str(), "Never");
    let container = pod.path("containers.0");
    assert!(!container.get("image").str().is_empty());
    let command: Vec<&str> = container.get("command").seq().iter().map(Yaml::str).collect();
    assert_eq!(command[..2], ["nn", "grid"]);
    assert_eq!(flag(&command, "--shard"), "auto");
    assert_eq!(flag(&command, "--shards"), completions, "--shards must be the Job's completions");
    assert_eq!(points(&command), 200, "the 200-point search of the docs");
    // The results go to the shared volume, one file per shard.
    let results = flag(&command, "--results");
    assert!(results.contains("{shard}"), "{results}");
    let mount = container.path("volumeMounts.0");
    assert!(results.starts_with(&format!("{}/", mount.get("mountPath").str())), "{results}");
    let volume = pod.path("volumes.0");
    assert_eq!(volume.get("name").str(), mount.get("name").str());
    let claim = volume.path("persistentVolumeClaim.claimName").str();
    let pvc = docs.iter().find(|d| d.get("kind").str() == "PersistentVolumeClaim").expect("a claim");
    assert_eq!(pvc.path("metadata.name").str(), claim);
    assert_eq!(pvc.path("spec.accessModes.0").str(), "ReadWriteMany", "pods on any node write to it");

    let merge = parse_yaml(&read("deploy/k8s/merge-job.yaml"));
    let pod = merge[0].path("spec.template.spec");
    let script = pod.path("containers.0.command").seq().last().unwrap().str();
    assert!(script.starts_with("nn grid merge /results/shard-*.csv"), "{script}");
    assert_eq!(pod.path("volumes.0.persistentVolumeClaim.claimName").str(), claim);
}

/// The `nn` command of an sbatch script: its lines joined at `\`, split into words.
fn shell_command(script: &str, start: &str) -> Vec<String> {
    let joined = script.replace("\\\n", " ");
    let line =
        joined.lines().find(|l| l.trim_start().starts_with(start)).unwrap_or_else(|| panic!("no {start}"));
    line.split_whitespace().map(|w| w.trim_matches('\'').to_string()).collect()
}

#[test]
fn the_slurm_scripts_run_an_array_of_shards_and_the_merge() {
    let script = read("deploy/slurm/grid.sbatch");
    assert!(script.starts_with("#!/bin/bash\n"));
    let array = script.lines().find_map(|l| l.strip_prefix("#SBATCH --array=")).expect("#SBATCH --array");
    let (first, last) = array.split_once('-').unwrap();
    assert_eq!(first, "0", "an array numbered from 0");
    assert!(last.parse::<usize>().unwrap() > 0);
    let command = shell_command(&script, "\"$NN\" grid");
    let command: Vec<&str> = command.iter().map(String::as_str).collect();
    assert_eq!(flag(&command, "--shard"), "auto");
    assert!(flag(&command, "--results").contains("{shard}"));
    assert_eq!(points(&command), 200, "the 200-point search of the docs");
    let merge = read("deploy/slurm/merge.sbatch");
    assert!(merge.contains("\"$NN\" grid merge results/shard-*.csv"), "{merge}");
    for (name, text) in [("grid.sbatch", &script), ("merge.sbatch", &merge)] {
        let out = Command::new("bash").args(["-n", "-c", text]).output().expect("bash runs");
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn the_docs_and_the_dockerfile_give_both_recipes() {
    let docs = read("docs/SCALE-OUT.md");
    for needle in [
        "nn grid merge",
        "--shard auto",
        "sbatch",
        "deploy/slurm/grid.sbatch",
        "kubectl apply -f deploy/k8s/grid-job.yaml",
        "docker build",
    ] {
        assert!(docs.contains(needle), "docs/SCALE-OUT.md does not mention {needle}");
    }
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("FROM rust:1.95 AS builder"), "{dockerfile}");
    assert!(dockerfile.contains("cargo build --release --locked -p nn-cli"), "{dockerfile}");
    assert!(dockerfile.contains("ENTRYPOINT [\"nn\"]"), "{dockerfile}");
    assert!(read(".dockerignore").lines().any(|l| l == "target"));
}
