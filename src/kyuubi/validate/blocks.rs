//! Validation of the map and block arguments: `kyuubi_conf`, `ha`, `resources` and `labels`.
//!
//! Part of [`super`], which runs these after the scalar arguments; syntax helpers live in
//! [`crate::kyuubi::syntax`].

use std::collections::BTreeMap;

use super::{PathSegment, Violation, nested, required};
use crate::kyuubi::constants::{PROVIDER_KEY_PREFIX, PROVIDER_KYUUBI_KEYS, PROVIDER_LABELS};
use crate::kyuubi::settings::{Field, ServerInput};
use crate::kyuubi::syntax::{label_key_problem, label_value_problem, parse_quantity_nanos};

fn provider_keys_list() -> String {
    PROVIDER_KYUUBI_KEYS
        .iter()
        .map(|(key, _)| *key)
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) fn check_kyuubi_conf(input: &ServerInput, out: &mut Vec<Violation>) {
    let Some(entries) = input.kyuubi_conf.value() else {
        return;
    };
    for (key, value) in entries {
        let path = || {
            vec![
                PathSegment::Attr("kyuubi_conf"),
                PathSegment::Key(key.clone()),
            ]
        };
        if !key.starts_with("kyuubi.") || key.len() == "kyuubi.".len() {
            out.push(Violation::new(
                path(),
                format!(
                    "{key:?} is not a Kyuubi setting: keys start with \"kyuubi.\"; Spark \
                     settings belong in the konoha_spark_profile"
                ),
            ));
        } else if key.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '=' | ':' | '\\' | '#' | '!')
        }) {
            out.push(Violation::new(
                path(),
                format!(
                    "{key:?} contains whitespace or one of = : \\ # !, which a properties file \
                     reads differently"
                ),
            ));
        } else if let Some((_, argument)) = PROVIDER_KYUUBI_KEYS.iter().find(|(k, _)| k == key) {
            let instead = if argument.is_empty() {
                "konoha fixes its value".to_owned()
            } else {
                format!("set {argument} instead")
            };
            out.push(Violation::new(
                path(),
                format!(
                    "{key:?} is set by the provider ({instead}); kyuubi_conf may not set any of: {}",
                    provider_keys_list()
                ),
            ));
        }
        if let Some(text) = value.value() {
            if text.contains(['\n', '\r']) {
                out.push(Violation::new(
                    path(),
                    "the value spans lines: kyuubi-defaults.conf holds one key=value per line",
                ));
            } else if text.is_empty() {
                out.push(Violation::new(
                    path(),
                    "the value is empty: remove the entry instead",
                ));
            } else if text.contains('\\') || text.starts_with(char::is_whitespace) {
                out.push(Violation::new(
                    path(),
                    format!(
                        "{text:?} starts with whitespace or contains '\\', which a properties \
                         file would not keep as written"
                    ),
                ));
            } else if text.chars().any(char::is_control) {
                out.push(Violation::new(
                    path(),
                    "the value contains control characters",
                ));
            }
        }
    }
}

pub(super) fn check_ha(input: &ServerInput, out: &mut Vec<Violation>) {
    let Some(ha) = input.ha.value() else {
        return;
    };
    required(
        out,
        nested("ha", "addresses"),
        &ha.addresses,
        "the discovery ensemble, e.g. \"zk-0:2181,zk-1:2181\"",
    );
    if let Some(addresses) = ha.addresses.value()
        && (addresses.split(',').any(|a| a.is_empty())
            || addresses
                .chars()
                .any(|c| c.is_whitespace() || c.is_control()))
    {
        out.push(Violation::new(
            nested("ha", "addresses"),
            format!(
                "{addresses:?} is not a comma-separated list of endpoints without spaces, e.g. \
                 \"zk-0:2181,zk-1:2181\""
            ),
        ));
    }
    if let Some(namespace) = ha.namespace.value()
        && (namespace.is_empty()
            || namespace == "."
            || namespace == ".."
            || !namespace
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')))
    {
        out.push(Violation::new(
            nested("ha", "namespace"),
            format!(
                "{namespace:?} is not a ZooKeeper node name: use letters, digits, '-', '_' and \
                 '.', e.g. \"kyuubi-dbt\""
            ),
        ));
    }
}

pub(super) fn check_resources(input: &ServerInput, out: &mut Vec<Violation>) {
    let Some(resources) = input.resources.value() else {
        return;
    };
    let mut parse = |name: &'static str, field: &Field<String>| -> Option<(u128, String)> {
        let text = field.value()?;
        match parse_quantity_nanos(text) {
            Ok(nanos) => Some((nanos, text.clone())),
            Err(problem) => {
                out.push(Violation::new(
                    nested("resources", name),
                    format!("{text:?} {problem}"),
                ));
                None
            }
        }
    };
    let pairs = [
        (
            parse("requests_cpu", &resources.requests_cpu),
            parse("limits_cpu", &resources.limits_cpu),
            "requests_cpu",
            "CPU",
        ),
        (
            parse("requests_memory", &resources.requests_memory),
            parse("limits_memory", &resources.limits_memory),
            "requests_memory",
            "memory",
        ),
    ];
    for (request, limit, at, what) in pairs {
        if let (Some((request, request_text)), Some((limit, limit_text))) = (request, limit)
            && request > limit
        {
            out.push(Violation::new(
                nested("resources", at),
                format!(
                    "the {what} request {request_text:?} is above the limit {limit_text:?}: \
                     Kubernetes rejects such a pod; make the request at most the limit"
                ),
            ));
        }
    }
}

pub(super) fn check_labels(input: &ServerInput, out: &mut Vec<Violation>) {
    let Some(labels) = input.labels.value() else {
        return;
    };
    check_label_map(labels, out);
}

fn check_label_map(labels: &BTreeMap<String, Field<String>>, out: &mut Vec<Violation>) {
    for (key, value) in labels {
        let path = || vec![PathSegment::Attr("labels"), PathSegment::Key(key.clone())];
        if PROVIDER_LABELS.contains(&key.as_str()) {
            out.push(Violation::new(
                path(),
                format!(
                    "{key:?} is set by the provider on every object (with {}); choose another key",
                    PROVIDER_LABELS.join(", ")
                ),
            ));
        } else if key.starts_with(PROVIDER_KEY_PREFIX) {
            out.push(Violation::new(
                path(),
                format!(
                    "{key:?} has the prefix {PROVIDER_KEY_PREFIX:?}, which is the provider's (its \
                     labels find this server's pods and Spark drivers); choose another prefix"
                ),
            ));
        } else if let Some(problem) = label_key_problem(key) {
            out.push(Violation::new(
                path(),
                format!("{key:?} is not a label key: it {problem}"),
            ));
        }
        if let Some(text) = value.value()
            && let Some(problem) = label_value_problem(text)
        {
            out.push(Violation::new(
                path(),
                format!("{text:?} is not a label value: it {problem}"),
            ));
        }
    }
}
