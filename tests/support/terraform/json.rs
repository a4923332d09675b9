//! Typed views over `terraform show -json`: the state ([`State`]) and a saved plan ([`Plan`]),
//! plus dotted attribute paths (`"spec.0.tags.spark.executor.memory"`).
//!
//! Left out: running terraform (`workdir.rs`). Only the fields tests look at are typed; the
//! whole document stays available through `raw()`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// One resource instance in the state.
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    /// Full address, e.g. `konoha_spark_profile.main` or `module.m.terraform_data.x[0]`.
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    /// Resource type, e.g. `terraform_data`.
    #[serde(rename = "type")]
    pub type_name: String,
    /// Resource name in the config.
    pub name: String,
    /// Provider address, e.g. `registry.terraform.io/konoha/konoha`.
    pub provider_name: String,
    /// Attribute values (sensitive ones in clear: the state file has them).
    #[serde(default)]
    pub values: Value,
    /// Mirror of `values` with `true` where a value is sensitive.
    #[serde(default)]
    pub sensitive_values: Value,
}

impl Resource {
    /// The value at a dotted `path` (see [`lookup`]).
    pub fn attr(&self, path: &str) -> Option<&Value> {
        lookup(&self.values, path)
    }

    /// Whether the value at `path`, or a value containing it, is marked sensitive.
    pub fn is_sensitive(&self, path: &str) -> bool {
        marked(&self.sensitive_values, path)
    }
}

/// A root-module output value.
#[derive(Debug, Clone, Deserialize)]
pub struct OutputValue {
    /// The value, in clear even when sensitive.
    pub value: Value,
    /// Whether the output is marked sensitive.
    #[serde(default)]
    pub sensitive: bool,
}

/// The state as printed by `terraform show -json`, with resources from all modules flattened.
#[derive(Debug, Clone)]
pub struct State {
    resources: Vec<Resource>,
    outputs: BTreeMap<String, OutputValue>,
    raw: Value,
}

#[derive(Deserialize)]
struct RawState {
    #[serde(default)]
    values: Option<RawValues>,
}

#[derive(Deserialize)]
struct RawValues {
    #[serde(default)]
    outputs: BTreeMap<String, OutputValue>,
    #[serde(default)]
    root_module: Option<RawModule>,
}

#[derive(Deserialize)]
struct RawModule {
    #[serde(default)]
    resources: Vec<Resource>,
    #[serde(default)]
    child_modules: Vec<RawModule>,
}

impl RawModule {
    fn flatten_into(self, out: &mut Vec<Resource>) {
        out.extend(self.resources);
        for child in self.child_modules {
            child.flatten_into(out);
        }
    }
}

impl State {
    /// Parses the output of `terraform show -json` (no values at all means an empty state).
    pub fn from_json(text: &str) -> Result<State, serde_json::Error> {
        let raw: Value = serde_json::from_str(text)?;
        let parsed = RawState::deserialize(&raw)?;
        let mut resources = Vec::new();
        let mut outputs = BTreeMap::new();
        if let Some(values) = parsed.values {
            outputs = values.outputs;
            if let Some(root) = values.root_module {
                root.flatten_into(&mut resources);
            }
        }
        Ok(State {
            resources,
            outputs,
            raw,
        })
    }

    /// All resource instances, root module first.
    pub fn resources(&self) -> &[Resource] {
        &self.resources
    }

    /// The resource instance at `address`.
    pub fn resource(&self, address: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.address == address)
    }

    /// The attribute at dotted `path` of the resource at `address`.
    pub fn attr(&self, address: &str, path: &str) -> Option<&Value> {
        self.resource(address)?.attr(path)
    }

    /// A root-module output's value.
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs.get(name).map(|o| &o.value)
    }

    /// A root-module output with its sensitivity.
    pub fn output_value(&self, name: &str) -> Option<&OutputValue> {
        self.outputs.get(name)
    }

    /// The whole `show -json` document.
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// `Ok` when the attribute equals `expected`; else an error naming both values.
    pub fn check_attr(
        &self,
        address: &str,
        path: &str,
        expected: impl Into<Value>,
    ) -> Result<(), String> {
        let expected = expected.into();
        let resource = self.require(address)?;
        match resource.attr(path) {
            Some(actual) if *actual == expected => Ok(()),
            Some(actual) => Err(format!(
                "{address}: {path} is {actual}, expected {expected}"
            )),
            None => Err(format!("{address}: {path} is absent, expected {expected}")),
        }
    }

    /// `Ok` when the attribute is present and not null.
    pub fn check_attr_set(&self, address: &str, path: &str) -> Result<(), String> {
        match self.require(address)?.attr(path) {
            Some(value) if !value.is_null() => Ok(()),
            _ => Err(format!("{address}: {path} is not set")),
        }
    }

    /// `Ok` when the attribute is absent or null.
    pub fn check_no_attr(&self, address: &str, path: &str) -> Result<(), String> {
        match self.require(address)?.attr(path) {
            Some(value) if !value.is_null() => {
                Err(format!("{address}: {path} is {value}, expected it unset"))
            }
            _ => Ok(()),
        }
    }

    /// `Ok` when no resource instance has `address`.
    pub fn check_no_resource(&self, address: &str) -> Result<(), String> {
        match self.resource(address) {
            Some(_) => Err(format!("{address} is still in the state")),
            None => Ok(()),
        }
    }

    fn require(&self, address: &str) -> Result<&Resource, String> {
        self.resource(address).ok_or_else(|| {
            let known: Vec<&str> = self.resources.iter().map(|r| r.address.as_str()).collect();
            format!("{address} is not in the state (it has: {known:?})")
        })
    }
}

/// What Terraform will do to a resource instance or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Nothing.
    NoOp,
    /// Create.
    Create,
    /// Read (data sources).
    Read,
    /// Update in place.
    Update,
    /// Delete.
    Delete,
    /// Remove from state without destroying.
    Forget,
    /// An action this harness does not know yet.
    #[serde(other)]
    Unknown,
}

/// One planned resource instance change, from a saved plan's `resource_changes`.
#[derive(Debug, Clone)]
pub struct ResourceChange {
    /// Full address.
    pub address: String,
    /// Resource type.
    pub type_name: String,
    /// `["create"]`, `["update"]`, `["delete", "create"]` (replace) and so on.
    pub actions: Vec<Action>,
    /// Values before the change (`null` on create).
    pub before: Value,
    /// Known values after the change; unknown ones are absent (see `after_unknown`).
    pub after: Value,
    /// Mirror of `after` with `true` where a value is unknown until apply.
    pub after_unknown: Value,
    /// Mirror of `before` with `true` where a value is sensitive.
    pub before_sensitive: Value,
    /// Mirror of `after` with `true` where a value is sensitive.
    pub after_sensitive: Value,
    /// Why Terraform chose this action, e.g. `replace_because_cannot_update`.
    pub action_reason: Option<String>,
}

impl ResourceChange {
    /// Whether the change destroys and recreates the object (either order).
    pub fn is_replace(&self) -> bool {
        self.actions.contains(&Action::Delete) && self.actions.contains(&Action::Create)
    }

    /// Whether nothing changes.
    pub fn is_no_op(&self) -> bool {
        self.actions == [Action::NoOp]
    }

    /// The known planned value at dotted `path`.
    pub fn after_attr(&self, path: &str) -> Option<&Value> {
        lookup(&self.after, path)
    }

    /// The prior value at dotted `path`.
    pub fn before_attr(&self, path: &str) -> Option<&Value> {
        lookup(&self.before, path)
    }

    /// Whether the value at `path` is unknown until apply.
    pub fn is_unknown_after(&self, path: &str) -> bool {
        marked(&self.after_unknown, path)
    }

    /// Whether the planned value at `path` is sensitive.
    pub fn is_sensitive_after(&self, path: &str) -> bool {
        marked(&self.after_sensitive, path)
    }
}

#[derive(Deserialize)]
struct RawPlan {
    #[serde(default)]
    resource_changes: Vec<RawResourceChange>,
    #[serde(default)]
    output_changes: BTreeMap<String, RawChange>,
}

#[derive(Deserialize)]
struct RawResourceChange {
    address: String,
    #[serde(rename = "type")]
    type_name: String,
    change: RawChange,
    #[serde(default)]
    action_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawChange {
    actions: Vec<Action>,
    #[serde(default)]
    before: Value,
    #[serde(default)]
    after: Value,
    #[serde(default)]
    after_unknown: Value,
    #[serde(default)]
    before_sensitive: Value,
    #[serde(default)]
    after_sensitive: Value,
}

/// A saved plan as printed by `terraform show -json PLANFILE`.
#[derive(Debug, Clone)]
pub struct Plan {
    resource_changes: Vec<ResourceChange>,
    output_actions: BTreeMap<String, Vec<Action>>,
    raw: Value,
}

impl Plan {
    /// Parses the output of `terraform show -json PLANFILE`.
    pub fn from_json(text: &str) -> Result<Plan, serde_json::Error> {
        let raw: Value = serde_json::from_str(text)?;
        let parsed = RawPlan::deserialize(&raw)?;
        let resource_changes = parsed
            .resource_changes
            .into_iter()
            .map(|rc| ResourceChange {
                address: rc.address,
                type_name: rc.type_name,
                actions: rc.change.actions,
                before: rc.change.before,
                after: rc.change.after,
                after_unknown: rc.change.after_unknown,
                before_sensitive: rc.change.before_sensitive,
                after_sensitive: rc.change.after_sensitive,
                action_reason: rc.action_reason,
            })
            .collect();
        let output_actions = parsed
            .output_changes
            .into_iter()
            .map(|(name, change)| (name, change.actions))
            .collect();
        Ok(Plan {
            resource_changes,
            output_actions,
            raw,
        })
    }

    /// Every planned resource instance change, including no-ops.
    pub fn resource_changes(&self) -> &[ResourceChange] {
        &self.resource_changes
    }

    /// The planned change for `address`.
    pub fn change(&self, address: &str) -> Option<&ResourceChange> {
        self.resource_changes.iter().find(|c| c.address == address)
    }

    /// Whether any resource or output changes.
    pub fn has_changes(&self) -> bool {
        self.resource_changes.iter().any(|c| !c.is_no_op())
            || self
                .output_actions
                .values()
                .any(|actions| actions.as_slice() != [Action::NoOp])
    }

    /// `Ok` when the planned actions for `address` are exactly `expected`.
    pub fn check_actions(&self, address: &str, expected: &[Action]) -> Result<(), String> {
        match self.change(address) {
            Some(change) if change.actions == expected => Ok(()),
            Some(change) => Err(format!(
                "{address}: planned {:?}, expected {expected:?}",
                change.actions
            )),
            None => Err(format!("{address} is not in the plan")),
        }
    }

    /// The whole `show -json` document.
    pub fn raw(&self) -> &Value {
        &self.raw
    }
}

/// The value at a dotted `path` below `root`: object keys and list indexes separated by dots,
/// e.g. `"spec.0.name"`. The empty path is `root` itself.
///
/// Map keys may contain dots themselves (`"spark_conf.spark.executor.memory"`): at each object
/// the longest run of segments that names a key wins, falling back to shorter ones.
pub fn lookup<'v>(root: &'v Value, path: &str) -> Option<&'v Value> {
    if path.is_empty() {
        return Some(root);
    }
    let segments: Vec<&str> = path.split('.').collect();
    walk(root, &segments)
}

fn walk<'v>(value: &'v Value, segments: &[&str]) -> Option<&'v Value> {
    let Some(first) = segments.first() else {
        return Some(value);
    };
    match value {
        Value::Object(map) => (1..=segments.len()).rev().find_map(|taken| {
            let child = map.get(&segments[..taken].join("."))?;
            walk(child, &segments[taken..])
        }),
        Value::Array(items) => walk(items.get(first.parse::<usize>().ok()?)?, &segments[1..]),
        _ => None,
    }
}

/// Whether a marker mirror (`sensitive_values`, `after_unknown`) has `true` at `path` or at any
/// value containing it.
pub fn marked(mirror: &Value, path: &str) -> bool {
    if path.is_empty() {
        return mirror == &Value::Bool(true);
    }
    let segments: Vec<&str> = path.split('.').collect();
    marked_walk(mirror, &segments)
}

fn marked_walk(mirror: &Value, segments: &[&str]) -> bool {
    if mirror == &Value::Bool(true) {
        return true;
    }
    let Some(first) = segments.first() else {
        return false;
    };
    match mirror {
        Value::Object(map) => (1..=segments.len()).rev().any(|taken| {
            map.get(&segments[..taken].join("."))
                .is_some_and(|child| marked_walk(child, &segments[taken..]))
        }),
        Value::Array(items) => first
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index))
            .is_some_and(|child| marked_walk(child, &segments[1..])),
        _ => false,
    }
}

/// Every leaf below `value` (scalars, nulls, empty lists and objects) by dotted path.
pub fn flatten(value: &Value) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    flatten_into(value, String::new(), &mut out);
    out
}

fn flatten_into(value: &Value, prefix: String, out: &mut BTreeMap<String, Value>) {
    let join = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                flatten_into(child, join(key), out);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (index, child) in items.iter().enumerate() {
                flatten_into(child, join(&index.to_string()), out);
            }
        }
        leaf => {
            out.insert(prefix, leaf.clone());
        }
    }
}
