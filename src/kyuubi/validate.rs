//! Validation of a [`ServerInput`]: every rule, each reported at the argument it concerns, with
//! the bad value, the rule and a way out.
//!
//! A value not yet known skips only the checks it feeds. Scalar arguments and the `vault_agent`
//! and `engine` blocks are checked here, `kyuubi_conf`, `ha`, `resources` and `labels` in
//! `blocks`; syntax (DNS names, durations, quantities) lives in [`super::syntax`]. Turning
//! violations into Terraform diagnostics is the resource's job.

use super::constants::{
    DEFAULT_METRICS_PORT, DEFAULT_NAMESPACE, DEFAULT_REST_PORT, DEFAULT_THRIFT_BINARY_PORT,
    EMBEDDED_ZOOKEEPER_PORT, LONGEST_NAME_SUFFIX, MAX_SERVER_NAME,
};
use super::settings::{
    ANNOTATION_PREFIXES, DELIVERY_KUBERNETES_SECRET, DELIVERY_VAULT_AGENT, Field, ServerInput,
    ServiceType, ShareLevel, parse_profile_ref,
};
use super::syntax::{
    dns1035_label_problem, dns1123_label_problem, dns1123_subdomain_problem, iso_duration_problem,
};

pub use crate::rules::{PathSegment, Violation};

fn attr(name: &'static str) -> Vec<PathSegment> {
    vec![PathSegment::Attr(name)]
}

pub(super) fn nested(block: &'static str, name: &'static str) -> Vec<PathSegment> {
    vec![PathSegment::Attr(block), PathSegment::Attr(name)]
}

/// Checks every rule and returns all violations, in argument order; empty means valid.
pub fn validate(input: &ServerInput) -> Vec<Violation> {
    let mut out = Vec::new();
    check_names(input, &mut out);
    check_enums(input, &mut out);
    check_replicas(input, &mut out);
    check_ports(input, &mut out);
    check_profile_and_delivery(input, &mut out);
    check_engine(input, &mut out);
    blocks::check_kyuubi_conf(input, &mut out);
    blocks::check_ha(input, &mut out);
    blocks::check_resources(input, &mut out);
    blocks::check_labels(input, &mut out);
    check_placement(input, &mut out);
    identity::check_identities(input, &mut out);
    out
}

pub(super) fn required(
    out: &mut Vec<Violation>,
    path: Vec<PathSegment>,
    field: &Field<String>,
    hint: &str,
) {
    if matches!(field, Field::Unset) {
        out.push(Violation::new(path, format!("is required: {hint}")));
    }
}

/// A non-empty single line without whitespace (images, paths, roles).
fn token_problem(text: &str) -> Option<&'static str> {
    if text.is_empty() {
        Some("is empty")
    } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Some("contains whitespace or control characters")
    } else if text.contains(['\\', '"']) {
        Some("contains '\\' or '\"', which the rendered configuration cannot carry as written")
    } else {
        None
    }
}

fn check_token(out: &mut Vec<Violation>, path: Vec<PathSegment>, field: &Field<String>) {
    if let Some(text) = field.value()
        && let Some(problem) = token_problem(text)
    {
        out.push(Violation::new(path, format!("{text:?} {problem}")));
    }
}

fn check_names(input: &ServerInput, out: &mut Vec<Violation>) {
    required(
        out,
        attr("name"),
        &input.name,
        "the server's name, e.g. \"kyuubi-dbt\"",
    );
    if let Some(name) = input.name.value()
        && let Some(problem) = dns1035_label_problem(name, MAX_SERVER_NAME)
    {
        out.push(Violation::new(
            attr("name"),
            format!(
                "{name:?} {problem}: the name must be a DNS-1035 label (lowercase letters, \
                 digits and '-', starting with a letter) of at most {MAX_SERVER_NAME} characters, \
                 so that the longest derived object name, \"<name>{LONGEST_NAME_SUFFIX}\", fits \
                 in 63"
            ),
        ));
    }
    if let Some(namespace) = input.namespace.value()
        && let Some(problem) = dns1123_label_problem(namespace)
    {
        out.push(Violation::new(
            attr("namespace"),
            format!("{namespace:?} {problem}: a namespace is a DNS-1123 label"),
        ));
    }
    required(
        out,
        attr("image"),
        &input.image,
        "the server image, e.g. \"apache/kyuubi:1.10.2-spark\"",
    );
    check_token(out, attr("image"), &input.image);
}

fn check_enum(
    out: &mut Vec<Violation>,
    path: Vec<PathSegment>,
    field: &Field<String>,
    allowed: &[&str],
) {
    if let Some(text) = field.value()
        && !allowed.contains(&text.as_str())
    {
        let list = allowed
            .iter()
            .map(|a| format!("{a:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Violation::new(
            path,
            format!("{text:?} is not one of {list}"),
        ));
    }
}

fn check_enums(input: &ServerInput, out: &mut Vec<Violation>) {
    let levels: Vec<&str> = ShareLevel::ALL.iter().map(|(_, t)| *t).collect();
    check_enum(out, attr("share_level"), &input.share_level, &levels);
    let types: Vec<&str> = ServiceType::ALL.iter().map(|(_, t)| *t).collect();
    check_enum(out, attr("service_type"), &input.service_type, &types);
}

fn check_replicas(input: &ServerInput, out: &mut Vec<Violation>) {
    let Some(&replicas) = input.replicas.value() else {
        return;
    };
    if !(0..=i64::from(i32::MAX)).contains(&replicas) {
        out.push(Violation::new(
            attr("replicas"),
            format!("{replicas} is out of range: use 0 (stopped) or more"),
        ));
        return;
    }
    let addresses_known_unset = match input.ha.known() {
        None => false,
        Some(None) => true,
        Some(Some(ha)) => matches!(ha.addresses, Field::Unset),
    };
    if replicas > 1 && addresses_known_unset {
        out.push(Violation::new(
            attr("replicas"),
            format!(
                "{replicas} replicas need ha.addresses: without an external ZooKeeper each \
                 server starts its own embedded one, giving {replicas} unrelated servers with \
                 their own engines; set ha {{ addresses = \"zk-0:2181,zk-1:2181\" }} or use 1 \
                 replica"
            ),
        ));
    }
}

/// One port argument: where it is, its value and default, and whether the port is opened.
struct PortArg<'a> {
    path: Vec<PathSegment>,
    field: &'a Field<i64>,
    default: Option<u16>,
    in_use: Option<bool>,
}

fn check_ports(input: &ServerInput, out: &mut Vec<Violation>) {
    let metrics = input.metrics.known();
    let metrics_enabled =
        metrics.map(|m| m.is_none_or(|m| !matches!(m.enabled, Field::Set(false))));
    let metrics_port = match metrics {
        None => &Field::Unknown,
        Some(None) => &Field::Unset,
        Some(Some(m)) => &m.port,
    };
    // In use: `None` while not known yet (metrics.enabled unknown).
    let ports = [
        PortArg {
            path: attr("thrift_binary_port"),
            field: &input.thrift_binary_port,
            default: Some(DEFAULT_THRIFT_BINARY_PORT),
            in_use: Some(true),
        },
        PortArg {
            path: attr("rest_port"),
            field: &input.rest_port,
            default: Some(DEFAULT_REST_PORT),
            in_use: Some(true),
        },
        PortArg {
            path: attr("thrift_http_port"),
            field: &input.thrift_http_port,
            default: None,
            in_use: Some(true),
        },
        PortArg {
            path: nested("metrics", "port"),
            field: metrics_port,
            default: Some(DEFAULT_METRICS_PORT),
            in_use: metrics_enabled,
        },
    ];
    let embedded_zookeeper = match input.ha.known() {
        None => false,
        Some(None) => true,
        Some(Some(ha)) => matches!(ha.addresses, Field::Unset),
    };
    let mut taken: Vec<(i64, String)> = Vec::new();
    for PortArg {
        path,
        field,
        default,
        in_use,
    } in ports
    {
        let value = match field {
            Field::Set(value) => *value,
            Field::Unset => match default {
                Some(port) => i64::from(port),
                None => continue,
            },
            Field::Unknown => continue,
        };
        let name = Violation::new(path.clone(), "").path_string();
        if !(1..=65535).contains(&value) {
            out.push(Violation::new(
                path,
                format!("{value} is not a port: use 1 to 65535"),
            ));
            continue;
        }
        if in_use != Some(true) {
            continue;
        }
        if let Some((_, other)) = taken.iter().find(|(port, _)| *port == value) {
            out.push(Violation::new(
                path,
                format!("{value} is already used by {other}: every enabled port must differ"),
            ));
            continue;
        }
        if embedded_zookeeper && value == i64::from(EMBEDDED_ZOOKEEPER_PORT) {
            out.push(Violation::new(
                path,
                format!(
                    "{value} is the port of the embedded ZooKeeper Kyuubi starts when \
                     ha.addresses is not set: choose another port"
                ),
            ));
            continue;
        }
        taken.push((value, name));
    }
}

fn check_profile_and_delivery(input: &ServerInput, out: &mut Vec<Violation>) {
    const EXAMPLE_REF: &str = "<mount>/<name>@sha256:<64 lowercase hex digits>";
    required(
        out,
        attr("spark_profile"),
        &input.spark_profile,
        &format!("a profile ref ({EXAMPLE_REF}); use konoha_spark_profile.<x>.ref"),
    );
    if let Some(text) = input.spark_profile.value()
        && parse_profile_ref(text).is_none()
    {
        out.push(Violation::new(
            attr("spark_profile"),
            format!(
                "{text:?} is not a profile ref: expected {EXAMPLE_REF}, e.g. \
                 \"secret/etl@sha256:…\"; use konoha_spark_profile.<x>.ref, which also orders \
                 the profile's write before this server"
            ),
        ));
    }
    check_enum(
        out,
        attr("delivery"),
        &input.delivery,
        &[DELIVERY_VAULT_AGENT, DELIVERY_KUBERNETES_SECRET],
    );
    let delivery = input
        .delivery
        .known()
        .map(|d| d.map_or(DELIVERY_VAULT_AGENT, String::as_str));
    match (delivery, input.vault_agent.known()) {
        (Some(DELIVERY_VAULT_AGENT), Some(None)) => out.push(Violation::new(
            attr("vault_agent"),
            "is required with delivery = \"vault-agent\": set vault_agent { role = \"…\" } to \
             the Kubernetes-auth role the injector logs in with, or use delivery = \
             \"kubernetes-secret\"",
        )),
        (Some(DELIVERY_VAULT_AGENT), Some(Some(block))) => required(
            out,
            nested("vault_agent", "role"),
            &block.role,
            "the Kubernetes-auth role the injector logs in with (bound to the server's \
             ServiceAccount, named like the server)",
        ),
        (Some(DELIVERY_KUBERNETES_SECRET), Some(Some(_))) => out.push(Violation::new(
            attr("vault_agent"),
            "applies only with delivery = \"vault-agent\": remove the block, or change delivery",
        )),
        _ => {}
    }
    if let Some(Some(block)) = input.vault_agent.known() {
        check_token(out, nested("vault_agent", "role"), &block.role);
        check_token(out, nested("vault_agent", "auth_path"), &block.auth_path);
        if let Some(path) = block.auth_path.value()
            && (path.starts_with('/') || path.ends_with('/'))
        {
            out.push(Violation::new(
                nested("vault_agent", "auth_path"),
                format!("{path:?} starts or ends with '/': write it like \"auth/kubernetes\""),
            ));
        }
        check_enum(
            out,
            nested("vault_agent", "annotation_prefix"),
            &block.annotation_prefix,
            &ANNOTATION_PREFIXES,
        );
    }
}

/// What a missing engine image is told: Spark on Kubernetes refuses to create a driver or
/// executor without `spark.kubernetes.container.image`, so every session would fail.
const ENGINE_IMAGE_HINT: &str = "the Spark image drivers and executors run, e.g. \
    \"apache/spark:3.5.3\": Spark on Kubernetes starts no engine without one";

fn check_engine(input: &ServerInput, out: &mut Vec<Violation>) {
    let engine = match &input.engine {
        Field::Unknown => return,
        Field::Unset => {
            out.push(Violation::new(
                nested("engine", "image"),
                format!("is required: {ENGINE_IMAGE_HINT}"),
            ));
            return;
        }
        Field::Set(engine) => engine,
    };
    required(
        out,
        nested("engine", "image"),
        &engine.image,
        ENGINE_IMAGE_HINT,
    );
    if let Some(namespace) = engine.namespace.value()
        && let Some(problem) = dns1123_label_problem(namespace)
    {
        out.push(Violation::new(
            nested("engine", "namespace"),
            format!("{namespace:?} {problem}: a namespace is a DNS-1123 label"),
        ));
    }
    if let Some(account) = engine.service_account.value()
        && let Some(problem) = dns1123_subdomain_problem(account)
    {
        out.push(Violation::new(
            nested("engine", "service_account"),
            format!("{account:?} {problem}: a ServiceAccount name is a DNS-1123 subdomain"),
        ));
    }
    // The drivers' ServiceAccount must not be the server's: it would get the driver Role on top
    // of the server's, and deleting one set of objects would delete the other's account.
    if let (Some(account), Some(name)) = (engine.service_account.value(), input.name.value()) {
        let server_namespace = input
            .namespace
            .known()
            .map(|n| n.map_or(DEFAULT_NAMESPACE, String::as_str));
        let engine_namespace = match engine.namespace.known() {
            None => None,
            Some(Some(namespace)) => Some(namespace.as_str()),
            Some(None) => server_namespace,
        };
        if account == name && server_namespace.is_some() && engine_namespace == server_namespace {
            out.push(Violation::new(
                nested("engine", "service_account"),
                format!(
                    "{account:?} is the server's own ServiceAccount: drivers need their own, \
                     e.g. \"{name}-spark\" (the default)"
                ),
            ));
        }
    }
    check_token(out, nested("engine", "image"), &engine.image);
    check_token(
        out,
        nested("engine", "file_upload_path"),
        &engine.file_upload_path,
    );
    for (name, field) in [
        ("idle_timeout", &engine.idle_timeout),
        ("initialize_timeout", &engine.initialize_timeout),
    ] {
        if let Some(text) = field.value()
            && let Some(problem) = iso_duration_problem(text)
        {
            out.push(Violation::new(
                nested("engine", name),
                format!("{text:?} {problem}"),
            ));
        }
    }
}

/// `node_selector`, `tolerations` and `affinity`: the shared placement rules.
fn check_placement(input: &ServerInput, out: &mut Vec<Violation>) {
    crate::placement::check_node_selector("node_selector", &input.node_selector, out);
    crate::placement::check_tolerations("tolerations", &input.tolerations, out);
    if let Some(text) = input.affinity.value()
        && let Some(problem) = crate::placement::affinity_problem(text)
    {
        out.push(Violation::new(
            attr("affinity"),
            format!("the value {problem}"),
        ));
    }
}

mod blocks;
mod identity;

#[cfg(test)]
mod tests;
