//! Which fields a field manager applies that another manager has taken, read from
//! `metadata.managedFields`.
//!
//! Server-side apply moves a field away from its applier in two ways: an `Update` (a
//! `kubectl edit`, a `kubectl scale` through `/scale`) that changes it, or another manager's
//! forced apply. Either way the applier's next apply of a different value fails with a
//! conflict, so a refresh that finds such fields can say so before the apply does. A field two
//! managers applied with the same value is shared, not taken: the applier still owns it.
//!
//! Generic over objects: it walks the other managers' `fieldsV1` tries (the format is in
//! `fields.rs`) against the applied body, so any kind is covered without knowing its schema.
//! Deciding what to tell the user is the caller's; values never appear in the result, only
//! paths, so a Secret's data is named and never shown.

use std::fmt;

use serde_json::{Map, Value};

use super::fields::item_matches;

/// A field one manager applies and another now owns, with a value other than the applied one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenField {
    /// The field, written readably: `spec.template.spec.containers[name=kyuubi].image`.
    pub path: String,
    /// The manager that owns it now, e.g. `kubectl`.
    pub manager: String,
    /// How that manager wrote it: `Update` or `Apply`.
    pub operation: String,
    /// The subresource it was written through (`scale`); `None` for the object itself.
    pub subresource: Option<String>,
}

impl fmt::Display for TakenField {
    /// `spec.replicas now owned by "kubectl" (scale)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} now owned by {:?}", self.path, self.manager)?;
        match &self.subresource {
            Some(subresource) => write!(f, " ({subresource})"),
            None => Ok(()),
        }
    }
}

/// The fields of `applied` (what `manager` applies to this object) that `manager` no longer
/// owns in `live` and another manager does, where `differs(applied_value, live_value)` says the
/// live value is not the applied one (`None`: absent from `live`). In the order of the
/// `managedFields` entries, then of each trie.
///
/// Only fields `applied` sets count: everything else another manager owns (defaults,
/// annotations of its own, `status`) is its business.
pub fn taken_fields(
    live: &Value,
    applied: &Value,
    manager: &str,
    differs: impl Fn(&Value, Option<&Value>) -> bool,
) -> Vec<TakenField> {
    let Some(entries) = live
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    let ours = super::fields::owned_fields(live, manager)
        .and_then(Value::as_object)
        .map_or(Ours::Nothing, Ours::Part);
    let mut taken = Vec::new();
    for entry in entries {
        let text = |key: &str| entry.get(key).and_then(Value::as_str);
        let Some(other) = text("manager").filter(|m| *m != manager) else {
            continue;
        };
        let Some(set) = entry.get("fieldsV1").and_then(Value::as_object) else {
            continue;
        };
        let mut found = Vec::new();
        walk(set, ours, Some(live), applied, "", &differs, &mut found);
        taken.extend(found.into_iter().map(|path| {
            TakenField {
                path,
                manager: other.to_owned(),
                operation: text("operation").unwrap_or_default().to_owned(),
                subresource: text("subresource")
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned),
            }
        }));
    }
    taken
}

/// What the applier owns at one place in the trie.
#[derive(Clone, Copy)]
enum Ours<'a> {
    /// Nothing here or below.
    Nothing,
    /// The whole value (a leaf of its trie at or above this place).
    Whole,
    /// The children this part of its trie lists.
    Part(&'a Map<String, Value>),
}

impl<'a> Ours<'a> {
    /// What the applier owns at path element `element` below here.
    fn child(self, element: &str) -> Ours<'a> {
        match self {
            Ours::Nothing => Ours::Nothing,
            Ours::Whole => Ours::Whole,
            Ours::Part(set) => match same_element(set, element) {
                None => Ours::Nothing,
                Some(Value::Object(child)) if !child.is_empty() => Ours::Part(child),
                Some(_) => Ours::Whole,
            },
        }
    }
}

/// The entry of `set` naming the same element as `element`. `k:` and `v:` elements are
/// compared as JSON, so key order or spacing cannot hide a match.
fn same_element<'a>(set: &'a Map<String, Value>, element: &str) -> Option<&'a Value> {
    if let Some(found) = set.get(element) {
        return Some(found);
    }
    let (prefix, rest) = element.split_at_checked(2)?;
    if prefix != "k:" && prefix != "v:" {
        return None;
    }
    let wanted = serde_json::from_str::<Value>(rest).ok()?;
    set.iter()
        .find(|(key, _)| {
            key.strip_prefix(prefix)
                .and_then(|r| serde_json::from_str::<Value>(r).ok())
                .is_some_and(|v| v == wanted)
        })
        .map(|(_, value)| value)
}

/// Collects into `found` the paths of `set` (another manager's trie at `at`) that the applied
/// body sets, the applier does not own, and whose live value differs.
fn walk(
    set: &Map<String, Value>,
    ours: Ours<'_>,
    live: Option<&Value>,
    applied: &Value,
    at: &str,
    differs: &dyn Fn(&Value, Option<&Value>) -> bool,
    found: &mut Vec<String>,
) {
    for (element, subtree) in set {
        if element == "." {
            continue;
        }
        let Some(applied_child) = applied_child(applied, element) else {
            continue;
        };
        let ours = ours.child(element);
        if matches!(ours, Ours::Whole) {
            // Shared: both own it, with the same value (else one apply would have conflicted
            // or forced it away).
            continue;
        }
        let live_child = live.and_then(|l| live_child(l, element));
        let path = join(at, element);
        match subtree.as_object().filter(|c| !c.is_empty()) {
            // A leaf: this manager owns the whole value.
            None => {
                if differs(applied_child, live_child) {
                    found.push(path);
                }
            }
            // `{".": {}}` alone owns only that the node exists, which is no value to fight
            // over; listed children are walked.
            Some(children) => walk(
                children,
                ours,
                live_child,
                applied_child,
                &path,
                differs,
                found,
            ),
        }
    }
}

/// The part of the applied body that path element `element` names, if the body sets it.
/// A `k:` element matches the applied list item whose key fields, where it sets them, are the
/// element's: the server fills defaulted keys (a port's `protocol`) the body leaves out.
fn applied_child<'a>(applied: &'a Value, element: &str) -> Option<&'a Value> {
    let found = if let Some(name) = element.strip_prefix("f:") {
        applied.get(name)
    } else if let Some(keys) = element.strip_prefix("k:") {
        let keys = serde_json::from_str::<Map<String, Value>>(keys).ok()?;
        applied.as_array()?.iter().find(|item| {
            let set_keys: Vec<bool> = keys
                .iter()
                .filter_map(|(k, want)| item.get(k).map(|have| have == want))
                .collect();
            !set_keys.is_empty() && set_keys.iter().all(|same| *same)
        })
    } else {
        let items = applied.as_array()?;
        items
            .iter()
            .enumerate()
            .find(|(index, item)| item_matches(element, *index, item))
            .map(|(_, item)| item)
    };
    found.filter(|v| !v.is_null())
}

/// The part of the live object that path element `element` names.
fn live_child<'a>(live: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(name) = element.strip_prefix("f:") {
        return live.get(name);
    }
    live.as_array()?
        .iter()
        .enumerate()
        .find(|(index, item)| item_matches(element, *index, item))
        .map(|(_, item)| item)
}

/// `at` followed by `element` written readably: `.name` for a field, `[name=kyuubi]` or
/// `[containerPort=10009,protocol=TCP]` for a keyed item, `[=value]` for a set item, `[3]` for
/// a position.
fn join(at: &str, element: &str) -> String {
    if let Some(name) = element.strip_prefix("f:") {
        return if at.is_empty() {
            name.to_owned()
        } else {
            format!("{at}.{name}")
        };
    }
    let inner = if let Some(keys) = element.strip_prefix("k:") {
        match serde_json::from_str::<Map<String, Value>>(keys) {
            Ok(keys) => keys
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar_text(v)))
                .collect::<Vec<_>>()
                .join(","),
            Err(_) => keys.to_owned(),
        }
    } else if let Some(value) = element.strip_prefix("v:") {
        match serde_json::from_str::<Value>(value) {
            Ok(v) => format!("={}", scalar_text(&v)),
            Err(_) => format!("={value}"),
        }
    } else {
        element.strip_prefix("i:").unwrap_or(element).to_owned()
    };
    format!("{at}[{inner}]")
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A recording of `../shared/k8s-api/` (copied into `tests/fixtures/k8s-api/`).
    fn recording(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/k8s-api/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn answer(name: &str) -> Value {
        recording(name)["response"]["body"].clone()
    }

    fn sent(name: &str) -> Value {
        recording(name)["request"]["body"].clone()
    }

    /// Plain inequality; the resources use a comparison that knows quantities.
    fn differs(applied: &Value, live: Option<&Value>) -> bool {
        live != Some(applied)
    }

    fn taken(path: &str, manager: &str, operation: &str, sub: Option<&str>) -> TakenField {
        TakenField {
            path: path.to_owned(),
            manager: manager.to_owned(),
            operation: operation.to_owned(),
            subresource: sub.map(str::to_owned),
        }
    }

    #[test]
    fn kubectl_scale_takes_replicas_through_the_scale_subresource() {
        // Recording 25: the Deployment after `kubectl scale --replicas=3`; recording 26's body
        // is konoha's apply (replicas 2) that the server refused with a conflict.
        let found = taken_fields(
            &answer("25-get-after-scale"),
            &sent("26-apply-replicas-conflict-after-scale"),
            "konoha",
            differs,
        );
        assert_eq!(
            found,
            vec![taken("spec.replicas", "kubectl", "Update", Some("scale"))]
        );
        assert_eq!(
            found[0].to_string(),
            r#"spec.replicas now owned by "kubectl" (scale)"#
        );
    }

    #[test]
    fn after_a_forced_apply_nothing_is_taken() {
        // Recording 27: konoha forced replicas back; kubectl's entry is gone, the controller's
        // status entry owns nothing konoha applies.
        let found = taken_fields(
            &answer("27-apply-replicas-force-after-scale"),
            &sent("27-apply-replicas-force-after-scale"),
            "konoha",
            differs,
        );
        assert_eq!(found, vec![]);
    }

    #[test]
    fn another_managers_forced_apply_takes_the_field() {
        // Recordings 01 and 04: someone-else force-applied the conf key konoha owned.
        let found = taken_fields(
            &answer("04-apply-force-takes-ownership"),
            &sent("01-apply-create-configmap"),
            "konoha",
            differs,
        );
        assert_eq!(
            found,
            vec![taken(
                "data.kyuubi-defaults.conf",
                "someone-else",
                "Apply",
                None
            )]
        );
        assert_eq!(
            found[0].to_string(),
            r#"data.kyuubi-defaults.conf now owned by "someone-else""#
        );
        // Once konoha took it back (recording 05) it is konoha's alone again.
        assert_eq!(
            taken_fields(
                &answer("05-apply-back-with-force"),
                &sent("05-apply-back-with-force"),
                "konoha",
                differs
            ),
            vec![]
        );
    }

    #[test]
    fn a_field_applied_by_two_managers_with_one_value_is_shared_not_taken() {
        // Recording 47: someone-else applied data.c with the value konoha applied; both own it.
        let found = taken_fields(
            &answer("47-apply-shared-field-other-manager"),
            &sent("46-apply-configmap-for-pruning"),
            "konoha",
            differs,
        );
        assert_eq!(found, vec![]);
    }

    #[test]
    fn a_taken_field_holding_the_applied_value_again_conflicts_with_nothing() {
        // kubectl scaled to 2 while konoha applies 2: konoha's apply would share it, no conflict.
        let mut live = answer("25-get-after-scale");
        live["spec"]["replicas"] = json!(2);
        let found = taken_fields(
            &live,
            &sent("26-apply-replicas-conflict-after-scale"),
            "konoha",
            differs,
        );
        assert_eq!(found, vec![]);
    }

    #[test]
    fn an_update_manager_taking_an_item_field_is_named_by_the_items_key() {
        // `kubectl edit` of the image (an Update): the server moves f:image from konoha's entry
        // to kubectl-edit's. The container is keyed by name, the port by number and protocol
        // (a default the applied body leaves out).
        let mut live = answer("25-get-after-scale");
        live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("evil:1");
        live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["name"] = json!("other");
        let konoha = &mut live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:template"]
            ["f:spec"]["f:containers"]["k:{\"name\":\"kyuubi\"}"];
        let konoha = konoha.as_object_mut().unwrap();
        konoha.remove("f:image");
        konoha["f:ports"]["k:{\"containerPort\":10009,\"protocol\":\"TCP\"}"]
            .as_object_mut()
            .unwrap()
            .remove("f:name");
        live["metadata"]["managedFields"]
            .as_array_mut()
            .unwrap()
            .push(json!({
                "manager": "kubectl-edit", "operation": "Update", "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {
                    "k:{\"name\":\"kyuubi\"}": {
                        "f:image": {},
                        "f:ports": {"k:{\"containerPort\":10009,\"protocol\":\"TCP\"}": {
                            "f:name": {}}}
                    }}}}}}
            }));
        let found = taken_fields(
            &live,
            &sent("26-apply-replicas-conflict-after-scale"),
            "konoha",
            differs,
        );
        let paths: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            paths,
            vec![
                r#"spec.replicas now owned by "kubectl" (scale)"#,
                r#"spec.template.spec.containers[name=kyuubi].image now owned by "kubectl-edit""#,
                r#"spec.template.spec.containers[name=kyuubi].ports[containerPort=10009,protocol=TCP].name now owned by "kubectl-edit""#,
            ]
        );
    }

    #[test]
    fn a_secrets_data_is_named_by_path_and_its_value_never_shown() {
        let live = json!({
            "kind": "Secret", "apiVersion": "v1",
            "metadata": {"name": "s", "namespace": "kyuubi", "managedFields": [
                {"manager": "konoha", "operation": "Apply",
                 "fieldsV1": {"f:type": {}}},
                {"manager": "someone-else", "operation": "Apply",
                 "fieldsV1": {"f:stringData": {"f:spark.env": {}}}}
            ]},
            "type": "Opaque",
            "data": {"spark.env": "c2VjcmV0PXRoZWlycw=="}
        });
        let applied = json!({"type": "Opaque", "stringData": {"spark.env": "secret=ours\n"}});
        let found = taken_fields(&live, &applied, "konoha", differs);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![r#"stringData.spark.env now owned by "someone-else""#]
        );
        assert!(!format!("{found:?}").contains("secret=ours"));
    }

    #[test]
    fn konoha_owning_nothing_any_more_leaves_every_applied_field_to_the_others() {
        // The server drops an entry once all its fields went elsewhere.
        let live = json!({"metadata": {"finalizers": ["x.io/y"], "managedFields": [
            {"manager": "other", "operation": "Apply", "fieldsV1": {
                "f:data": {"f:a": {}, "f:b": {}},
                "f:metadata": {"f:finalizers": {"v:\"x.io/y\"": {}}}}}
        ]}, "data": {"a": "9", "b": "2"}});
        let applied = json!({"data": {"a": "1", "b": "2"}, "metadata": {"finalizers": ["x.io/y"]}});
        let found: Vec<String> = taken_fields(&live, &applied, "konoha", differs)
            .iter()
            .map(|t| t.path.clone())
            .collect();
        // b and the finalizer hold the applied values: shared on the next apply, no conflict.
        assert_eq!(found, vec!["data.a"]);
    }

    #[test]
    fn paths_are_written_readably() {
        assert_eq!(join("", "f:spec"), "spec");
        assert_eq!(join("a", "k:{\"name\":\"x\"}"), "a[name=x]");
        assert_eq!(
            join("p", "k:{\"containerPort\":1,\"protocol\":\"TCP\"}"),
            "p[containerPort=1,protocol=TCP]"
        );
        assert_eq!(join("f", "v:\"x.io/y\""), "f[=x.io/y]");
        assert_eq!(join("args", "i:2"), "args[2]");
        assert_eq!(join("a", "k:not json"), "a[not json]");
    }

    #[test]
    fn objects_without_managed_fields_or_with_odd_entries_take_nothing() {
        let applied = json!({"data": {"a": "1"}});
        assert_eq!(
            taken_fields(&json!({}), &applied, "konoha", differs),
            vec![]
        );
        let odd = json!({"metadata": {"managedFields": [
            {"manager": "x"}, {"fieldsV1": {"f:data": {}}}, "not an entry",
            {"manager": "y", "fieldsV1": "not a trie"}
        ]}, "data": {"a": "2"}});
        assert_eq!(taken_fields(&odd, &applied, "konoha", differs), vec![]);
    }
}
