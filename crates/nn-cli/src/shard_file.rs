//! The results file of one shard (`nn grid --shard K/N --results FILE.csv`):
//! one CSV row per (point, fold) job the shard ran, everything `nn grid merge`
//! needs to rank the whole search and draw its loss graphs.
//!
//! Header: `point,<each parameter>,fold,score,final_train_loss,epochs_run,status,seconds,`
//! `train_loss_history,points,cv,shard,search`. The first columns are those of
//! `nn grid --results`, except that numbers of the grid keep their type
//! (`1.0` stays a number, `1` an integer); `train_loss_history` is the
//! training loss of every epoch, `;`-separated; `points` and `cv` the size of
//! the whole search; `shard` the `K/N` that ran the row; `search` the
//! [`SearchId`] of the search. Numbers are written in Rust's shortest form
//! that reads back to the same bits, so a merged search ranks exactly as the
//! unsharded one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use nn_train::{FoldResult, GridResult, ParamValue, Point};

use crate::error::{CliError, CliResult};
use crate::grid_cmd::parse_value;
use crate::search_id::SearchId;
use crate::shard::Shard;

/// The columns after `point` and the parameters.
pub const COLUMNS: [&str; 11] = [
    "fold",
    "score",
    "final_train_loss",
    "epochs_run",
    "status",
    "seconds",
    "train_loss_history",
    "points",
    "cv",
    "shard",
    "search",
];

/// The most (point, fold) jobs a search read back may have: more than any
/// search trains, few enough that `nn grid merge` holds a slot for each
/// (a corrupt `points` or `cv` cell would otherwise ask for terabytes).
pub const MAX_JOBS: usize = 1 << 20;

/// One job's row, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRow {
    /// The point: its index and values.
    pub point: Point,
    /// The job's result (its `fold`, score, losses, status, seconds).
    pub result: FoldResult,
    /// Points of the whole search.
    pub points: usize,
    /// Folds of the whole search.
    pub cv: usize,
    /// The shard that ran it.
    pub shard: Shard,
    /// The search it belongs to.
    pub search: SearchId,
    /// Its line in the file, counting from 1.
    pub line: usize,
}

/// A shard's results file, read back.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The grid's parameter names, in order.
    pub param_names: Vec<String>,
    /// Its rows, in file order.
    pub rows: Vec<ShardRow>,
}

/// The CSV text of a shard's `result` (grid order, then fold order): the
/// search has `points` points and `result.cv` folds.
pub fn to_csv(result: &GridResult, points: usize, shard: Shard, search: SearchId) -> String {
    let mut out = String::from("point");
    for name in &result.param_names {
        out.push(',');
        out.push_str(&csv_field(name));
    }
    for column in COLUMNS {
        out.push(',');
        out.push_str(column);
    }
    out.push('\n');
    let cell = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for p in result.in_grid_order() {
        for f in &p.folds {
            let mut cells = vec![p.point.index().to_string()];
            cells.extend(p.point.values().iter().map(|(_, v)| csv_field(&typed(v))));
            let history: Vec<String> = f.train_loss_history.iter().map(f64::to_string).collect();
            cells.extend([
                f.fold.to_string(),
                cell(f.score),
                cell(f.final_train_loss()),
                f.epochs_run.to_string(),
                csv_field(&f.status()),
                f.seconds.to_string(),
                history.join(";"),
                points.to_string(),
                result.cv.to_string(),
                shard.to_string(),
                search.to_string(),
            ]);
            out.push_str(&cells.join(","));
            out.push('\n');
        }
    }
    out
}

/// A value as the grid was given: floats always with a point or an exponent.
fn typed(value: &ParamValue) -> String {
    match value {
        ParamValue::Float(v) => format!("{v:?}"),
        other => other.to_string(),
    }
}

/// Writes `text` to `path` through a temporary file beside it renamed into
/// place: a shard run again (pre-empted, failed) replaces its own file whole
/// and never leaves half a file for `nn grid merge` to read.
///
/// # Errors
/// [`CliError::Io`] naming `path`.
pub fn write_atomic(path: &Path, text: &str) -> CliResult<()> {
    let io = |source| CliError::Io { path: path.to_path_buf(), source };
    let Some(name) = path.file_name() else {
        return Err(io(std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")));
    };
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".tmp-{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(source) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(source));
    }
    Ok(())
}

/// Reads a shard's results file.
///
/// # Errors
/// [`CliError::Io`] if it cannot be read; [`CliError::Usage`] naming the file
/// and line if it is not a shard's results or a cell is not what its column holds.
pub fn read(path: &Path) -> CliResult<ShardFile> {
    let text =
        fs::read_to_string(path).map_err(|source| CliError::Io { path: path.to_path_buf(), source })?;
    parse(path, &text)
}

/// Reads the text of a shard's results file; `path` names it in errors.
///
/// # Errors
/// As [`read`].
pub fn parse(path: &Path, text: &str) -> CliResult<ShardFile> {
    let file = path.display();
    let records = records(text).map_err(|(line, e)| CliError::usage(format!("{file} line {line}: {e}")))?;
    let mut records = records.into_iter();
    let header = records.next().map(|(_, cells)| cells).unwrap_or_default();
    let params = header.len().saturating_sub(1 + COLUMNS.len());
    if header.len() < 1 + COLUMNS.len() || header[0] != "point" || header[1 + params..] != COLUMNS {
        return Err(CliError::usage(format!(
            "{file} is not a shard's results file (nn grid --shard K/N --results FILE.csv): \
             its header should be point,<parameters>,{}",
            COLUMNS.join(",")
        )));
    }
    let param_names = header[1..1 + params].to_vec();
    let mut rows = Vec::new();
    for (line, cells) in records {
        let row = row(&param_names, &cells, line)
            .map_err(|e| CliError::usage(format!("{file} line {line}: {e}")))?;
        rows.push(row);
    }
    Ok(ShardFile { path: path.to_path_buf(), param_names, rows })
}

/// One record as a row.
fn row(names: &[String], cells: &[String], line: usize) -> Result<ShardRow, String> {
    if cells.len() != 1 + names.len() + COLUMNS.len() {
        return Err(format!("{} cells, the header has {}", cells.len(), 1 + names.len() + COLUMNS.len()));
    }
    let (values, rest) = cells[1..].split_at(names.len());
    let whole = |column: &str, text: &str| -> Result<usize, String> {
        text.parse().map_err(|_| format!("{column} '{text}' is not a whole number"))
    };
    let number = |column: &str, text: &str| -> Result<f64, String> {
        text.parse().map_err(|_| format!("{column} '{text}' is not a number"))
    };
    let optional = |column: &str, text: &str| -> Result<Option<f64>, String> {
        if text.is_empty() { Ok(None) } else { number(column, text).map(Some) }
    };
    let index = whole("point", &cells[0])?;
    let fold = whole("fold", &rest[0])?;
    let score = optional("score", &rest[1])?;
    if let Some(score) = score.filter(|s| !s.is_finite()) {
        // A NaN would rank first: nn grid writes no score for a failed job.
        return Err(format!("score '{score}' is not finite"));
    }
    let epochs_run = whole("epochs_run", &rest[3])?;
    let error = match rest[4].as_str() {
        "ok" => None,
        status => Some(
            status
                .strip_prefix("failed: ")
                .ok_or_else(|| format!("status '{status}' is neither ok nor failed: <why>"))?
                .to_string(),
        ),
    };
    let seconds = number("seconds", &rest[5])?;
    let train_loss_history = if rest[6].is_empty() {
        Vec::new()
    } else {
        rest[6].split(';').map(|v| number("train_loss_history", v)).collect::<Result<_, _>>()?
    };
    let points = whole("points", &rest[7])?;
    let cv = whole("cv", &rest[8])?;
    let shard = Shard::parse(&rest[9]).map_err(|e| format!("shard: {e}"))?;
    let search = SearchId::parse(&rest[10])
        .ok_or_else(|| format!("search '{}' is not 16 hexadecimal digits", rest[10]))?;
    if points.checked_mul(cv).is_none_or(|jobs| jobs > MAX_JOBS) {
        return Err(format!(
            "a search of {points} points and {cv} folds is more than the {MAX_JOBS} jobs nn grid merge takes (a corrupt file?)"
        ));
    }
    if index >= points || fold >= cv {
        return Err(format!(
            "point {index}, fold {fold} is outside the search of {points} points and {cv} folds"
        ));
    }
    let values = names.iter().cloned().zip(values.iter().map(|v| parse_value(v))).collect();
    let result = FoldResult { fold, score, train_loss_history, epochs_run, seconds, error };
    Ok(ShardRow { point: Point::new(index, values), result, points, cv, shard, search, line })
}

/// A CSV record: the line it starts on, its cells.
type Record = (usize, Vec<String>);

/// The records of a CSV text with the line each starts on: fields split at
/// commas, `"…"` quoting commas, quotes (`""`) and line breaks; `\r\n` or `\n`
/// ends a record; empty lines are skipped.
fn records(text: &str) -> Result<Vec<Record>, (usize, String)> {
    let mut out = Vec::new();
    let (mut cells, mut cell) = (Vec::new(), String::new());
    let (mut line, mut start) = (1, 1);
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut touched = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    cell.push(c);
                }
                _ => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if cell.is_empty() => quoted = true,
            ',' => cells.push(std::mem::take(&mut cell)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if touched || !cell.is_empty() || !cells.is_empty() {
                    cells.push(std::mem::take(&mut cell));
                    out.push((start, std::mem::take(&mut cells)));
                }
                line += 1;
                start = line;
                touched = false;
                continue;
            }
            _ => cell.push(c),
        }
        touched = true;
    }
    if quoted {
        return Err((start, "a quoted cell is not closed".to_string()));
    }
    if touched || !cell.is_empty() || !cells.is_empty() {
        cells.push(cell);
        out.push((start, cells));
    }
    Ok(out)
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_train::{Metric, ParamGrid};

    fn result() -> GridResult {
        let points = ParamGrid::new()
            .add("net", ["Linear(64, 10)"])
            .add("lr", [1.0, 0.1])
            .add("hidden", [5])
            .points()
            .unwrap();
        let fold = |fold, score: Option<f64>| FoldResult {
            fold,
            score,
            train_loss_history: if score.is_some() { vec![2.5, 0.1 + 0.2, f64::NAN] } else { vec![] },
            epochs_run: 3,
            seconds: 0.125,
            error: score.is_none().then(|| "training diverged at epoch 1, batch 2: \"loss\" is NaN".into()),
        };
        GridResult::from_folds(
            Metric::Accuracy,
            3,
            vec!["net".into(), "lr".into(), "hidden".into()],
            vec![(points[0].clone(), vec![fold(1, Some(0.9))]), (points[1].clone(), vec![fold(0, None)])],
        )
    }

    #[test]
    fn rows_are_written_with_the_search_and_history() {
        let csv = to_csv(&result(), 2, Shard { index: 1, count: 2 }, SearchId(0xabc));
        let expected = "point,net,lr,hidden,fold,score,final_train_loss,epochs_run,status,seconds,train_loss_history,points,cv,shard,search\n\
            0,\"Linear(64, 10)\",1.0,5,1,0.9,NaN,3,ok,0.125,2.5;0.30000000000000004;NaN,2,3,1/2,0000000000000abc\n\
            1,\"Linear(64, 10)\",0.1,5,0,,,3,\"failed: training diverged at epoch 1, batch 2: \"\"loss\"\" is NaN\",0.125,,2,3,1/2,0000000000000abc\n";
        assert_eq!(csv, expected);
    }

    #[test]
    fn rows_read_back_to_the_same_bits_and_types() {
        let r = result();
        let csv = to_csv(&r, 2, Shard { index: 1, count: 2 }, SearchId(0xabc)).replace('\n', "\r\n");
        let file = parse(Path::new("s.csv"), &csv).unwrap();
        assert_eq!(file.param_names, ["net", "lr", "hidden"]);
        assert_eq!(file.rows.len(), 2);
        for (row, p) in file.rows.iter().zip(r.in_grid_order()) {
            assert_eq!(row.point, p.point, "values keep their types");
            let (a, b) = (&row.result, &p.folds[0]);
            assert_eq!(
                (a.fold, a.score, a.epochs_run, &a.error, a.seconds),
                (b.fold, b.score, b.epochs_run, &b.error, b.seconds)
            );
            let bits = |h: &[f64]| h.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a.train_loss_history), bits(&b.train_loss_history));
            assert_eq!(
                (row.points, row.cv, row.shard, row.search),
                (2, 3, Shard { index: 1, count: 2 }, SearchId(0xabc))
            );
        }
        assert_eq!(file.rows[1].line, 3);
        assert!(matches!(file.rows[0].point.values()[1].1, ParamValue::Float(v) if v == 1.0));
    }

    #[test]
    fn a_file_that_is_not_a_shard_is_named() {
        let err = parse(Path::new("grid.csv"), "point,lr,fold,score\n0,0.1,0,0.9\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "grid.csv is not a shard's results file (nn grid --shard K/N --results FILE.csv): its header should be \
             point,<parameters>,fold,score,final_train_loss,epochs_run,status,seconds,train_loss_history,points,cv,shard,search"
        );
        assert!(
            parse(Path::new("empty.csv"), "")
                .unwrap_err()
                .to_string()
                .starts_with("empty.csv is not a shard's")
        );
    }

    #[test]
    fn bad_cells_name_the_file_line_and_column() {
        let header = format!("point,lr,{}\n", COLUMNS.join(","));
        let good = "0,0.1,0,0.9,0.2,2,ok,1.5,0.3;0.2,4,3,0/2,0000000000000abc";
        let check = |row: &str, message: &str| {
            let err = parse(Path::new("s.csv"), &format!("{header}{good}\n{row}\n")).unwrap_err();
            assert_eq!(err.to_string(), format!("s.csv line 3: {message}"));
        };
        assert!(parse(Path::new("s.csv"), &format!("{header}{good}\n")).is_ok());
        check("0,0.1,x,0.9,0.2,2,ok,1.5,0.3,4,3,0/2,0000000000000abc", "fold 'x' is not a whole number");
        check(
            "0,0.1,0,0.9,0.2,2,ok,1.5,0.3;y,4,3,0/2,0000000000000abc",
            "train_loss_history 'y' is not a number",
        );
        check(
            "0,0.1,0,0.9,0.2,2,maybe,1.5,0.3,4,3,0/2,0000000000000abc",
            "status 'maybe' is neither ok nor failed: <why>",
        );
        check(
            "0,0.1,0,0.9,0.2,2,ok,1.5,0.3,4,3,2/2,0000000000000abc",
            "shard: --shard 2/2: shard 2 does not exist: with 2 shards K counts from 0 to 1",
        );
        check("0,0.1,0,0.9,0.2,2,ok,1.5,0.3,4,3,0/2,abc", "search 'abc' is not 16 hexadecimal digits");
        check(
            "4,0.1,0,0.9,0.2,2,ok,1.5,0.3,4,3,0/2,0000000000000abc",
            "point 4, fold 0 is outside the search of 4 points and 3 folds",
        );
        check("0,0.1,0", "3 cells, the header has 13");
        check("0,0.1,0,NaN,0.2,2,ok,1.5,0.3,4,3,0/2,0000000000000abc", "score 'NaN' is not finite");
        check("0,0.1,0,-inf,0.2,2,ok,1.5,0.3,4,3,0/2,0000000000000abc", "score '-inf' is not finite");
        check(
            "0,0.1,0,0.9,0.2,2,ok,1.5,0.3,4294967296,3,0/2,0000000000000abc",
            "a search of 4294967296 points and 3 folds is more than the 1048576 jobs nn grid merge takes (a corrupt file?)",
        );
        check(
            "0,0.1,0,0.9,0.2,2,ok,1.5,0.3,18446744073709551615,18446744073709551615,0/2,0000000000000abc",
            "a search of 18446744073709551615 points and 18446744073709551615 folds is more than the 1048576 jobs nn grid merge takes (a corrupt file?)",
        );
        let err = parse(Path::new("s.csv"), &format!("{header}0,\"open\n")).unwrap_err();
        assert_eq!(err.to_string(), "s.csv line 2: a quoted cell is not closed");
    }

    #[test]
    fn the_write_replaces_the_file_whole_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("nn-cli-shard-file-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("shard-0.csv");
        write_atomic(&path, "one").unwrap();
        write_atomic(&path, "two").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "two");
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let err = write_atomic(&dir.join("missing/shard-0.csv"), "x").unwrap_err();
        assert!(err.to_string().contains("missing/shard-0.csv: "), "{err}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
