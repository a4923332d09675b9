//! Spark property keys: the ones typed attributes render, the ones the Kyuubi server owns, and
//! the rules for `extra_conf` entries.
//!
//! Which value goes under which key is [`super::render`]'s job; this module only names keys and
//! judges the keys and values a user adds by hand.

use std::collections::BTreeMap;

use super::profile::Field;
use super::violation::{PathSegment, Violation};

/// `spark.executor.instances`.
pub const EXECUTOR_INSTANCES: &str = "spark.executor.instances";
/// `spark.executor.memory`.
pub const EXECUTOR_MEMORY: &str = "spark.executor.memory";
/// `spark.executor.memoryOverhead`.
pub const EXECUTOR_MEMORY_OVERHEAD: &str = "spark.executor.memoryOverhead";
/// `spark.executor.cores`.
pub const EXECUTOR_CORES: &str = "spark.executor.cores";
/// `spark.kubernetes.executor.request.cores`.
pub const EXECUTOR_REQUEST_CORES: &str = "spark.kubernetes.executor.request.cores";
/// `spark.kubernetes.executor.limit.cores`.
pub const EXECUTOR_LIMIT_CORES: &str = "spark.kubernetes.executor.limit.cores";
/// `spark.sql.shuffle.partitions`.
pub const SHUFFLE_PARTITIONS: &str = "spark.sql.shuffle.partitions";
/// `spark.dynamicAllocation.enabled`.
pub const DA_ENABLED: &str = "spark.dynamicAllocation.enabled";
/// `spark.dynamicAllocation.minExecutors`.
pub const DA_MIN_EXECUTORS: &str = "spark.dynamicAllocation.minExecutors";
/// `spark.dynamicAllocation.initialExecutors`.
pub const DA_INITIAL_EXECUTORS: &str = "spark.dynamicAllocation.initialExecutors";
/// `spark.dynamicAllocation.maxExecutors`.
pub const DA_MAX_EXECUTORS: &str = "spark.dynamicAllocation.maxExecutors";
/// `spark.dynamicAllocation.shuffleTracking.enabled`.
pub const DA_SHUFFLE_TRACKING: &str = "spark.dynamicAllocation.shuffleTracking.enabled";
/// `spark.speculation`.
pub const SPECULATION: &str = "spark.speculation";
/// `spark.executor.resource.gpu.amount`.
pub const GPU_AMOUNT: &str = "spark.executor.resource.gpu.amount";
/// `spark.executor.resource.gpu.vendor`.
pub const GPU_VENDOR: &str = "spark.executor.resource.gpu.vendor";
// The two keys below are Spark 3.5's names for resource `gpu`, from "Custom Resource Scheduling
// and Configuration Overview" in https://spark.apache.org/docs/3.5.1/configuration.html
// (`spark.executor.resource.{resourceName}.discoveryScript`,
// `spark.task.resource.{resourceName}.amount`) and "Resource Allocation and Configuration
// Overview" in https://spark.apache.org/docs/3.5.1/running-on-kubernetes.html, which says
// Kubernetes does not tell an executor its GPUs' addresses, so the script must.
/// `spark.executor.resource.gpu.discoveryScript`: the script an executor runs at start to learn
/// which GPUs it was given.
pub const GPU_DISCOVERY_SCRIPT: &str = "spark.executor.resource.gpu.discoveryScript";
/// `spark.task.resource.gpu.amount`: the GPUs each task takes, whole or a share of one.
pub const TASK_GPU_AMOUNT: &str = "spark.task.resource.gpu.amount";

/// Prefix of `spark.kubernetes.executor.node.selector.<label key>`, one property per label:
/// the executor-only node selector, added in Spark 3.3.0 (SPARK-36075, apache/spark#33283;
/// "Running on Kubernetes", Spark Properties table). The older `spark.kubernetes.node.selector.*`
/// would pin the driver to the same nodes too.
pub const EXECUTOR_NODE_SELECTOR_PREFIX: &str = "spark.kubernetes.executor.node.selector.";
/// The executors' tolerations as one compact JSON array. Spark has no property for
/// tolerations, only the executor pod template; the Kyuubi server's start script moves this
/// line into the template it writes and leaves every `konoha.*` line out of
/// `kyuubi-defaults.conf`. Not a Spark property, so no `spark.` key a user writes can clash.
pub const EXECUTOR_TOLERATIONS: &str = "konoha.executor.tolerations";

/// Every key rendering can produce from a typed attribute, with the attribute to use instead.
const TYPED: [(&str, &str); 17] = [
    (EXECUTOR_INSTANCES, "executor_instances"),
    (EXECUTOR_MEMORY, "executor_memory"),
    (EXECUTOR_MEMORY_OVERHEAD, "executor_memory_overhead"),
    (EXECUTOR_CORES, "executor_cores"),
    (EXECUTOR_REQUEST_CORES, "executor_request_cores"),
    (EXECUTOR_LIMIT_CORES, "executor_limit_cores"),
    (SHUFFLE_PARTITIONS, "shuffle_partitions"),
    (DA_ENABLED, "dynamic_allocation.enabled"),
    (DA_MIN_EXECUTORS, "dynamic_allocation.min_executors"),
    (DA_INITIAL_EXECUTORS, "dynamic_allocation.initial_executors"),
    (DA_MAX_EXECUTORS, "dynamic_allocation.max_executors"),
    // Konoha writes it whenever dynamic allocation is on: Kubernetes has no external shuffle
    // service, so it is the only way dynamic allocation works there.
    (DA_SHUFFLE_TRACKING, "dynamic_allocation.enabled"),
    (SPECULATION, "speculation"),
    (GPU_AMOUNT, "gpu.amount"),
    (GPU_VENDOR, "gpu.vendor"),
    (GPU_DISCOVERY_SCRIPT, "gpu.discovery_script"),
    (TASK_GPU_AMOUNT, "gpu.task_amount"),
];

const TYPED_KEYS: [&str; TYPED.len()] = {
    let mut keys = [""; TYPED.len()];
    let mut i = 0;
    while i < TYPED.len() {
        keys[i] = TYPED[i].0;
        i += 1;
    }
    keys
};

/// Keys the `konoha_kyuubi_server` sets for its engines (master, cluster deploy mode, image,
/// namespace, service accounts, upload path, pod templates: Kyuubi's required Kubernetes
/// settings and the engines' pod security; and the driver label `restart_engines` finds a
/// server's drivers by). A profile that set them would fight the server.
const SERVER_OWNED: [&str; 12] = [
    "spark.master",
    "spark.submit.deployMode",
    "spark.kubernetes.container.image",
    "spark.kubernetes.driver.container.image",
    "spark.kubernetes.executor.container.image",
    "spark.kubernetes.namespace",
    "spark.kubernetes.authenticate.driver.serviceAccountName",
    "spark.kubernetes.authenticate.executor.serviceAccountName",
    "spark.kubernetes.file.upload.path",
    "spark.kubernetes.driver.label.konoha.io/kyuubi-server",
    // The server's pod templates, which make its engines meet Pod Security `restricted`.
    "spark.kubernetes.driver.podTemplateFile",
    "spark.kubernetes.executor.podTemplateFile",
];

/// Every key rendering can produce from a typed attribute; `extra_conf` may not repeat them.
pub fn typed_keys() -> &'static [&'static str] {
    &TYPED_KEYS
}

/// Whether rendering produces `key` from an attribute: a typed key, an executor node-selector
/// label or the tolerations line. Refresh maps the other stored keys to `extra_conf`.
pub fn is_rendered_key(key: &str) -> bool {
    TYPED_KEYS.contains(&key)
        || key.starts_with(EXECUTOR_NODE_SELECTOR_PREFIX)
        || key == EXECUTOR_TOLERATIONS
}

/// Keys the Kyuubi server sets; `extra_conf` may not set them.
pub fn server_owned_keys() -> &'static [&'static str] {
    &SERVER_OWNED
}

/// The typed attribute that renders `key`, if any: `"spark.executor.memory"` →
/// `"executor_memory"`.
pub fn typed_attribute(key: &str) -> Option<&'static str> {
    TYPED
        .iter()
        .find(|(typed, _)| *typed == key)
        .map(|(_, attribute)| *attribute)
}

/// Checks `extra_conf`: keys are Spark properties that fit on a `key=value` line and belong
/// neither to a typed attribute nor to the server; values are non-empty single lines that a
/// Java properties reader keeps as written.
pub(crate) fn check_extra_conf(
    extra_conf: &Field<BTreeMap<String, Field<String>>>,
    out: &mut Vec<Violation>,
) {
    check_conf_map("extra_conf", extra_conf, ValueShown::Yes, out);
}

/// Whether a message may quote a map's values: never for secret settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueShown {
    /// Plain settings: the message quotes the bad value.
    Yes,
    /// Secret settings: the message names the key only.
    No,
}

/// The `extra_conf` rules for any map of Spark properties called `attribute`.
pub(crate) fn check_conf_map(
    attribute: &'static str,
    entries: &Field<BTreeMap<String, Field<String>>>,
    shown: ValueShown,
    out: &mut Vec<Violation>,
) {
    let Some(entries) = entries.value() else {
        return;
    };
    for (key, value) in entries {
        let path = || vec![PathSegment::Attr(attribute), PathSegment::Key(key.clone())];
        if let Some(problem) = key_problem(attribute, key) {
            out.push(Violation::new(path(), problem));
        }
        match value {
            Field::Unknown => {}
            Field::Unset => out.push(Violation::new(
                path(),
                format!("the value of {key:?} is null: give a value or remove the key"),
            )),
            Field::Set(text) => {
                if let Some(problem) = value_problem(text) {
                    let message = match shown {
                        ValueShown::Yes => format!("the value {text:?} of {key:?} {problem}"),
                        ValueShown::No => format!("the value of {key:?} {problem}"),
                    };
                    out.push(Violation::new(path(), message));
                }
            }
        }
    }
}

/// The first thing wrong with a key of the map `attribute`, as a full message.
fn key_problem(attribute: &str, key: &str) -> Option<String> {
    if !key.starts_with("spark.") || key.len() == "spark.".len() {
        return Some(format!(
            "{key:?} is not a Spark property: {attribute} keys start with \"spark.\" \
             (e.g. \"spark.sql.adaptive.enabled\"); Kyuubi settings belong in the server's kyuubi_conf"
        ));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '=' | ':' | '\\'))
    {
        return Some(format!(
            "{key:?} contains {bad:?}, which would end or alter the key in the spark.env \
             properties file: Spark property names have no whitespace, '=', ':' or '\\'"
        ));
    }
    if key.starts_with(EXECUTOR_NODE_SELECTOR_PREFIX) {
        return Some(format!(
            "{key:?} is an executor node-selector label: set executor_node_selector instead \
             of writing it in {attribute}"
        ));
    }
    if let Some(typed) = typed_attribute(key) {
        return Some(format!(
            "{key:?} is rendered from a typed attribute: set {typed} instead of repeating it \
             in {attribute}"
        ));
    }
    if SERVER_OWNED.contains(&key) {
        return Some(format!(
            "{key:?} is set by the Kyuubi server (konoha_kyuubi_server) for every engine: \
             remove it from the profile"
        ));
    }
    None
}

/// What is wrong with an `extra_conf` value; completes "the value … of … ". Typed string
/// settings written verbatim (a GPU discovery script's path) are held to the same rules.
pub(crate) fn value_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("is empty: give a value or remove the key")
    } else if value.chars().any(char::is_control) {
        Some(
            "is not a single printable line: line breaks and control characters would break the spark.env file",
        )
    } else if value.trim() != value {
        Some("has leading or trailing whitespace, which Spark trims: remove it")
    } else if value.contains('\\') {
        Some(
            "contains '\\', which the Java properties reader takes as an escape: write the value without it",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(entries: &[(&str, Field<&str>)]) -> Vec<(String, String)> {
        let map = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_ref().map(|s| s.to_string())))
            .collect();
        let mut out = Vec::new();
        check_extra_conf(&Field::Set(map), &mut out);
        out.into_iter()
            .map(|v| (v.path_string(), v.message))
            .collect()
    }

    #[test]
    fn accepts_ordinary_spark_properties() {
        let ok = [
            ("spark.sql.adaptive.enabled", Field::Set("true")),
            (
                "spark.hadoop.fs.s3a.endpoint",
                Field::Set("http://minio:9000"),
            ),
            ("spark.driver.extraJavaOptions", Field::Set("-Da=b -Dc=d")),
            ("spark.executor.memoryOverheadFactor", Field::Set("0.2")),
            ("spark.x", Field::Unknown),
        ];
        assert_eq!(check(&ok), vec![]);
        let mut out = Vec::new();
        check_extra_conf(&Field::Unknown, &mut out);
        check_extra_conf(&Field::Unset, &mut out);
        assert_eq!(out, vec![]);
    }

    #[test]
    fn refuses_bad_keys_with_the_reason_and_the_way_out() {
        let cases: &[(&str, &str)] = &[
            (
                "executor.memory",
                "\"executor.memory\" is not a Spark property: extra_conf keys start with \"spark.\" (e.g. \"spark.sql.adaptive.enabled\"); Kyuubi settings belong in the server's kyuubi_conf",
            ),
            (
                "spark.",
                "\"spark.\" is not a Spark property: extra_conf keys start with \"spark.\" (e.g. \"spark.sql.adaptive.enabled\"); Kyuubi settings belong in the server's kyuubi_conf",
            ),
            (
                "spark.a b",
                "\"spark.a b\" contains ' ', which would end or alter the key in the spark.env properties file: Spark property names have no whitespace, '=', ':' or '\\'",
            ),
            (
                "spark.a=b",
                "\"spark.a=b\" contains '=', which would end or alter the key in the spark.env properties file: Spark property names have no whitespace, '=', ':' or '\\'",
            ),
            (
                "spark.a:b",
                "\"spark.a:b\" contains ':', which would end or alter the key in the spark.env properties file: Spark property names have no whitespace, '=', ':' or '\\'",
            ),
            (
                "spark.a\nb",
                "\"spark.a\\nb\" contains '\\n', which would end or alter the key in the spark.env properties file: Spark property names have no whitespace, '=', ':' or '\\'",
            ),
            (
                "spark.executor.memory",
                "\"spark.executor.memory\" is rendered from a typed attribute: set executor_memory instead of repeating it in extra_conf",
            ),
            (
                "spark.dynamicAllocation.maxExecutors",
                "\"spark.dynamicAllocation.maxExecutors\" is rendered from a typed attribute: set dynamic_allocation.max_executors instead of repeating it in extra_conf",
            ),
            (
                "spark.master",
                "\"spark.master\" is set by the Kyuubi server (konoha_kyuubi_server) for every engine: remove it from the profile",
            ),
            (
                "spark.kubernetes.file.upload.path",
                "\"spark.kubernetes.file.upload.path\" is set by the Kyuubi server (konoha_kyuubi_server) for every engine: remove it from the profile",
            ),
        ];
        for (key, message) in cases {
            let expected = vec![(format!("extra_conf[{key:?}]"), message.to_string())];
            assert_eq!(check(&[(key, Field::Set("v"))]), expected, "{key:?}");
        }
    }

    #[test]
    fn refuses_bad_values() {
        let cases: &[(Field<&str>, &str)] = &[
            (
                Field::Unset,
                "the value of \"spark.a\" is null: give a value or remove the key",
            ),
            (
                Field::Set(""),
                "the value \"\" of \"spark.a\" is empty: give a value or remove the key",
            ),
            (
                Field::Set("a\nb"),
                "the value \"a\\nb\" of \"spark.a\" is not a single printable line: line breaks and control characters would break the spark.env file",
            ),
            (
                Field::Set("a\rb"),
                "the value \"a\\rb\" of \"spark.a\" is not a single printable line: line breaks and control characters would break the spark.env file",
            ),
            (
                Field::Set(" a"),
                "the value \" a\" of \"spark.a\" has leading or trailing whitespace, which Spark trims: remove it",
            ),
            (
                Field::Set("a\\d"),
                "the value \"a\\\\d\" of \"spark.a\" contains '\\', which the Java properties reader takes as an escape: write the value without it",
            ),
        ];
        for (value, message) in cases {
            let expected = vec![("extra_conf[\"spark.a\"]".to_owned(), message.to_string())];
            assert_eq!(check(&[("spark.a", value.clone())]), expected, "{value:?}");
        }
    }

    #[test]
    fn key_tables() {
        assert_eq!(typed_keys().len(), 17);
        assert!(typed_keys().iter().all(|k| typed_attribute(k).is_some()));
        assert!(
            server_owned_keys()
                .iter()
                .all(|k| typed_attribute(k).is_none())
        );
        assert_eq!(
            typed_attribute("spark.sql.shuffle.partitions"),
            Some("shuffle_partitions")
        );
        assert_eq!(typed_attribute("spark.other"), None);
    }
}
