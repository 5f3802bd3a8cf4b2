//! The crate order, the one invariant of the workspace's layout:
//! a crate depends only on crates strictly below it.

use serde_json::Value;

/// Each workspace crate and its level; a crate may depend only on lower levels.
/// `nn-data` and `nn-plot` need no other crate of ours, so they sit at the bottom.
pub const LEVELS: &[(&str, u32)] = &[
    ("nn-core", 0),
    ("nn-data", 0),
    ("nn-plot", 0),
    ("nn-layers", 1),
    ("nn-losses", 1),
    ("nn-io", 1),
    ("nn-models", 2),
    ("nn-train", 3),
    ("nn-cli", 4),
    ("nn", 5),
];

fn level(name: &str) -> Option<u32> {
    LEVELS.iter().find(|(n, _)| *n == name).map(|&(_, l)| l)
}

/// Checks `cargo metadata --no-deps` output; returns how many crates were
/// checked, or every violation found.
pub fn check_metadata(json: &[u8]) -> Result<usize, Vec<String>> {
    let metadata: Value =
        serde_json::from_slice(json).map_err(|e| vec![format!("unreadable metadata: {e}")])?;
    let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    let mut checked = 0;
    for package in &packages {
        let name = package["name"].as_str().unwrap_or("?");
        if name == "xtask" {
            continue;
        }
        let Some(own) = level(name) else {
            problems.push(format!("{name} has no level: add it to xtask/src/crate_order.rs"));
            continue;
        };
        checked += 1;
        for dep in package["dependencies"].as_array().into_iter().flatten() {
            if dep["kind"].as_str() == Some("dev") {
                continue;
            }
            let dep_name = dep["name"].as_str().unwrap_or("?");
            if let Some(dep_level) = level(dep_name)
                && dep_level >= own
            {
                problems.push(format!(
                    "{name} (level {own}) depends on {dep_name} (level {dep_level}), which is not below it"
                ));
            }
        }
    }
    if problems.is_empty() { Ok(checked) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn package(name: &str, deps: &[(&str, Option<&str>)]) -> Value {
        let deps: Vec<Value> =
            deps.iter().map(|(n, kind)| serde_json::json!({ "name": n, "kind": kind })).collect();
        serde_json::json!({ "name": name, "dependencies": deps })
    }

    #[test]
    fn the_workspace_keeps_the_crate_order() {
        let out = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .output()
            .expect("cargo metadata runs");
        assert!(out.status.success());
        let checked = check_metadata(&out.stdout).unwrap_or_else(|p| panic!("{p:?}"));
        assert!(checked >= 6, "only {checked} crates checked");
    }

    #[test]
    fn core_depending_on_layers_is_refused() {
        let metadata = serde_json::json!({ "packages": [
            package("nn-core", &[("ndarray", None), ("nn-layers", None)]),
            package("nn-layers", &[("nn-core", None)]),
        ]});
        let problems = check_metadata(metadata.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            problems,
            vec!["nn-core (level 0) depends on nn-layers (level 1), which is not below it".to_string()]
        );
    }

    #[test]
    fn crates_of_one_level_may_not_depend_on_each_other_but_dev_dependencies_may() {
        let metadata = serde_json::json!({ "packages": [
            package("nn-layers", &[("nn-losses", None)]),
            package("nn-models", &[("nn-core", None), ("nn-train", Some("dev"))]),
        ]});
        let problems = check_metadata(metadata.to_string().as_bytes()).unwrap_err();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].starts_with("nn-layers (level 1) depends on nn-losses"));
    }

    #[test]
    fn an_unknown_crate_must_be_given_a_level() {
        let metadata = serde_json::json!({ "packages": [package("nn-extra", &[])] });
        let problems = check_metadata(metadata.to_string().as_bytes()).unwrap_err();
        assert_eq!(problems, vec!["nn-extra has no level: add it to xtask/src/crate_order.rs".to_string()]);
    }
}
