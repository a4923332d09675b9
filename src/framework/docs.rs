//! Markdown reference docs generated from schemas, so that the descriptions written once in
//! code are what `docs/` shows. The page around the reference (title, example, import notes)
//! comes from a template holding a `{{ schema }}` marker, and optionally a `{{ whole_numbers }}`
//! marker for the generated list of whole-number arguments and their ranges, so that a
//! "Validation" section cannot fall behind the schema; `tests/docs.rs` keeps `docs/` in step.

use std::fmt::Write as _;

use super::schema::{Attribute, Block, Nesting, NumberKind, Schema};
use crate::tf::{Type, Value};

/// Fills `template`'s `{{ schema }}` marker with the reference for `schema`, and its
/// `{{ whole_numbers }}` marker with [`render_whole_numbers`].
pub fn render_page(template: &str, schema: &Schema) -> String {
    template
        .replace("{{ schema }}", render_schema(schema).trim_end())
        .replace(
            "{{ whole_numbers }}",
            render_whole_numbers(schema).trim_end(),
        )
}

/// One Markdown bullet per range, naming every whole-number argument (nested ones by dotted
/// path) that the framework holds to it; empty when the schema has none.
pub fn render_whole_numbers(schema: &Schema) -> String {
    let mut ranges: Vec<((i64, i64), Vec<String>)> = Vec::new();
    collect_whole_numbers(&schema.block, "", &mut ranges);
    let mut out = String::new();
    for ((min, max), paths) in ranges {
        let names: Vec<String> = paths.iter().map(|p| format!("`{p}`")).collect();
        let _ = writeln!(
            out,
            "- {}: a whole number from {min} to {max}; a fraction, a number out of that range \
             or a non-finite one is refused.",
            names.join(", ")
        );
    }
    out
}

fn collect_whole_numbers(block: &Block, at: &str, out: &mut Vec<((i64, i64), Vec<String>)>) {
    for attribute in block.attributes.iter().filter(|a| a.required || a.optional) {
        let Some(NumberKind::Whole { min, max }) = attribute.number else {
            continue;
        };
        let path = format!("{at}{}", attribute.name);
        match out.iter_mut().find(|(range, _)| *range == (min, max)) {
            Some((_, paths)) => paths.push(path),
            None => out.push(((min, max), vec![path])),
        }
    }
    for nested in &block.blocks {
        collect_whole_numbers(&nested.block, &format!("{at}{}.", nested.name), out);
    }
}

/// The argument and attribute reference of a schema, in Markdown.
pub fn render_schema(schema: &Schema) -> String {
    let mut out = String::new();
    render_block(&mut out, &schema.block, None);
    out
}

fn render_block(out: &mut String, block: &Block, name: Option<&str>) {
    let (arguments, computed): (Vec<&Attribute>, Vec<&Attribute>) = block
        .attributes
        .iter()
        .partition(|a| a.required || a.optional);
    match name {
        None => out.push_str("## Argument Reference\n\n"),
        Some(name) => {
            let _ = writeln!(out, "### `{name}` block\n");
            if !block.description.is_empty() {
                let _ = writeln!(out, "{}\n", block.description);
            }
        }
    }
    let required = arguments.iter().filter(|a| a.required);
    let optional = arguments.iter().filter(|a| !a.required);
    for attribute in required.chain(optional) {
        let _ = writeln!(out, "{}", attribute_line(attribute));
    }
    for nested in &block.blocks {
        let repeat = match nested.nesting {
            Nesting::Single => "at most one",
            Nesting::List | Nesting::Set => "any number",
        };
        let _ = writeln!(
            out,
            "- `{}` (Block, {repeat}): see [below](#{}-block).",
            nested.name, nested.name
        );
    }
    out.push('\n');
    if name.is_none() && !computed.is_empty() {
        out.push_str("## Attribute Reference\n\nIn addition to the arguments above:\n\n");
    }
    for attribute in &computed {
        let _ = writeln!(out, "{}", attribute_line(attribute));
    }
    if !computed.is_empty() {
        out.push('\n');
    }
    for nested in &block.blocks {
        render_block(out, &nested.block, Some(&nested.name));
    }
}

fn attribute_line(a: &Attribute) -> String {
    let mut traits = vec![type_name(&a.ty)];
    if a.required {
        traits.push("Required".to_owned());
    } else if a.optional {
        traits.push("Optional".to_owned());
    }
    if a.sensitive {
        traits.push("Sensitive".to_owned());
    }
    if a.force_new {
        traits.push("Forces replacement".to_owned());
    }
    let mut line = format!("- `{}` ({}) {}", a.name, traits.join(", "), a.description);
    if let Some(default) = &a.default {
        let _ = write!(line, " Defaults to `{}`.", literal(default));
    }
    line
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::String => "String".to_owned(),
        Type::Number => "Number".to_owned(),
        Type::Bool => "Boolean".to_owned(),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Object(_) => "Object".to_owned(),
        Type::Tuple(_) => "Tuple".to_owned(),
        Type::Dynamic => "Dynamic".to_owned(),
    }
}

fn literal(value: &Value) -> String {
    match value {
        Value::String(s) => format!("\"{s}\""),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "null".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::NestedBlock;

    #[test]
    fn renders_arguments_blocks_and_attributes() {
        let schema = Schema::new(
            Block::new("r")
                .attribute(
                    Attribute::string("name")
                        .required()
                        .force_new()
                        .description("The name."),
                )
                .attribute(
                    Attribute::int("count")
                        .default(4i64)
                        .description("How many."),
                )
                .attribute(Attribute::string("id").computed().description("The ID."))
                .block(NestedBlock::single(
                    "gpu",
                    Block::new("GPUs.")
                        .attribute(Attribute::int("amount").required().description("GPUs.")),
                )),
        );
        let expected = "\
## Argument Reference

- `name` (String, Required, Forces replacement) The name.
- `count` (Number, Optional) How many. Defaults to `4`.
- `gpu` (Block, at most one): see [below](#gpu-block).

## Attribute Reference

In addition to the arguments above:

- `id` (String) The ID.

### `gpu` block

GPUs.

- `amount` (Number, Required) GPUs.

";
        assert_eq!(render_schema(&schema), expected);
    }

    #[test]
    fn whole_numbers_are_listed_by_range_with_nested_paths() {
        let schema = Schema::new(
            Block::new("r")
                .attribute(Attribute::int("count").optional())
                .attribute(Attribute::int("port").range(1, 65535).optional())
                .attribute(Attribute::int("version").computed())
                .block(NestedBlock::single(
                    "gpu",
                    Block::new("g").attribute(Attribute::int("amount").required()),
                )),
        );
        let page = render_page("## Validation\n\n{{ whole_numbers }}\n", &schema);
        assert_eq!(
            page,
            "## Validation\n\n\
             - `count`, `gpu.amount`: a whole number from -2147483648 to 2147483647; a fraction, \
             a number out of that range or a non-finite one is refused.\n\
             - `port`: a whole number from 1 to 65535; a fraction, a number out of that range or \
             a non-finite one is refused.\n"
        );
    }
}
