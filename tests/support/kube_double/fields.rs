//! Field paths, field sets and `managedFields` entries: how ownership is represented and how it
//! is written out (`fieldsV1`, the entries' order, conflict paths).
//!
//! Leaves out computing ownership, which is `ssa.rs`'s job, and decoding `fieldsV1` (the double
//! never reads managedFields back from clients).

use super::clock;
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// A field path, one encoded element per step: `f:name`, `k:{"name":"x"}`, `v:"x"`.
pub(crate) type Path = Vec<String>;
/// A set of field paths: what one manager owns.
pub(crate) type FieldSet = BTreeSet<Path>;

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    /// `Apply` or `Update`.
    pub(crate) operation: &'static str,
    pub(crate) api_version: String,
    /// Seconds since the epoch; `None` where the real server writes no `time` (an entry made
    /// through `/scale`, an apply that changed nothing: recordings 25 and 47).
    pub(crate) time: Option<i64>,
    pub(crate) subresource: Option<String>,
    pub(crate) set: FieldSet,
}

impl Entry {
    pub(crate) fn same_owner(
        &self,
        manager: &str,
        operation: &str,
        subresource: Option<&str>,
    ) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }

    /// How conflict messages name this manager: `"konoha"`, `"x" using apps/v1`,
    /// `"kubectl" with subresource "scale" using apps/v1` (recording 26).
    pub(crate) fn printed(&self) -> String {
        let subresource = match &self.subresource {
            Some(sub) => format!(" with subresource {sub:?}"),
            None => String::new(),
        };
        match self.operation {
            "Apply" => format!("{:?}{subresource}", self.manager),
            _ => format!("{:?}{subresource} using {}", self.manager, self.api_version),
        }
    }

    /// The entry as JSON, in the wire shape.
    fn render(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), json!(self.manager));
        m.insert("operation".into(), json!(self.operation));
        m.insert("apiVersion".into(), json!(self.api_version));
        if let Some(time) = self.time {
            m.insert("time".into(), json!(clock::rfc3339(time)));
        }
        m.insert("fieldsType".into(), json!("FieldsV1"));
        m.insert("fieldsV1".into(), fields_v1(&self.set));
        if let Some(sub) = &self.subresource {
            m.insert("subresource".into(), json!(sub));
        }
        Value::Object(m)
    }
}

/// Entries in the server's order: operation, then time, then manager.
pub(crate) fn render_entries(entries: &[Entry]) -> Value {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| {
        (a.operation, a.time, &a.manager, &a.subresource).cmp(&(
            b.operation,
            b.time,
            &b.manager,
            &b.subresource,
        ))
    });
    sorted.into_iter().map(Entry::render).collect()
}

/// Whether two entry lists say the same thing, ignoring timestamps.
pub(crate) fn same_ownership(a: &[Entry], b: &[Entry]) -> bool {
    let strip = |e: &[Entry]| -> Vec<Entry> {
        let mut v: Vec<Entry> = e
            .iter()
            .map(|x| Entry {
                time: None,
                ..x.clone()
            })
            .collect();
        v.sort_by(|x, y| (x.operation, &x.manager).cmp(&(y.operation, &y.manager)));
        v
    };
    strip(a) == strip(b)
}

/// The nested `fieldsV1` form of a set: `.` marks a member that also has members below it.
pub(crate) fn fields_v1(set: &FieldSet) -> Value {
    let mut root = Value::Object(Map::new());
    for path in set {
        let has_child = set
            .range(path.clone()..)
            .nth(1)
            .is_some_and(|next| next.starts_with(path));
        let mut node = &mut root;
        for pe in path {
            node = node
                .as_object_mut()
                .map(|m| m.entry(pe.clone()).or_insert_with(|| json!({})))
                .unwrap_or_else(|| unreachable!("fieldsV1 nodes are objects"));
        }
        if has_child && let Some(m) = node.as_object_mut() {
            m.insert(".".into(), json!({}));
        }
    }
    root
}

/// `.spec.template.spec.containers[name="kyuubi"].image`: how errors print a path.
pub(crate) fn display(path: &[String]) -> String {
    let mut out = String::new();
    for pe in path {
        if let Some(f) = pe.strip_prefix("f:") {
            out.push('.');
            out.push_str(f);
        } else if let Some(k) = pe.strip_prefix("k:") {
            let fields: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
            let parts: Vec<String> = fields.iter().map(|(f, v)| format!("{f}={v}")).collect();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = pe.strip_prefix("v:") {
            out.push_str(&format!("[={v}]"));
        }
    }
    out
}
