//! Conversions between the generated tfplugin5 types and the framework's: schemas,
//! diagnostics, attribute paths and dynamic values. The only file outside the generated code
//! that needs to know both sides.

use crate::framework::{Attribute, Block, NestedBlock, Nesting, Schema};
use crate::plugin::pb::tfplugin5 as pb;
use crate::tf::{self, AttributePath, Diagnostic, Diagnostics, PathStep, Severity, Type, Value};

impl From<&Schema> for pb::Schema {
    fn from(schema: &Schema) -> Self {
        pb::Schema {
            version: schema.version,
            block: Some(block(&schema.block, schema.version)),
        }
    }
}

fn block(block: &Block, version: i64) -> pb::schema::Block {
    pb::schema::Block {
        version,
        attributes: block.attributes.iter().map(attribute).collect(),
        block_types: block.blocks.iter().map(nested_block).collect(),
        description: block.description.clone(),
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
    }
}

fn attribute(attribute: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: attribute.name.clone(),
        r#type: attribute.ty.to_json().to_string().into_bytes(),
        description: attribute.description.clone(),
        required: attribute.required,
        optional: attribute.optional,
        computed: attribute.computed,
        sensitive: attribute.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: false,
        write_only: attribute.write_only,
    }
}

fn nested_block(nested: &NestedBlock) -> pb::schema::NestedBlock {
    use pb::schema::nested_block::NestingMode;
    let nesting = match nested.nesting {
        Nesting::Single => NestingMode::Single,
        Nesting::List => NestingMode::List,
        Nesting::Set => NestingMode::Set,
    };
    pb::schema::NestedBlock {
        type_name: nested.name.clone(),
        block: Some(block(&nested.block, 0)),
        nesting: nesting as i32,
        min_items: nested.min_items,
        max_items: nested.max_items,
    }
}

impl From<&AttributePath> for pb::AttributePath {
    fn from(path: &AttributePath) -> Self {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: path
                .0
                .iter()
                .map(|step| pb::attribute_path::Step {
                    selector: Some(match step {
                        PathStep::Attribute(name) => Selector::AttributeName(name.clone()),
                        PathStep::ElementKeyString(key) => Selector::ElementKeyString(key.clone()),
                        PathStep::ElementKeyInt(index) => Selector::ElementKeyInt(*index),
                    }),
                })
                .collect(),
        }
    }
}

impl From<Diagnostic> for pb::Diagnostic {
    fn from(d: Diagnostic) -> Self {
        let severity = match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error,
            Severity::Warning => pb::diagnostic::Severity::Warning,
        };
        pb::Diagnostic {
            severity: severity as i32,
            summary: d.summary,
            detail: d.detail,
            attribute: d.attribute.as_ref().map(pb::AttributePath::from),
        }
    }
}

/// Diagnostics in wire form.
pub fn diagnostics(diags: Diagnostics) -> Vec<pb::Diagnostic> {
    diags.into_iter().map(pb::Diagnostic::from).collect()
}

/// Decodes a dynamic value of type `ty`: msgpack when present, else JSON, else null.
pub fn decode(value: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let result = match value {
        None => Ok(Value::Null),
        Some(v) if !v.msgpack.is_empty() => tf::msgpack::decode(&v.msgpack, ty),
        Some(v) => tf::json::decode(&v.json, ty),
    };
    result
        .map_err(|e| Diagnostic::provider_bug("Unable to decode a value from Terraform", e).into())
}

/// Encodes a value of type `ty` as msgpack, the form Terraform expects in every reply.
pub fn encode(value: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    tf::msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| Diagnostic::provider_bug("Unable to encode a value for Terraform", e).into())
}
