//! `nn grid merge`: the shards of one search put together and ranked exactly
//! as the unsharded `nn grid` ranks them.
//!
//! Before ranking, every (point, fold) job must be in exactly one row of the
//! files and every row must come from the same search (the same
//! [`SearchId`]); otherwise the error names the jobs and the files.

use std::path::Path;

use nn_train::{FoldResult, GridResult, Metric, Point};

use crate::args::MergeArgs;
use crate::error::{CliError, CliResult};
use crate::grid_cmd::{ranking_json, ranking_table, write_results};
use crate::output_paths::{self, RunFiles};
use crate::search_id::SearchId;
use crate::shard::Shard;
use crate::shard_file::{self, ShardFile, ShardRow};

/// How many missing or duplicated jobs an error lists before `and N more`.
const LISTED: usize = 8;

/// Runs `nn grid merge`.
///
/// # Errors
/// A file that cannot be read or is not a shard's results; shards of
/// different searches; a job missing or given twice; an output that is a
/// shard file; a loss graph or results file that cannot be written.
pub fn run(args: &MergeArgs) -> CliResult<()> {
    let inputs = args
        .files
        .iter()
        .fold(RunFiles::new(), |files, path| files.input("a shard file being merged", Some(path.as_path())));
    inputs
        .output("--results", args.results.as_deref())
        .output("--loss-graphs", args.loss_graphs.as_deref())
        .check()?;
    let files: Vec<ShardFile> =
        args.files.iter().map(|path| shard_file::read(path)).collect::<CliResult<_>>()?;
    let result = merge(&files)?;
    if let Some(dir) = &args.loss_graphs {
        output_paths::create_dir("--loss-graphs", dir)?;
        result.draw_loss_graphs(dir)?;
    }
    if let Some(path) = &args.results {
        write_results(&result, path)?;
    }
    if args.json {
        println!("{}", ranking_json(&result));
    } else {
        print!("{}", ranking_table(&result));
    }
    Ok(())
}

/// The search the rows of `files` make up, ranked as `nn grid` ranks it.
///
/// # Errors
/// [`CliError::Usage`] naming the files of different searches, the jobs
/// given twice (and their files and lines) or missing (and the shard that
/// should have run them), or no row at all.
pub fn merge(files: &[ShardFile]) -> CliResult<GridResult> {
    for (i, file) in files.iter().enumerate() {
        if files[..i].iter().any(|f| f.path == file.path) {
            return Err(CliError::usage(format!(
                "{} is given twice; give each shard's file once",
                file.path.display()
            )));
        }
    }
    let rows: Vec<(&Path, &ShardRow)> =
        files.iter().flat_map(|f| f.rows.iter().map(move |r| (f.path.as_path(), r))).collect();
    let Some(&(_, first)) = rows.first() else {
        return Err(CliError::usage(format!(
            "no rows to merge in {}: the shards ran no job (more shards than jobs?)",
            names(files.iter().map(|f| f.path.as_path()))
        )));
    };
    same_search(files)?;
    let (points, cv) = (first.points, first.cv);
    let param_names =
        files.iter().find(|f| !f.rows.is_empty()).map(|f| f.param_names.clone()).unwrap_or_default();
    for (path, row) in &rows {
        if (row.points, row.cv) != (points, cv) {
            return Err(CliError::usage(format!(
                "{} line {}: a search of {} points and {} folds, but {} line {} has {points} and {cv}",
                path.display(),
                row.line,
                row.points,
                row.cv,
                rows[0].0.display(),
                first.line
            )));
        }
    }

    whole_shards(files, points, cv)?;

    let mut slots: Vec<Vec<Vec<(&Path, &ShardRow)>>> = vec![vec![Vec::new(); cv]; points];
    for &(path, row) in &rows {
        slots[row.point.index()][row.result.fold].push((path, row));
    }
    let mut twice = Vec::new();
    let mut missing = Vec::new();
    for (p, folds) in slots.iter().enumerate() {
        for (f, found) in folds.iter().enumerate() {
            match found.len() {
                0 => missing.push((p, f)),
                1 => {}
                _ => twice.push(found),
            }
        }
    }
    if !twice.is_empty() {
        let listed: Vec<String> = twice
            .iter()
            .take(LISTED)
            .map(|found| {
                let (_, row) = found[0];
                let places: Vec<String> =
                    found.iter().map(|(path, r)| format!("{} line {}", path.display(), r.line)).collect();
                format!(
                    "point {} ({}) fold {} is in {}",
                    row.point.index(),
                    row.point,
                    row.result.fold,
                    places.join(" and ")
                )
            })
            .collect();
        return Err(CliError::usage(format!(
            "{} job{} given more than once: {}{}; merge each shard's file once",
            twice.len(),
            if twice.len() == 1 { " is" } else { "s are" },
            listed.join("; "),
            more(twice.len())
        )));
    }
    if !missing.is_empty() {
        return Err(CliError::usage(missing_message(&missing, &slots, &rows, cv)));
    }

    let mut merged = Vec::with_capacity(points);
    for folds in &slots {
        let point: &Point = &folds[0][0].1.point;
        for found in folds {
            let (path, row) = found[0];
            if row.point != *point {
                return Err(CliError::usage(format!(
                    "{} line {}: point {} is {} here but {} in {} line {}",
                    path.display(),
                    row.line,
                    point.index(),
                    row.point,
                    point,
                    folds[0][0].0.display(),
                    folds[0][0].1.line
                )));
            }
        }
        let results: Vec<FoldResult> = folds.iter().map(|found| found[0].1.result.clone()).collect();
        merged.push((point.clone(), results));
    }
    Ok(GridResult::from_folds(Metric::Accuracy, cv, param_names, merged))
}

/// Each file holds, for each shard K/N of its rows, exactly the jobs that
/// shard runs in a search of `points` × `cv` jobs: a shard writes its file
/// whole, so another count is a corrupt or cut file (or edited sizes).
fn whole_shards(files: &[ShardFile], points: usize, cv: usize) -> CliResult<()> {
    // shard_file::read has bounded points × cv by MAX_JOBS.
    let total = points.saturating_mul(cv);
    for file in files {
        // (shard, rows of it, line of its first row), in the order first met.
        let mut shards: Vec<(Shard, usize, usize)> = Vec::new();
        for row in &file.rows {
            match shards.iter_mut().find(|(shard, _, _)| *shard == row.shard) {
                Some((_, count, _)) => *count += 1,
                None => shards.push((row.shard, 1, row.line)),
            }
        }
        for (shard, count, line) in shards {
            let expected = total.saturating_sub(shard.index).div_ceil(shard.count.max(1));
            if count != expected {
                return Err(CliError::usage(format!(
                    "{} line {line}: shard {shard} of a search of {points} points and {cv} folds runs {expected} jobs, \
                     but the file has {count} rows of it; give the file the shard wrote, whole",
                    file.path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Every row of every file has the same search id.
fn same_search(files: &[ShardFile]) -> CliResult<()> {
    // In the order first met, so the first file's search is named first.
    let mut searches: Vec<(SearchId, Vec<&Path>)> = Vec::new();
    for file in files {
        for row in &file.rows {
            let index = match searches.iter().position(|(id, _)| *id == row.search) {
                Some(index) => index,
                None => {
                    searches.push((row.search, Vec::new()));
                    searches.len() - 1
                }
            };
            let paths = &mut searches[index].1;
            if !paths.contains(&file.path.as_path()) {
                paths.push(&file.path);
            }
        }
    }
    if searches.len() <= 1 {
        return Ok(());
    }
    let groups: Vec<String> = searches
        .iter()
        .map(|(id, paths)| format!("search {id} in {}", names(paths.iter().copied())))
        .collect();
    Err(CliError::usage(format!(
        "the files come from {} different searches: {}; merge the shards of one search \
         (the same --net, --grid, data, --cv, --seed and training options)",
        searches.len(),
        groups.join("; ")
    )))
}

/// Names the missing jobs and the shards that should have run them.
fn missing_message(
    missing: &[(usize, usize)],
    slots: &[Vec<Vec<(&Path, &ShardRow)>>],
    rows: &[(&Path, &ShardRow)],
    cv: usize,
) -> String {
    let listed: Vec<String> = missing
        .iter()
        .take(LISTED)
        .map(|&(p, f)| {
            let known = slots[p].iter().find_map(|found| found.first()).map(|(_, r)| &r.point);
            match known {
                Some(point) => format!("point {p} ({point}) fold {f}"),
                None => format!("point {p} fold {f}"),
            }
        })
        .collect();
    let total = slots.len() * cv;
    let mut message = format!(
        "{} of {total} jobs {} missing: {}{}",
        missing.len(),
        if missing.len() == 1 { "is" } else { "are" },
        listed.join(", "),
        more(missing.len())
    );
    let counts: std::collections::BTreeSet<usize> = rows.iter().map(|(_, r)| r.shard.count).collect();
    if let [count] = counts.iter().copied().collect::<Vec<_>>()[..] {
        let owners: std::collections::BTreeSet<usize> =
            missing.iter().map(|&(p, f)| Shard::owner(p * cv + f, count)).collect();
        let owners: Vec<String> = owners.iter().map(|k| format!("{k}/{count}")).collect();
        message.push_str(&format!(
            "; they belong to shard {}: give its results file, or run it again (nn grid ... --shard K/N)",
            owners.join(", ")
        ));
    }
    message
}

/// `, and N more` when more than [`LISTED`] were found.
fn more(found: usize) -> String {
    if found > LISTED { format!(" and {} more", found - LISTED) } else { String::new() }
}

/// `a.csv, b.csv`.
fn names<'a>(paths: impl Iterator<Item = &'a Path>) -> String {
    paths.map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn_train::ParamGrid;
    use std::path::PathBuf;

    /// The file of shard `k` of `n` of a 3-point, 2-fold search `search`.
    fn shard(k: usize, n: usize, search: u64) -> ShardFile {
        let points = ParamGrid::new().add("lr", [0.1, 0.2, 0.3]).points().unwrap();
        let rows = Shard { index: k, count: n }
            .jobs(6)
            .into_iter()
            .enumerate()
            .map(|(i, j)| ShardRow {
                point: points[j / 2].clone(),
                result: FoldResult {
                    fold: j % 2,
                    score: Some(0.5 + j as f64 / 100.0),
                    train_loss_history: vec![1.0, 0.5],
                    epochs_run: 2,
                    seconds: 1.0,
                    error: None,
                },
                points: 3,
                cv: 2,
                shard: Shard { index: k, count: n },
                search: SearchId(search),
                line: i + 2,
            })
            .collect();
        ShardFile { path: PathBuf::from(format!("shard-{k}.csv")), param_names: vec!["lr".into()], rows }
    }

    #[test]
    fn complete_shards_rank_every_point() {
        let r = merge(&[shard(1, 2, 7), shard(0, 2, 7)]).unwrap();
        let order: Vec<usize> = r.points.iter().map(|p| p.point.index()).collect();
        assert_eq!(order, [2, 1, 0]);
        assert_eq!(r.points[0].folds.iter().map(|f| f.fold).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(r.points[0].mean, Some((0.54 + 0.55) / 2.0));
        assert_eq!((r.cv, r.param_names.clone()), (2, vec!["lr".to_string()]));
    }

    #[test]
    fn a_missing_shard_names_the_jobs_and_the_shard() {
        let err = merge(&[shard(0, 3, 7), shard(2, 3, 7)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2 of 6 jobs are missing: point 0 (lr=0.1) fold 1, point 2 (lr=0.3) fold 0; \
             they belong to shard 1/3: give its results file, or run it again (nn grid ... --shard K/N)"
        );
    }

    #[test]
    fn a_duplicated_job_names_both_files_and_lines() {
        let mut other = shard(0, 3, 7);
        other.path = PathBuf::from("other.csv");
        let err = merge(&[shard(0, 2, 7), shard(1, 2, 7), other]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2 jobs are given more than once: point 0 (lr=0.1) fold 0 is in shard-0.csv line 2 and other.csv line 2; \
             point 1 (lr=0.2) fold 1 is in shard-1.csv line 3 and other.csv line 3; merge each shard's file once"
        );
    }

    #[test]
    fn shards_of_two_searches_are_named() {
        let err = merge(&[shard(0, 2, 7), shard(1, 2, 8)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the files come from 2 different searches: search 0000000000000007 in shard-0.csv; \
             search 0000000000000008 in shard-1.csv; merge the shards of one search \
             (the same --net, --grid, data, --cv, --seed and training options)"
        );
    }

    #[test]
    fn a_file_given_twice_is_named() {
        assert_eq!(
            merge(&[shard(0, 2, 7), shard(1, 2, 7), shard(0, 2, 7)]).unwrap_err().to_string(),
            "shard-0.csv is given twice; give each shard's file once"
        );
    }

    #[test]
    fn a_file_without_its_shard_s_every_job_is_refused() {
        let mut cut = shard(0, 2, 7);
        cut.rows.pop();
        assert_eq!(
            merge(&[cut, shard(1, 2, 7)]).unwrap_err().to_string(),
            "shard-0.csv line 2: shard 0/2 of a search of 3 points and 2 folds runs 3 jobs, \
             but the file has 2 rows of it; give the file the shard wrote, whole"
        );
        // Sizes edited in every row: the rows no longer make up the search.
        let bigger = |k| {
            let mut file = shard(k, 2, 7);
            file.rows.iter_mut().for_each(|r| r.points = 1000);
            file
        };
        assert!(merge(&[bigger(0), bigger(1)]).unwrap_err().to_string().contains("runs 1000 jobs"));
    }

    #[test]
    fn files_without_rows_are_refused() {
        let mut empty = shard(0, 2, 7);
        empty.rows.clear();
        assert_eq!(
            merge(&[empty]).unwrap_err().to_string(),
            "no rows to merge in shard-0.csv: the shards ran no job (more shards than jobs?)"
        );
    }
}
