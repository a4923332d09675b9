//! The provider's own string literals read as written: no message carries the run of spaces or
//! the line break and indentation that a lost `\` line continuation leaves in it.
//!
//! Diagnostics are long sentences split over source lines. Written `"… any of \` + newline, the
//! next line's indentation is skipped; without the `\` (or after an editor joins the lines) the
//! user reads `any of              nodeAffinity`. A test of one message would not catch the next,
//! so this reads every ordinary (not raw) string literal in `src/`'s production code.

use std::path::{Path, PathBuf};

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

/// A string literal's text as the program sees it (continuations applied, other escapes kept
/// as written), with the line it starts on.
#[derive(Debug)]
struct Literal {
    line: usize,
    text: String,
}

/// The ordinary string literals of `code`. Comments, character literals, lifetimes and raw
/// strings (`r"…"`, `r#"…"#`, whose layout is meant) are stepped over.
fn string_literals(code: &str) -> Vec<Literal> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            '\n' => line += 1,
            '/' if next == Some('/') => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            '/' if next == Some('*') => {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
                i += 2;
                continue;
            }
            'r' if matches!(next, Some('"' | '#'))
                && !chars[..i]
                    .last()
                    .is_some_and(|p| p.is_alphanumeric() || *p == '_') =>
            {
                let mut hashes = 0;
                let mut j = i + 1;
                while chars.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if chars.get(j) == Some(&'"') {
                    j += 1;
                    let closing: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let rest: String = chars[j..].iter().collect();
                    let end = rest.find(&closing).map_or(rest.len(), |e| e);
                    line += rest[..end].matches('\n').count();
                    i = j + rest[..end].chars().count() + closing.chars().count();
                    continue;
                }
            }
            '\'' => {
                // A character literal ('x', '\n', '"') or a lifetime ('a): skip the former whole.
                if next == Some('\\') {
                    i += 2;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                } else if chars.get(i + 2) == Some(&'\'') {
                    i += 2;
                }
            }
            '"' => {
                let start = line;
                let mut text = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    match chars[i] {
                        '\\' if chars.get(i + 1) == Some(&'\n') => {
                            // A continuation: the line break and the next line's leading
                            // whitespace are not part of the string.
                            i += 1;
                            while chars.get(i).is_some_and(|c| c.is_whitespace()) {
                                line += usize::from(chars[i] == '\n');
                                i += 1;
                            }
                            continue;
                        }
                        '\\' => {
                            text.push('\\');
                            if let Some(&escaped) = chars.get(i + 1) {
                                text.push(escaped);
                            }
                            i += 2;
                            continue;
                        }
                        other => {
                            line += usize::from(other == '\n');
                            text.push(other);
                        }
                    }
                    i += 1;
                }
                found.push(Literal { line: start, text });
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// What in `text` looks like a lost continuation, or `None`.
fn lost_continuation(text: &str) -> Option<&'static str> {
    if text.contains('\n') {
        return Some("a line break written into the literal (a `\\` missing at the line's end?)");
    }
    let trimmed = text.trim();
    if trimmed.contains("   ") {
        return Some("a run of spaces inside the text (lines joined without their `\\`?)");
    }
    None
}

/// `src/`'s code outside its unit tests (the `mod tests` at the bottom of a file, or a
/// `tests.rs` of its own), where layout in literals is the test's own business.
fn production_code(text: &str) -> &str {
    text.split("#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or_default()
}

#[test]
fn no_literal_in_the_provider_keeps_a_lost_line_continuation() {
    let mut files = Vec::new();
    rust_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 50, "read only {} files", files.len());
    let mut problems = Vec::new();
    for file in &files {
        if file.file_name().is_some_and(|name| name == "tests.rs") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for literal in string_literals(production_code(&text)) {
            if let Some(problem) = lost_continuation(&literal.text) {
                problems.push(format!(
                    "{}:{}: {problem}: {:?}",
                    file.display(),
                    literal.line,
                    literal.text
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_finds_what_a_lost_continuation_leaves_and_nothing_else() {
    let code = concat!(
        "let a = \"one \\\n        two\";\n",
        "// \"in   a comment\"\n",
        "let b = r#\"raw   layout\n  kept\"#;\n",
        "let c = '\"'; let d: &'static str = \"x\";\n",
        "let e = \"lost \n        continuation\";\n",
        "let f = \"joined              lines\";\n",
        "let g = \"an escaped \\\" quote\";\n",
    );
    let literals = string_literals(code);
    let texts: Vec<&str> = literals.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "one two",
            "x",
            "lost \n        continuation",
            "joined              lines",
            "an escaped \\\" quote",
        ]
    );
    let lines: Vec<usize> = literals.iter().map(|l| l.line).collect();
    assert_eq!(lines, [1, 6, 7, 9, 10]);
    let flagged: Vec<bool> = texts
        .iter()
        .map(|t| lost_continuation(t).is_some())
        .collect();
    assert_eq!(flagged, [false, false, true, true, false]);
}
