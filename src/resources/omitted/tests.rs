//! Tests of the empty-value rule: the helpers on small values, then a walk over both resources'
//! schemas that sets every string attribute (and one entry of every string map) to `""` and
//! checks that validation refuses it at that attribute, or that the value survives every way
//! the provider reads it back. The expected outcome of each attribute is a table, so a new
//! attribute fails here until someone decides (and tests) what its `""` does.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::clients::Clients;
use crate::framework::{Block, DataSource, Nesting, Resource, plan, validators};
use crate::resources::kyuubi_model::{
    ARGUMENTS_ANNOTATION, arguments_json, first_difference, server_input, state_from_arguments,
};
use crate::resources::kyuubi_schema;
use crate::resources::kyuubi_server::KyuubiServer;
use crate::resources::kyuubi_server_data::KyuubiServerData;
use crate::resources::profile_model::{
    apply_metadata, empty_state, profile_input, state_from_properties,
};
use crate::resources::spark_profile::SparkProfile;
use crate::resources::spark_profile_data::SparkProfileData;
use crate::tf::{AttributePath, PathStep, Type};

use serde_json::json;

use super::*;

fn toleration(key: Value, value: Value, effect: Value) -> Value {
    Value::object([
        ("key", key),
        ("operator", Value::string("Equal")),
        ("value", value),
        ("effect", effect),
    ])
}

#[test]
fn an_empty_string_read_back_keeps_the_prior_form() {
    let empty = || Value::string("");
    let prior = Value::List(vec![toleration(Value::string("k"), empty(), Value::Null)]);
    // The line left the value out, and wrote no effect: the state keeps `""` and null.
    let read = Value::List(vec![toleration(Value::string("k"), Value::Null, empty())]);
    assert_eq!(keep_prior_empty(read, &prior), prior);
}

#[test]
fn real_changes_and_new_items_are_taken_as_read() {
    let prior = Value::List(vec![toleration(
        Value::string("k"),
        Value::string(""),
        Value::Null,
    )]);
    let changed = Value::List(vec![
        toleration(Value::string("k"), Value::string("x"), Value::Null),
        toleration(Value::string("new"), Value::Null, Value::Null),
    ]);
    assert_eq!(keep_prior_empty(changed.clone(), &prior), changed);
    assert_eq!(
        keep_prior_empty(Value::Null, &Value::string("a")),
        Value::Null,
        "a removed non-empty value is a change"
    );
    let map = Value::object([("a", Value::string(""))]);
    assert_eq!(
        keep_prior_empty(Value::Map(Default::default()), &map),
        Value::Map(Default::default()),
        "a removed map entry is a change: only values are kept, never keys"
    );
}

#[test]
fn only_empty_strings_and_lists_count_as_left_out() {
    for applied in [json!(""), json!([])] {
        assert!(left_out_when_empty(&applied), "{applied}");
    }
    for applied in [
        json!({}),
        json!(false),
        json!(0),
        json!(null),
        json!("x"),
        json!([1]),
    ] {
        assert!(!left_out_when_empty(&applied), "{applied}");
    }
}

/// What a `""` written for an attribute does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Empty {
    /// Validation refuses it, at the attribute.
    Refused,
    /// It is accepted and every read-back (refresh after drift, import) keeps it `""`.
    Kept,
}

/// The path of every string attribute and of one entry of every string map in `block` (in
/// `base`, which must hold each nested block and a map entry, so that nothing is skipped).
/// Computed-only and write-only attributes are left out: configuration never sets the former,
/// and no state ever holds the latter.
fn string_paths(block: &Block, base: &Value, at: &AttributePath, out: &mut Vec<AttributePath>) {
    for attribute in &block.attributes {
        if (attribute.computed && !attribute.optional && !attribute.required)
            || attribute.write_only
        {
            continue;
        }
        let path = at.clone().push_attr(&attribute.name);
        match &attribute.ty {
            Type::String => out.push(path),
            Type::Map(element) if **element == Type::String => {
                let key = base
                    .at(&path)
                    .as_map()
                    .and_then(|m| m.keys().next().cloned())
                    .unwrap_or_else(|| panic!("give the base an entry in {path}"));
                out.push(path.push_key(key));
            }
            _ => {}
        }
    }
    for nested in &block.blocks {
        let path = at.clone().push_attr(&nested.name);
        let elements = match nested.nesting {
            Nesting::Single => vec![path.clone()],
            Nesting::List | Nesting::Set => (0..base.at(&path).as_list().map_or(0, <[_]>::len))
                .map(|i| path.clone().push_index(i as i64))
                .collect(),
        };
        assert!(
            elements.iter().any(|e| base.at(e).as_map().is_some()),
            "give the base a {path} block"
        );
        for element in elements {
            string_paths(&nested.block, base, &element, out);
        }
    }
}

/// `v` with `new` at `path`.
fn set_at(v: &mut Value, path: &[PathStep], new: Value) {
    let Some((first, rest)) = path.split_first() else {
        *v = new;
        return;
    };
    let child = match (first, v) {
        (PathStep::Attribute(name) | PathStep::ElementKeyString(name), Value::Map(m)) => {
            m.get_mut(name)
        }
        (PathStep::ElementKeyInt(i), Value::List(items)) => {
            usize::try_from(*i).ok().and_then(|i| items.get_mut(i))
        }
        _ => None,
    };
    set_at(child.expect("the path is in the base"), rest, new);
}

/// The attribute `path` names (map keys and list indexes skipped), with the path of its value.
fn attribute_at<'b>(
    block: &'b Block,
    path: &AttributePath,
) -> (&'b crate::framework::Attribute, AttributePath) {
    let mut block = block;
    let mut at = AttributePath::root();
    for step in &path.0 {
        let PathStep::Attribute(name) = step else {
            at.0.push(step.clone());
            continue;
        };
        if let Some(attribute) = block.attributes.iter().find(|a| &a.name == name) {
            return (attribute, at.push_attr(name));
        }
        let nested = block.blocks.iter().find(|b| &b.name == name);
        block = &nested.expect("a block on the path").block;
        at = at.push_attr(name);
    }
    panic!("{path} names no attribute")
}

/// Whether `config` (the base with `""` at `path`) is refused at `path`: by the attribute's
/// validators or the resource's own checks. A rule on a combination may name a sibling in the
/// same block instead (an empty toleration key needs `operator = "Exists"`); a refusal
/// anywhere else means the base is wrong.
fn refused(resource: &dyn Resource, config: &Value, path: &AttributePath) -> bool {
    let block = resource.schema().block;
    let (attribute, value_path) = attribute_at(&block, path);
    let mut found: Vec<_> =
        validators::run(&attribute.validators, config.at(&value_path), &value_path);
    found.extend(resource.validate_config(config));
    let parent = &value_path.0[..value_path.0.len() - 1];
    for d in &found {
        let at = d.attribute.clone().unwrap_or_default();
        let sibling = at.0.len() == value_path.0.len() && at.0.starts_with(parent);
        assert!(
            at == *path || at == value_path || sibling,
            "{path} = \"\" is refused at {at}, not at itself: {}",
            d.detail
        );
    }
    !found.is_empty()
}

/// The outcome of `""` at every string path of `resource`, with `kept` judging an accepted one
/// (an error says which read-back lost it).
fn outcomes(
    resource: &dyn Resource,
    base: &Value,
    kept: impl Fn(&Value, &AttributePath) -> Result<(), String>,
) -> BTreeMap<String, Empty> {
    let block = resource.schema().block;
    let clean = resource.validate_config(base);
    assert!(clean.is_empty(), "the base is not valid: {clean:?}");
    let mut paths = Vec::new();
    string_paths(&block, base, &AttributePath::root(), &mut paths);
    paths
        .into_iter()
        .map(|path| {
            let mut config = base.clone();
            set_at(&mut config, &path.0, Value::string(""));
            let outcome = if refused(resource, &config, &path) {
                Empty::Refused
            } else {
                kept(&config, &path).unwrap_or_else(|lost| panic!("{path} = \"\": {lost}"));
                Empty::Kept
            };
            (path.to_string(), outcome)
        })
        .collect()
}

/// `base` of `block`'s type with `values` set and the schema's defaults filled in.
fn with_defaults(block: &Block, values: Value) -> Value {
    let mut config = empty_state(block);
    for (name, value) in values.as_map().cloned().unwrap_or_default() {
        config.set_attr(&name, value);
    }
    let written = config.clone();
    plan::apply_defaults(block, &written, &mut config);
    config
}

fn strings<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::object(pairs.into_iter().map(|(k, v)| (k, Value::string(v))))
}

/// Two tolerations, one per operator, since what an empty string may be depends on it.
fn toleration_blocks() -> Value {
    let toleration = |key: &str, operator: &str, value: Value| {
        Value::object([
            ("key", Value::string(key)),
            ("operator", Value::string(operator)),
            ("value", value),
            ("effect", Value::string("NoSchedule")),
            ("toleration_seconds", Value::Null),
        ])
    };
    Value::List(vec![
        toleration("dedicated", "Equal", Value::string("spark")),
        toleration("nvidia.com/gpu", "Exists", Value::Null),
    ])
}

/// What the API server returns for `applied`, at its most forgetful: every empty string and
/// list left out, as `omitempty` does (and more: it keeps `""` in label maps). Written out
/// here rather than with [`left_out_when_empty`], which is what is under test.
fn as_the_api_server_returns(applied: &Json) -> Json {
    let left_out = |v: &Json| {
        matches!(v, Json::String(s) if s.is_empty())
            || matches!(v, Json::Array(items) if items.is_empty())
    };
    match applied {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(_, v)| !left_out(v))
                .map(|(k, v)| (k.clone(), as_the_api_server_returns(v)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.iter().map(as_the_api_server_returns).collect()),
        other => other.clone(),
    }
}

#[test]
fn every_profile_string_is_refused_empty_or_read_back_as_written() {
    let profile = SparkProfile::new(Arc::new(Clients::default()));
    let block = profile.schema().block;
    let base = with_defaults(
        &block,
        Value::object([
            ("mount", Value::string("secret")),
            ("name", Value::string("spark/a")),
            ("executor_memory_overhead", Value::string("1g")),
            ("executor_limit_cores", Value::string("2")),
            (
                "extra_conf",
                strings([("spark.sql.adaptive.enabled", "true")]),
            ),
            ("executor_node_selector", strings([("pool", "spark")])),
            (
                "sensitive_conf",
                strings([("spark.hadoop.fs.s3a.secret.key", "s3")]),
            ),
            ("custom_metadata", strings([("owner", "data")])),
            ("executor_tolerations", toleration_blocks()),
            (
                "dynamic_allocation",
                Value::object([
                    ("enabled", Value::Bool(false)),
                    ("min_executors", Value::Null),
                    ("initial_executors", Value::Null),
                    ("max_executors", Value::Null),
                ]),
            ),
            (
                "gpu",
                Value::object([
                    ("amount", Value::int(1)),
                    ("vendor", Value::Null),
                    ("discovery_script", Value::Null),
                    ("task_amount", Value::Null),
                ]),
            ),
        ]),
    );
    // Refresh after drift maps the stored properties and Vault's metadata back onto the state
    // (the prior state is the configuration here); what it does not map stays as it was.
    let found = outcomes(&profile, &base, |config, path| {
        let input = profile_input(config).map_err(|d| format!("{d:?}"))?;
        let resolved = crate::spark::resolve(&input).ok_or("does not resolve")?;
        let properties = crate::spark::render_properties(&resolved);
        let mut state = state_from_properties(config, &properties);
        let custom = config
            .attr("custom_metadata")
            .as_string_map()
            .unwrap_or_default();
        apply_metadata(&mut state, 0, &custom);
        match state.at(path) {
            Value::String(s) if s.is_empty() => Ok(()),
            other => Err(format!("a refresh after drift reads back {other:?}")),
        }
    });
    use Empty::{Kept, Refused};
    // Kept: an empty label value (a node may carry one), an empty taint value (with `Equal`,
    // the taint whose value is empty; with `Exists`, the same as none), an empty effect (every
    // effect) and, with `Exists`, an empty key (every taint), all as Kubernetes reads them. The
    // tolerations line leaves them out, so only the prior state's form keeps them.
    // Refused: everything else, since an empty memory size, core count, vendor, script path or
    // Spark value means nothing Spark would take, and `Equal` with an empty key matches no
    // taint Kubernetes allows. An empty operator is refused too, though Kubernetes reads it as
    // `Equal`: the attribute defaults to `Equal`, and one spelling per meaning keeps plans
    // honest.
    let expected = [
        ("custom_metadata[\"owner\"]", Refused),
        ("executor_limit_cores", Refused),
        ("executor_memory", Refused),
        ("executor_memory_overhead", Refused),
        ("executor_node_selector[\"pool\"]", Kept),
        ("executor_request_cores", Refused),
        ("executor_tolerations[0].effect", Kept),
        ("executor_tolerations[0].key", Refused),
        ("executor_tolerations[0].operator", Refused),
        ("executor_tolerations[0].value", Kept),
        ("executor_tolerations[1].effect", Kept),
        ("executor_tolerations[1].key", Kept),
        ("executor_tolerations[1].operator", Refused),
        ("executor_tolerations[1].value", Kept),
        ("extra_conf[\"spark.sql.adaptive.enabled\"]", Refused),
        ("gpu.discovery_script", Refused),
        ("gpu.vendor", Refused),
        ("mount", Refused),
        ("name", Refused),
        (
            "sensitive_conf[\"spark.hadoop.fs.s3a.secret.key\"]",
            Refused,
        ),
    ];
    let expected: BTreeMap<String, Empty> = expected
        .into_iter()
        .map(|(p, e)| (p.to_owned(), e))
        .collect();
    assert_eq!(
        found, expected,
        "a new string attribute? Add what its \"\" does to the table"
    );
}

#[test]
fn every_server_string_is_refused_empty_or_read_back_as_written() {
    let server = KyuubiServer::new(Arc::new(Clients::default()));
    let block = server.schema().block;
    let sha = "0".repeat(64);
    let base = with_defaults(
        &block,
        Value::object([
            ("name", Value::string("kyuubi-dbt")),
            ("image", Value::string("apache/kyuubi:1.10.0")),
            (
                "spark_profile",
                Value::String(format!("secret/spark/a@sha256:{sha}")),
            ),
            (
                "vault_agent",
                strings([("role", "kyuubi"), ("auth_path", "auth/kubernetes")]),
            ),
            (
                "engine",
                Value::object([
                    ("namespace", Value::string("spark")),
                    ("service_account", Value::string("spark")),
                    ("image", Value::string("apache/spark:3.5.3")),
                    ("file_upload_path", Value::string("/tmp/kyuubi-upload")),
                    ("idle_timeout", Value::string("PT30M")),
                    ("initialize_timeout", Value::string("PT3M")),
                    ("run_as_user", Value::Null),
                    ("run_as_group", Value::Null),
                    ("fs_group", Value::Null),
                ]),
            ),
            (
                "metrics",
                Value::object([("enabled", Value::Null), ("port", Value::Null)]),
            ),
            (
                "ha",
                strings([("addresses", "zk-0:2181"), ("namespace", "kyuubi")]),
            ),
            (
                "resources",
                strings([
                    ("requests_cpu", "1"),
                    ("requests_memory", "2Gi"),
                    ("limits_cpu", "2"),
                    ("limits_memory", "4Gi"),
                ]),
            ),
            (
                "pod_security_context",
                Value::object([
                    ("run_as_user", Value::Null),
                    ("run_as_group", Value::Null),
                    ("fs_group", Value::Null),
                ]),
            ),
            (
                "kyuubi_conf",
                strings([("kyuubi.frontend.thrift.max.worker.threads", "100")]),
            ),
            ("labels", strings([("team", "data")])),
            ("node_selector", strings([("pool", "kyuubi")])),
            ("tolerations", toleration_blocks()),
            ("affinity", Value::string(r#"{"nodeAffinity":{}}"#)),
            (
                "timeouts",
                strings([("create", "5m"), ("update", "5m"), ("delete", "5m")]),
            ),
        ]),
    );
    // The server's refresh keeps its state and compares the objects it would apply with the
    // live ones; import reads the arguments annotation.
    let found = outcomes(&server, &base, |config, path| {
        let input = server_input(config).map_err(|d| format!("{d:?}"))?;
        let settings = crate::kyuubi::resolve(&input).ok_or("does not resolve")?;
        for object in crate::kyuubi::render_objects(&settings, None) {
            let live = as_the_api_server_returns(&object.body);
            if let Some(at) = first_difference(&object.body, &live) {
                return Err(format!(
                    "{} {} reads back as drift at {at}",
                    object.kind, object.name
                ));
            }
        }
        let arguments = arguments_json(
            config,
            kyuubi_schema::value_type(),
            kyuubi_schema::argument_names(),
        );
        let deployment =
            serde_json::json!({"metadata": {"annotations": {ARGUMENTS_ANNOTATION: arguments}}});
        let imported = state_from_arguments(&deployment, kyuubi_schema::value_type())
            .ok_or("the annotation does not read back")?;
        match imported.at(path) {
            Value::String(s) if s.is_empty() => Ok(()),
            other => Err(format!("an import reads back {other:?}")),
        }
    });
    use Empty::{Kept, Refused};
    // Kept as for the profile: empty label values (labels and node selector entries, which
    // Kubernetes keeps in its maps) and the tolerations' empty value, effect and (with
    // `Exists`) key, which it leaves out; the drift comparison takes them as unchanged and
    // the arguments annotation brings them back on import. Refused: names, images, quantities,
    // durations, paths and Kyuubi settings, where an empty string is not a value.
    let expected = [
        ("affinity", Refused),
        ("delivery", Refused),
        ("engine.file_upload_path", Refused),
        ("engine.idle_timeout", Refused),
        ("engine.image", Refused),
        ("engine.initialize_timeout", Refused),
        ("engine.namespace", Refused),
        ("engine.service_account", Refused),
        ("ha.addresses", Refused),
        ("ha.namespace", Refused),
        ("image", Refused),
        (
            "kyuubi_conf[\"kyuubi.frontend.thrift.max.worker.threads\"]",
            Refused,
        ),
        ("labels[\"team\"]", Kept),
        ("name", Refused),
        ("namespace", Refused),
        ("node_selector[\"pool\"]", Kept),
        ("resources.limits_cpu", Refused),
        ("resources.limits_memory", Refused),
        ("resources.requests_cpu", Refused),
        ("resources.requests_memory", Refused),
        ("service_type", Refused),
        ("share_level", Refused),
        ("spark_profile", Refused),
        ("timeouts.create", Refused),
        ("timeouts.delete", Refused),
        ("timeouts.update", Refused),
        ("tolerations[0].effect", Kept),
        ("tolerations[0].key", Refused),
        ("tolerations[0].operator", Refused),
        ("tolerations[0].value", Kept),
        ("tolerations[1].effect", Kept),
        ("tolerations[1].key", Kept),
        ("tolerations[1].operator", Refused),
        ("tolerations[1].value", Kept),
        ("vault_agent.annotation_prefix", Refused),
        ("vault_agent.auth_path", Refused),
        ("vault_agent.role", Refused),
    ];
    let expected: BTreeMap<String, Empty> = expected
        .into_iter()
        .map(|(p, e)| (p.to_owned(), e))
        .collect();
    assert_eq!(
        found, expected,
        "a new string attribute? Add what its \"\" does to the table"
    );
}

/// A data source has no prior state to keep a form from, and its arguments say where to read:
/// an empty one is refused at validate, at the argument, before any request.
#[test]
fn every_data_source_argument_refuses_an_empty_string() {
    let clients = Arc::new(Clients::default());
    let sources: [(Box<dyn DataSource>, Value); 2] = [
        (
            Box::new(SparkProfileData::new(clients.clone())),
            strings([("mount", "secret"), ("name", "spark/a")]),
        ),
        (
            Box::new(KyuubiServerData::new(clients)),
            strings([("name", "kyuubi-dbt"), ("namespace", "kyuubi")]),
        ),
    ];
    for (source, arguments) in sources {
        let block = source.schema().block;
        let base = with_defaults(&block, arguments);
        assert!(
            source.validate_config(&base).is_empty(),
            "{}",
            source.type_name()
        );
        let mut paths = Vec::new();
        string_paths(&block, &base, &AttributePath::root(), &mut paths);
        assert!(
            !paths.is_empty(),
            "{} has string arguments",
            source.type_name()
        );
        for path in paths {
            let mut config = base.clone();
            set_at(&mut config, &path.0, Value::string(""));
            let found: Vec<_> = source.validate_config(&config).into_iter().collect();
            let at: Vec<_> = found.iter().map(|d| d.attribute.clone()).collect();
            assert_eq!(
                at,
                [Some(path.clone())],
                "{} {path} = \"\": {found:?}",
                source.type_name()
            );
        }
    }
}
