//! The layer picture of `docs/ARCHITECTURE.md` holds: no import cycle among `src/` modules.
//!
//! Read from the source text, not the compiler: every `crate::…`, `super::…` and `self::…` path
//! in a file's non-test code is an arrow from that file's module to the module it names. Two
//! granularities are checked, the ones the architecture page uses: the top-level modules
//! (`provider`, `resources`, `kyuubi`, …) and, inside each, its direct children
//! (`kyuubi::manifests`, `kyuubi::deployment`, …). A child's arrows to its own parent (the items
//! a `mod.rs` re-exports) and a file's arrows into its own submodules are not cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (e.g. `["kyuubi", "manifests"]`) → the absolute module paths its code names.
type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, recursively.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file defines: `src/kyuubi/mod.rs` → `kyuubi`, `src/kyuubi/conf.rs` →
/// `kyuubi::conf`. `lib.rs` and `main.rs` are the roots, left out.
fn module_of(file: &Path) -> Option<Vec<String>> {
    let relative = file.strip_prefix(src_dir()).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.is_empty() || parts == ["lib"] || parts == ["main"] {
        return None;
    }
    Some(parts)
}

/// The code a file contributes outside tests: comments dropped (doc links are not imports), and
/// the `mod tests` at the bottom cut.
fn production_code(text: &str) -> String {
    let text = text
        .split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default();
    text.lines()
        .map(|line| line.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier path starting at `text` (`conf::START_SCRIPT`, or `{a::b, c}` expanded one
/// level into its entries), as lists of segments.
fn paths_at(text: &str) -> Vec<Vec<String>> {
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0usize;
        let mut end = group.len();
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        let mut entries = Vec::new();
        let mut depth = 0usize;
        let mut start = 0;
        let inner = &group[..end];
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    entries.push(inner[start..i].trim());
                    start = i + 1;
                }
                _ => {}
            }
        }
        entries.push(inner[start..].trim());
        return entries
            .into_iter()
            .filter(|e| !e.is_empty())
            .flat_map(paths_at)
            .collect();
    }
    let mut segments = Vec::new();
    let mut rest = text;
    loop {
        let len = rest.find(|c| !is_ident_char(c)).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(rest[..len].to_owned());
        match rest[len..].strip_prefix("::") {
            Some(next) if next.starts_with('{') => {
                return paths_at(next)
                    .into_iter()
                    .map(|tail| segments.iter().cloned().chain(tail).collect())
                    .collect();
            }
            Some(next) => rest = next,
            None => break,
        }
    }
    vec![segments]
}

/// The absolute paths a module's code names through `crate::`, `super::` and `self::`.
fn named_paths(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for (start, _) in code.match_indices("::") {
        let before = &code[..start];
        let word_start = before
            .rfind(|c: char| !is_ident_char(c))
            .map_or(0, |i| i + 1);
        let word = &before[word_start..];
        // Only the first segment of a path: `a::super::b` does not occur, `x::crate` neither.
        if before[..word_start].ends_with("::") {
            continue;
        }
        let mut base: Vec<String> = match word {
            "crate" => Vec::new(),
            // In `src/a/b.rs` (module `a::b`) `super` is `a`; in `src/a/mod.rs` (module `a`) it
            // is the crate root.
            "super" => module[..module.len().saturating_sub(1)].to_vec(),
            "self" => module.to_vec(),
            _ => continue,
        };
        let mut rest = &code[start + 2..];
        // `super::super::x`
        while let Some(next) = rest.strip_prefix("super::") {
            base.pop();
            rest = next;
        }
        for tail in paths_at(rest) {
            found.push(base.iter().cloned().chain(tail).collect());
        }
    }
    found
}

/// The module graph of `src/`, at file granularity.
fn file_graph() -> Graph {
    let mut files = Vec::new();
    rust_files(&src_dir(), &mut files);
    let mut graph = Graph::new();
    for file in files {
        let Some(module) = module_of(&file) else {
            continue;
        };
        // A `tests.rs` file beside a module is that module's test code.
        if module.last().is_some_and(|m| m == "tests") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let targets = named_paths(&module, &production_code(&text));
        graph.entry(module).or_default().extend(targets);
    }
    graph
}

/// `graph` seen at one level: each module and each path it names cut to `depth` segments under
/// `prefix`; arrows leaving `prefix`, into a module's own parent or into itself are dropped.
fn level(graph: &Graph, prefix: &[String], depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<&Vec<String>> = graph.keys().collect();
    let cut = |path: &[String]| -> Option<String> {
        if path.len() < prefix.len() + depth || !path.starts_with(prefix) {
            return None;
        }
        let node = &path[..prefix.len() + depth];
        // `crate::tf::error_chain` names the module `tf`; `crate::tf::Type` too, but at a
        // deeper level `tf::Type` is an item of `tf`, not a child module.
        known
            .contains(&node.to_vec())
            .then(|| node[prefix.len()..].join("::"))
    };
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, targets) in graph {
        let Some(from) = cut(module) else { continue };
        let arrows = out.entry(from.clone()).or_default();
        for target in targets {
            if let Some(to) = cut(target)
                && to != from
            {
                arrows.insert(to);
            }
        }
    }
    out
}

/// A cycle in `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

#[test]
fn top_level_modules_import_one_way() {
    let graph = file_graph();
    let top = level(&graph, &[], 1);
    assert!(
        top.get("resources").is_some_and(|t| t.contains("kyuubi")),
        "the scan must see resources naming kyuubi: {top:?}"
    );
    if let Some(cycle) = find_cycle(&top) {
        panic!(
            "import cycle among top-level modules: {}",
            cycle.join(" -> ")
        );
    }
}

#[test]
fn sibling_modules_import_one_way() {
    let graph = file_graph();
    let parents: BTreeSet<Vec<String>> = graph.keys().map(|m| m[..1].to_vec()).collect();
    for parent in parents {
        let siblings = level(&graph, &parent, 1);
        if let Some(cycle) = find_cycle(&siblings) {
            panic!(
                "import cycle inside {}: {}",
                parent.join("::"),
                cycle.join(" -> ")
            );
        }
    }
    let kyuubi = level(&graph, &["kyuubi".to_owned()], 1);
    assert!(
        kyuubi
            .get("deployment")
            .is_some_and(|t| t.contains("object")),
        "the scan must see kyuubi::deployment naming kyuubi::object: {kyuubi:?}"
    );
}

#[test]
fn a_cycle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        find_cycle(&graph),
        Some(
            vec!["a", "b", "c", "a"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        )
    );
}

#[test]
fn paths_are_read_with_groups_and_super() {
    let module = vec!["kyuubi".to_owned(), "deployment".to_owned()];
    let code = "use super::object::{Object, selector_labels};\nuse crate::tf::{self, Type};\nlet x = crate::kube::Kind::Deployment;";
    let found: BTreeSet<String> = named_paths(&module, code)
        .into_iter()
        .map(|p| p.join("::"))
        .collect();
    for expected in [
        "kyuubi::object::Object",
        "kyuubi::object::selector_labels",
        "tf::self",
        "tf::Type",
        "kube::Kind::Deployment",
    ] {
        assert!(found.contains(expected), "{expected} not in {found:?}");
    }
}
