//! The reference docs in `docs/` are generated from the schemas' descriptions (through the
//! templates in `templates/`): these tests fail when they drift, and when any attribute lacks a
//! description. Regenerate with `KONOHA_UPDATE_DOCS=1 cargo test --test docs`.

use std::path::Path;

use konoha::framework::docs::render_page;
use konoha::framework::{Block, Provider, Schema};
use konoha::provider::Konoha;

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
