//! Where pods may run: Kubernetes tolerations and node selectors, their rules as the API server
//! validates them, and their JSON as a pod spec carries it.
//!
//! Shared by both domains: the Kyuubi server's own pods (`tolerations`, `node_selector`) and the
//! Spark executors a profile describes (`executor_tolerations`, `executor_node_selector`). Pure:
//! no Terraform types, no I/O. Decoding Terraform values is `resources::placement_model`'s job.
//!
//! The toleration rules follow `ValidateTolerations` in Kubernetes'
//! `pkg/apis/core/validation/validation.go`: a non-empty key is a qualified name; an empty key
//! needs `Exists` (it matches every taint); `Exists` takes no value, and `Equal` takes a label
//! value; the effect is empty (every effect), `NoSchedule`, `PreferNoSchedule` or `NoExecute`;
//! `tolerationSeconds` applies only to `NoExecute`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::names::{label_key_problem, label_value_problem};
use crate::rules::{Field, PathSegment, Violation};

/// `operator = "Equal"`, the default: the taint's value must equal the toleration's.
pub const OPERATOR_EQUAL: &str = "Equal";
/// `operator = "Exists"`: any value of the key (or, with no key, any taint).
pub const OPERATOR_EXISTS: &str = "Exists";
/// The taint effects a toleration may name; empty means every effect.
pub const EFFECTS: [&str; 4] = ["", "NoSchedule", "PreferNoSchedule", "NoExecute"];
/// The only effect `toleration_seconds` applies to.
pub const EFFECT_NO_EXECUTE: &str = "NoExecute";

/// One toleration as configured; any value may still be unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TolerationInput {
    /// The taint key; unset or empty matches every key (with `Exists`).
    pub key: Field<String>,
    /// `Equal` (default) or `Exists`.
    pub operator: Field<String>,
    /// The taint value, for `Equal`.
    pub value: Field<String>,
    /// The taint effect; unset or empty matches every effect.
    pub effect: Field<String>,
    /// How long a `NoExecute` taint is tolerated before eviction; forever when unset.
    pub toleration_seconds: Field<i64>,
}

/// One toleration, known and valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toleration {
    /// The taint key, empty for every key.
    pub key: String,
    /// `Equal` or `Exists`.
    pub operator: String,
    /// The taint value, empty for none.
    pub value: String,
    /// The taint effect, empty for every effect.
    pub effect: String,
    /// Seconds a `NoExecute` taint is tolerated.
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// The toleration as a pod spec holds it (camelCase). Empty strings are left out, as the
    /// API server leaves them out (`omitempty`), so the rendering compares with what reads back.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        let mut put = |name: &str, text: &str| {
            if !text.is_empty() {
                map.insert(name.to_owned(), json!(text));
            }
        };
        put("key", &self.key);
        put("operator", &self.operator);
        put("value", &self.value);
        put("effect", &self.effect);
        if let Some(seconds) = self.toleration_seconds {
            map.insert("tolerationSeconds".to_owned(), json!(seconds));
        }
        Value::Object(map)
    }
}

/// The tolerations as a pod spec's `tolerations` list.
pub fn tolerations_json(tolerations: &[Toleration]) -> Value {
    Value::Array(tolerations.iter().map(Toleration::to_json).collect())
}

/// The path of `name` in the `index`th block `block`: `tolerations[1].effect`.
fn item_path(block: &'static str, index: usize, name: &'static str) -> Vec<PathSegment> {
    vec![
        PathSegment::Attr(block),
        PathSegment::Item(index),
        PathSegment::Attr(name),
    ]
}

/// Checks the repeated block `block` (`tolerations`, `executor_tolerations`); a value not yet
/// known skips only the rules it feeds.
pub fn check_tolerations(
    block: &'static str,
    tolerations: &Field<Vec<TolerationInput>>,
    out: &mut Vec<Violation>,
) {
    let Some(items) = tolerations.value() else {
        return;
    };
    for (index, toleration) in items.iter().enumerate() {
        check_toleration(block, index, toleration, out);
    }
}

fn check_toleration(
    block: &'static str,
    index: usize,
    toleration: &TolerationInput,
    out: &mut Vec<Violation>,
) {
    let at = |name| item_path(block, index, name);
    let operator = toleration.operator.or(OPERATOR_EQUAL.to_owned());
    if let Some(text) = &operator
        && text != OPERATOR_EQUAL
        && text != OPERATOR_EXISTS
    {
        // Kubernetes reads an empty operator as `Equal`; here `Equal` is the default, so one
        // spelling per meaning keeps the plan showing what the pods get.
        let hint = if text.is_empty() {
            "leave operator unset for \"Equal\" (Kubernetes reads an empty operator as \"Equal\"), or write \"Exists\""
        } else {
            "use \"Equal\" or \"Exists\""
        };
        out.push(Violation::new(
            at("operator"),
            format!("{text:?} is not an operator: {hint}"),
        ));
    }
    let key = toleration.key.or(String::new());
    if let Some(key) = &key {
        if key.is_empty() {
            if operator.as_deref().is_some_and(|o| o != OPERATOR_EXISTS) {
                out.push(Violation::new(
                    at("operator"),
                    "must be \"Exists\" when key is empty: a toleration without a key matches \
                     every taint, whatever its value; set key, or operator = \"Exists\"",
                ));
            }
        } else if let Some(problem) = label_key_problem(key) {
            out.push(Violation::new(
                at("key"),
                format!(
                    "{key:?} is not a taint key: it {problem} (a key is a qualified name like \
                     \"nvidia.com/gpu\")"
                ),
            ));
        }
    }
    if let Some(value) = toleration.value.value() {
        match operator.as_deref() {
            Some(OPERATOR_EXISTS) if !value.is_empty() => out.push(Violation::new(
                at("value"),
                format!(
                    "{value:?} is set, but operator \"Exists\" takes no value: remove value, or \
                     use operator = \"Equal\""
                ),
            )),
            Some(OPERATOR_EQUAL) => {
                if let Some(problem) = label_value_problem(value) {
                    out.push(Violation::new(
                        at("value"),
                        format!("{value:?} is not a taint value: it {problem}"),
                    ));
                }
            }
            _ => {}
        }
    }
    let effect = toleration.effect.or(String::new());
    if let Some(effect) = &effect
        && !EFFECTS.contains(&effect.as_str())
    {
        out.push(Violation::new(
            at("effect"),
            format!(
                "{effect:?} is not a taint effect: use \"NoSchedule\", \"PreferNoSchedule\", \
                 \"NoExecute\", or leave it unset for every effect"
            ),
        ));
    }
    if let Some(&seconds) = toleration.toleration_seconds.value() {
        if seconds < 0 {
            out.push(Violation::new(
                at("toleration_seconds"),
                format!(
                    "{seconds} is negative, which Kubernetes reads as 0 (evict at once): write 0 \
                     if that is meant"
                ),
            ));
        }
        if let Some(effect) = &effect
            && effect != EFFECT_NO_EXECUTE
        {
            out.push(Violation::new(
                at("toleration_seconds"),
                format!(
                    "applies only with effect = \"NoExecute\" (the effect is {effect:?}): only \
                     a NoExecute taint evicts, after this many seconds; remove it or set the \
                     effect"
                ),
            ));
        }
    }
}

/// The tolerations, known and with defaults applied; `None` while any value is unknown. Call it
/// on checked input.
pub fn resolve_tolerations(tolerations: &Field<Vec<TolerationInput>>) -> Option<Vec<Toleration>> {
    let Some(items) = tolerations.known()? else {
        return Some(Vec::new());
    };
    items
        .iter()
        .map(|t| {
            Some(Toleration {
                key: t.key.or(String::new())?,
                operator: t.operator.or(OPERATOR_EQUAL.to_owned())?,
                value: t.value.or(String::new())?,
                effect: t.effect.or(String::new())?,
                toleration_seconds: t.toleration_seconds.known()?.copied(),
            })
        })
        .collect()
}

/// Checks a node selector (`node_selector`, `executor_node_selector`): each key is a label key
/// and each value a label value, as on the nodes it must match.
pub fn check_node_selector(
    attribute: &'static str,
    selector: &Field<BTreeMap<String, Field<String>>>,
    out: &mut Vec<Violation>,
) {
    let Some(entries) = selector.value() else {
        return;
    };
    for (key, value) in entries {
        let path = || vec![PathSegment::Attr(attribute), PathSegment::Key(key.clone())];
        if let Some(problem) = label_key_problem(key) {
            out.push(Violation::new(
                path(),
                format!("{key:?} is not a node label key: it {problem}"),
            ));
        }
        if let Some(text) = value.value()
            && let Some(problem) = label_value_problem(text)
        {
            out.push(Violation::new(
                path(),
                format!("{text:?} is not a node label value: it {problem}"),
            ));
        }
    }
}

/// The node selector, known; empty when unset, `None` while any entry is unknown.
pub fn resolve_node_selector(
    selector: &Field<BTreeMap<String, Field<String>>>,
) -> Option<BTreeMap<String, String>> {
    let Some(entries) = selector.known()? else {
        return Some(BTreeMap::new());
    };
    entries
        .iter()
        .map(|(k, v)| Some((k.clone(), v.value()?.clone())))
        .collect()
}

/// The fields of a pod's `affinity`, the only keys `affinity` may hold.
pub const AFFINITY_KINDS: [&str; 3] = ["nodeAffinity", "podAffinity", "podAntiAffinity"];

/// What is wrong with `text` as a pod's `affinity` (JSON, as `jsonencode` writes it), or
/// `None`. Only the outer shape is checked: an object whose keys are among
/// [`AFFINITY_KINDS`], each holding an object. The API server checks the terms themselves
/// when the Deployment is applied.
pub fn affinity_problem(text: &str) -> Option<String> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(err) => {
            return Some(format!(
                "is not JSON ({err}): write it with jsonencode({{…}})"
            ));
        }
    };
    let Value::Object(map) = &value else {
        return Some(
            "is not a JSON object: write jsonencode({ nodeAffinity = {…} }), with any of \
             nodeAffinity, podAffinity, podAntiAffinity"
                .to_owned(),
        );
    };
    let kinds = AFFINITY_KINDS.join(", ");
    if let Some(key) = map.keys().find(|k| !AFFINITY_KINDS.contains(&k.as_str())) {
        return Some(format!(
            "has the key {key:?}, which a pod's affinity does not have: use only {kinds} \
             (spelled as the Kubernetes API spells them)"
        ));
    }
    if let Some((key, _)) = map.iter().find(|(_, v)| !v.is_object()) {
        return Some(format!("has {key} that is not an object"));
    }
    None
}

/// `text` as a pod's `affinity`, or `None` when it is not one (see [`affinity_problem`]).
/// Parsing makes the comparison semantic: whitespace and key order do not matter.
pub fn parse_affinity(text: &str) -> Option<Value> {
    if affinity_problem(text).is_some() {
        return None;
    }
    serde_json::from_str(text).ok()
}

/// Where a pod may run, known and valid: what a pod spec's `nodeSelector`, `tolerations` and
/// `affinity` get.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PodPlacement {
    /// Labels a node must have.
    pub node_selector: BTreeMap<String, String>,
    /// Taints the pod tolerates.
    pub tolerations: Vec<Toleration>,
    /// The pod's affinity, an object with [`AFFINITY_KINDS`] keys.
    pub affinity: Option<Value>,
}

impl PodPlacement {
    /// Adds the placement to a pod spec (a JSON object). Empty parts are left out, so a pod
    /// without placement keeps the spec it had, and a part removed from the configuration is
    /// removed from the object by server-side apply.
    pub fn add_to_pod_spec(&self, spec: &mut Value) {
        let Value::Object(spec) = spec else {
            return;
        };
        if !self.node_selector.is_empty() {
            spec.insert("nodeSelector".to_owned(), json!(self.node_selector));
        }
        if !self.tolerations.is_empty() {
            spec.insert(
                "tolerations".to_owned(),
                tolerations_json(&self.tolerations),
            );
        }
        if let Some(affinity) = &self.affinity {
            spec.insert("affinity".to_owned(), affinity.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(text: &str) -> Field<String> {
        Field::Set(text.to_owned())
    }

    fn problems(items: Vec<TolerationInput>) -> Vec<String> {
        let mut out = Vec::new();
        check_tolerations("tolerations", &Field::Set(items), &mut out);
        out.iter().map(ToString::to_string).collect()
    }

    fn gpu_taint() -> TolerationInput {
        TolerationInput {
            key: set("nvidia.com/gpu"),
            operator: set("Exists"),
            effect: set("NoSchedule"),
            ..TolerationInput::default()
        }
    }

    #[test]
    fn the_usual_tolerations_pass_and_render_as_the_api_spells_them() {
        let items = vec![
            gpu_taint(),
            TolerationInput {
                key: set("dedicated"),
                value: set("spark"),
                effect: set("NoExecute"),
                toleration_seconds: Field::Set(300),
                ..TolerationInput::default()
            },
            TolerationInput {
                operator: set("Exists"),
                ..TolerationInput::default()
            },
        ];
        assert_eq!(problems(items.clone()), Vec::<String>::new());
        let resolved = resolve_tolerations(&Field::Set(items)).expect("known");
        assert_eq!(
            tolerations_json(&resolved),
            json!([
                {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                {"key": "dedicated", "operator": "Equal", "value": "spark",
                 "effect": "NoExecute", "tolerationSeconds": 300},
                {"operator": "Exists"},
            ])
        );
    }

    #[test]
    fn each_kubernetes_rule_is_enforced_at_its_path() {
        let cases = [
            (
                TolerationInput {
                    key: set("nvidia.com/gpu"),
                    operator: set("Exists"),
                    value: set("true"),
                    ..TolerationInput::default()
                },
                "tolerations[0].value: \"true\" is set, but operator \"Exists\" takes no value",
            ),
            (
                TolerationInput {
                    value: set("x"),
                    ..TolerationInput::default()
                },
                "tolerations[0].operator: must be \"Exists\" when key is empty",
            ),
            (
                TolerationInput {
                    key: set("Bad Key"),
                    operator: set("Exists"),
                    ..TolerationInput::default()
                },
                "tolerations[0].key: \"Bad Key\" is not a taint key",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    value: set("a/b"),
                    ..TolerationInput::default()
                },
                "tolerations[0].value: \"a/b\" is not a taint value",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    operator: set("In"),
                    ..TolerationInput::default()
                },
                "tolerations[0].operator: \"In\" is not an operator",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    operator: set(""),
                    ..TolerationInput::default()
                },
                "tolerations[0].operator: \"\" is not an operator: leave operator unset for \"Equal\"",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    effect: set("NoEvict"),
                    ..TolerationInput::default()
                },
                "tolerations[0].effect: \"NoEvict\" is not a taint effect",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    effect: set("NoSchedule"),
                    toleration_seconds: Field::Set(60),
                    ..TolerationInput::default()
                },
                "tolerations[0].toleration_seconds: applies only with effect = \"NoExecute\"",
            ),
            (
                TolerationInput {
                    key: set("k"),
                    effect: set("NoExecute"),
                    toleration_seconds: Field::Set(-1),
                    ..TolerationInput::default()
                },
                "tolerations[0].toleration_seconds: -1 is negative",
            ),
        ];
        for (toleration, expected) in cases {
            let found = problems(vec![toleration.clone()]);
            assert_eq!(found.len(), 1, "{toleration:?}: {found:?}");
            assert!(found[0].starts_with(expected), "{found:?}");
        }
    }

    #[test]
    fn the_path_names_the_block_and_its_index() {
        let bad = TolerationInput {
            key: set("k"),
            effect: set("Sometimes"),
            ..TolerationInput::default()
        };
        let mut out = Vec::new();
        check_tolerations(
            "executor_tolerations",
            &Field::Set(vec![gpu_taint(), bad]),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path_string(), "executor_tolerations[1].effect");
        assert_eq!(
            out[0].path,
            vec![
                PathSegment::Attr("executor_tolerations"),
                PathSegment::Item(1),
                PathSegment::Attr("effect")
            ]
        );
    }

    #[test]
    fn unknown_values_skip_only_their_rules_and_resolve_to_none() {
        let partly_unknown = TolerationInput {
            key: Field::Unknown,
            operator: set("Equal"),
            value: set("x"),
            effect: Field::Unknown,
            toleration_seconds: Field::Set(5),
        };
        assert_eq!(problems(vec![partly_unknown.clone()]), Vec::<String>::new());
        assert_eq!(resolve_tolerations(&Field::Set(vec![partly_unknown])), None);
        assert_eq!(resolve_tolerations(&Field::Unknown), None);
        assert_eq!(resolve_tolerations(&Field::Unset), Some(Vec::new()));
    }

    #[test]
    fn node_selectors_take_label_keys_and_values() {
        let selector = |pairs: &[(&str, &str)]| {
            Field::Set(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), set(v)))
                    .collect::<BTreeMap<_, _>>(),
            )
        };
        let mut out = Vec::new();
        let good = selector(&[("nvidia.com/gpu.present", "true"), ("pool", "")]);
        check_node_selector("node_selector", &good, &mut out);
        assert_eq!(out, Vec::new());
        assert_eq!(
            resolve_node_selector(&good).expect("known"),
            BTreeMap::from([
                ("nvidia.com/gpu.present".to_owned(), "true".to_owned()),
                ("pool".to_owned(), String::new()),
            ])
        );
        check_node_selector(
            "executor_node_selector",
            &selector(&[("bad key", "ok"), ("pool", "a b")]),
            &mut out,
        );
        let found: Vec<String> = out.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("executor_node_selector[\"bad key\"]: \"bad key\" is not"));
        assert!(found[1].starts_with("executor_node_selector[\"pool\"]: \"a b\" is not"));
    }
    #[test]
    fn affinity_is_an_object_of_the_three_kinds_compared_by_meaning() {
        let text = r#"{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":"pool","operator":"In","values":["kyuubi"]}]}]}}}"#;
        assert_eq!(affinity_problem(text), None);
        let spaced = text.replace(':', " : ").replace(',', " ,\n ");
        assert_eq!(parse_affinity(text), parse_affinity(&spaced));
        assert!(parse_affinity(text).is_some());
        let cases = [
            ("[]", "is not a JSON object"),
            ("{nodeAffinity}", "is not JSON"),
            (r#"{"nodeSelector":{}}"#, "has the key \"nodeSelector\""),
            (r#"{"node_affinity":{}}"#, "has the key \"node_affinity\""),
            (
                r#"{"podAffinity":[]}"#,
                "has podAffinity that is not an object",
            ),
        ];
        for (text, expected) in cases {
            let problem = affinity_problem(text).unwrap_or_default();
            assert!(problem.starts_with(expected), "{text}: {problem}");
            assert_eq!(parse_affinity(text), None);
        }
    }

    #[test]
    fn placement_adds_only_what_is_set_to_a_pod_spec() {
        let mut spec = json!({"containers": []});
        PodPlacement::default().add_to_pod_spec(&mut spec);
        assert_eq!(spec, json!({"containers": []}));
        let placement = PodPlacement {
            node_selector: BTreeMap::from([("pool".to_owned(), "kyuubi".to_owned())]),
            tolerations: resolve_tolerations(&Field::Set(vec![gpu_taint()])).expect("known"),
            affinity: parse_affinity(r#"{"podAntiAffinity":{}}"#),
        };
        placement.add_to_pod_spec(&mut spec);
        assert_eq!(
            spec,
            json!({
                "containers": [],
                "nodeSelector": {"pool": "kyuubi"},
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
                "affinity": {"podAntiAffinity": {}},
            })
        );
    }
}
