//! The reference docs in `docs/` are generated from the schemas' descriptions (through the
//! templates in `templates/`): these tests fail when they drift, when any attribute lacks a
//! description, and when any number attribute of any schema the provider serves lacks the
//! whole-number kind, or when a "Validation" section names an attribute the schema does not
//! have. Regenerate with `KONOHA_UPDATE_DOCS=1 cargo test --test docs`.

use std::path::Path;

use konoha::framework::docs::render_page;
use konoha::framework::{Block, NumberKind, Provider, Schema};
use konoha::provider::Konoha;
use konoha::tf::Type;

fn pages() -> Vec<(&'static str, Schema)> {
    let provider = Konoha::new();
    let mut pages = vec![("index.md", provider.schema())];
    for resource in provider.resources() {
        let short = resource.type_name().trim_start_matches("konoha_");
        let file: &'static str = Box::leak(format!("resources/{short}.md").into_boxed_str());
        pages.push((file, resource.schema()));
    }
    for source in provider.data_sources() {
        let short = source.type_name().trim_start_matches("konoha_");
        let file: &'static str = Box::leak(format!("data-sources/{short}.md").into_boxed_str());
        pages.push((file, source.schema()));
    }
    pages
}

#[test]
fn docs_match_the_schemas() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("KONOHA_UPDATE_DOCS").is_some();
    let mut stale = Vec::new();
    for (file, schema) in pages() {
        let template_path = root.join("templates").join(format!("{file}.tmpl"));
        let template = std::fs::read_to_string(&template_path)
            .unwrap_or_else(|e| panic!("{}: {e}", template_path.display()));
        let rendered = render_page(&template, &schema);
        let doc_path = root.join("docs").join(file);
        if update {
            std::fs::create_dir_all(doc_path.parent().unwrap()).unwrap();
            std::fs::write(&doc_path, &rendered).unwrap();
        } else if std::fs::read_to_string(&doc_path).ok().as_deref() != Some(rendered.as_str()) {
            stale.push(file);
        }
    }
    assert!(
        stale.is_empty(),
        "docs out of date: {stale:?}; run `KONOHA_UPDATE_DOCS=1 cargo test --test docs`"
    );
}

fn undescribed(block: &Block, at: &str, out: &mut Vec<String>) {
    for attribute in &block.attributes {
        if attribute.description.trim().is_empty() {
            out.push(format!("{at}{}", attribute.name));
        }
    }
    for nested in &block.blocks {
        if nested.block.description.trim().is_empty() {
            out.push(format!("{at}{} (block)", nested.name));
        }
        undescribed(&nested.block, &format!("{at}{}.", nested.name), out);
    }
}

#[test]
fn every_attribute_is_described() {
    let mut missing = Vec::new();
    for (file, schema) in pages() {
        undescribed(&schema.block, &format!("{file}: "), &mut missing);
    }
    assert!(
        missing.is_empty(),
        "attributes without a description: {missing:#?}"
    );
}

/// Number attributes that legitimately hold fractions, as `<page>: <path>`. Every other number
/// attribute must be a whole number, so that a fraction is refused instead of misread.
const FRACTIONAL: &[&str] = &[
    // Spark reads it as a double: a share of one GPU (0.5, 0.25) runs several tasks on it.
    "resources/spark_profile.md: gpu.task_amount",
    "data-sources/spark_profile.md: gpu_task_amount",
];

fn holds_numbers(ty: &Type) -> bool {
    match ty {
        Type::Number => true,
        Type::List(e) | Type::Set(e) | Type::Map(e) => holds_numbers(e),
        Type::Object(attrs) => attrs.values().any(holds_numbers),
        Type::Tuple(items) => items.iter().any(holds_numbers),
        Type::String | Type::Bool | Type::Dynamic => false,
    }
}

fn number_kind_problems(block: &Block, at: &str, out: &mut Vec<String>) {
    for attribute in &block.attributes {
        let name = format!("{at}{}", attribute.name);
        let problem = match (&attribute.ty, attribute.number) {
            (Type::Number, Some(NumberKind::Whole { min, max })) if min > max => {
                Some(format!("an empty range {min}..={max}"))
            }
            (Type::Number, Some(NumberKind::Whole { .. })) => None,
            (Type::Number, Some(NumberKind::Fractional)) if FRACTIONAL.contains(&name.as_str()) => {
                None
            }
            (Type::Number, Some(NumberKind::Fractional)) => {
                Some("the fractional kind without being listed in FRACTIONAL".to_owned())
            }
            (Type::Number, None) => Some("no number kind: use Attribute::int".to_owned()),
            (ty, _) if holds_numbers(ty) => {
                Some(format!("numbers inside {ty}, which no number kind covers"))
            }
            (_, Some(kind)) => Some(format!("a number kind ({kind:?}) on a non-number")),
            (_, None) => None,
        };
        if let Some(problem) = problem {
            out.push(format!("{name} has {problem}"));
        }
    }
    for nested in &block.blocks {
        number_kind_problems(&nested.block, &format!("{at}{}.", nested.name), out);
    }
}

#[test]
fn every_number_attribute_is_a_whole_number_unless_listed() {
    let mut problems = Vec::new();
    let mut numbers = 0;
    for (file, schema) in pages() {
        number_kind_problems(&schema.block, &format!("{file}: "), &mut problems);
        numbers += count_numbers(&schema.block);
    }
    assert!(problems.is_empty(), "number attributes: {problems:#?}");
    // The walk must have seen the provider's number attributes, or it proves nothing.
    assert!(numbers >= 20, "only {numbers} number attributes found");
}

fn count_numbers(block: &Block) -> usize {
    let own = block
        .attributes
        .iter()
        .filter(|a| a.ty == Type::Number)
        .count();
    own + block
        .blocks
        .iter()
        .map(|b| count_numbers(&b.block))
        .sum::<usize>()
}

/// Whether `path` (dotted, e.g. `gpu.amount`) is an attribute or nested block of `block`.
fn has_path(block: &Block, path: &str) -> bool {
    match path.split_once('.') {
        None => block.find_attribute(path).is_some() || block.find_block(path).is_some(),
        Some((head, rest)) => block
            .find_block(head)
            .is_some_and(|nested| has_path(&nested.block, rest)),
    }
}

/// The attributes a "Validation" section's bullets are about: the backticked names before the
/// first colon of each bullet.
fn validation_subjects(page: &str) -> Option<Vec<String>> {
    let (_, section) = page.split_once("\n## Validation\n")?;
    let section = section.split("\n## ").next().unwrap_or_default();
    let subjects = section
        .lines()
        .filter_map(|line| line.strip_prefix("- "))
        .flat_map(|bullet| {
            let subject = bullet.split(':').next().unwrap_or_default();
            subject
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    Some(subjects)
}

#[test]
fn validation_sections_name_only_real_attributes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for (file, schema) in pages() {
        let template =
            std::fs::read_to_string(root.join("templates").join(format!("{file}.tmpl"))).unwrap();
        let page = render_page(&template, &schema);
        let Some(subjects) = validation_subjects(&page) else {
            if file.starts_with("resources/") {
                problems.push(format!("{file}: no \"## Validation\" section"));
            }
            continue;
        };
        if file.starts_with("resources/") && subjects.is_empty() {
            problems.push(format!("{file}: the Validation section names no attribute"));
        }
        for subject in subjects {
            if !has_path(&schema.block, &subject) {
                problems.push(format!(
                    "{file}: Validation names `{subject}`, not in the schema"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
