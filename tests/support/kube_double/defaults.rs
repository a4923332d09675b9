//! Defaulting and validation, as kube-apiserver does them on every write, for the fields konoha's
//! objects use (recording 10 shows the Deployment defaults).
//!
//! Leaves out admission plugins (service-account token mounts, limit ranges), most of the
//! validation rules (only names, label values, config keys, the Deployment selector and required
//! container fields are checked) and cluster-IP allocation, which the store does.

use super::schema::{self, Kind, ListType};
use super::status::Cause;
use base64::Engine as _;
use serde_json::{Map, Value, json};

fn obj<'a>(parent: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let slot = parent.entry(key.to_owned()).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut()
        .unwrap_or_else(|| unreachable!("just made an object"))
}

fn or_insert(m: &mut Map<String, Value>, key: &str, v: Value) {
    m.entry(key.to_owned()).or_insert(v);
}

fn each_item(m: &mut Map<String, Value>, key: &str, mut f: impl FnMut(&mut Map<String, Value>)) {
    if let Some(Value::Array(items)) = m.get_mut(key) {
        items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(&mut f);
    }
}

/// Fills in what the server defaults for `kind`.
pub(crate) fn apply(kind: Kind, object: &mut Value) {
    let Some(root) = object.as_object_mut() else {
        return;
    };
    match kind {
        Kind::Deployment => deployment(obj(root, "spec")),
        Kind::Pod => pod_spec(obj(root, "spec")),
        Kind::Service => service(obj(root, "spec")),
        Kind::Secret => secret(root),
        Kind::RoleBinding => each_item(root, "subjects", |s| {
            if matches!(
                s.get("kind").and_then(Value::as_str),
                Some("User" | "Group")
            ) {
                or_insert(s, "apiGroup", json!("rbac.authorization.k8s.io"));
            }
        }),
        Kind::Event => {
            // Fields of the v1 Event type without omitempty: written by the server, owned by nobody.
            or_insert(root, "eventTime", Value::Null);
            or_insert(root, "reportingComponent", json!(""));
            or_insert(root, "reportingInstance", json!(""));
        }
        _ => {}
    }
}

fn deployment(spec: &mut Map<String, Value>) {
    or_insert(spec, "replicas", json!(1));
    let strategy = obj(spec, "strategy");
    or_insert(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type") == Some(&json!("RollingUpdate")) {
        let rolling = obj(strategy, "rollingUpdate");
        or_insert(rolling, "maxUnavailable", json!("25%"));
        or_insert(rolling, "maxSurge", json!("25%"));
    }
    or_insert(spec, "revisionHistoryLimit", json!(10));
    or_insert(spec, "progressDeadlineSeconds", json!(600));
    let template = obj(spec, "template");
    // The pod template's ObjectMeta is not a pointer in Go, so its zero timestamp shows as null.
    or_insert(obj(template, "metadata"), "creationTimestamp", Value::Null);
    pod_spec(obj(template, "spec"));
}

fn pod_spec(spec: &mut Map<String, Value>) {
    or_insert(spec, "restartPolicy", json!("Always"));
    or_insert(spec, "terminationGracePeriodSeconds", json!(30));
    or_insert(spec, "dnsPolicy", json!("ClusterFirst"));
    or_insert(spec, "securityContext", json!({}));
    or_insert(spec, "schedulerName", json!("default-scheduler"));
    if let Some(sa) = spec.get("serviceAccountName").cloned() {
        or_insert(spec, "serviceAccount", sa);
    }
    each_item(spec, "containers", container);
    each_item(spec, "initContainers", container);
    each_item(spec, "volumes", |v| {
        for source in ["configMap", "secret", "projected"] {
            if let Some(Value::Object(s)) = v.get_mut(source) {
                or_insert(s, "defaultMode", json!(420));
            }
        }
    });
}

fn container(c: &mut Map<String, Value>) {
    or_insert(c, "resources", json!({}));
    or_insert(c, "terminationMessagePath", json!("/dev/termination-log"));
    or_insert(c, "terminationMessagePolicy", json!("File"));
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let tag = image.rsplit('/').next().unwrap_or("");
    let latest = !image.contains('@') && (!tag.contains(':') || tag.ends_with(":latest"));
    let policy = if latest { "Always" } else { "IfNotPresent" };
    or_insert(c, "imagePullPolicy", json!(policy));
    each_item(c, "ports", |p| or_insert(p, "protocol", json!("TCP")));
    each_item(c, "env", |e| {
        if let Some(Value::Object(from)) = e.get_mut("valueFrom")
            && let Some(Value::Object(field)) = from.get_mut("fieldRef")
        {
            or_insert(field, "apiVersion", json!("v1"));
        }
    });
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(Value::Object(p)) = c.get_mut(probe) {
            or_insert(p, "timeoutSeconds", json!(1));
            or_insert(p, "periodSeconds", json!(10));
            or_insert(p, "successThreshold", json!(1));
            or_insert(p, "failureThreshold", json!(3));
            if let Some(Value::Object(get)) = p.get_mut("httpGet") {
                or_insert(get, "scheme", json!("HTTP"));
            }
        }
    }
}

fn service(spec: &mut Map<String, Value>) {
    or_insert(spec, "type", json!("ClusterIP"));
    or_insert(spec, "sessionAffinity", json!("None"));
    or_insert(spec, "ipFamilies", json!(["IPv4"]));
    or_insert(spec, "ipFamilyPolicy", json!("SingleStack"));
    or_insert(spec, "internalTrafficPolicy", json!("Cluster"));
    each_item(spec, "ports", |p| {
        or_insert(p, "protocol", json!("TCP"));
        if let Some(port) = p.get("port").cloned() {
            or_insert(p, "targetPort", port);
        }
    });
}

fn secret(root: &mut Map<String, Value>) {
    or_insert(root, "type", json!("Opaque"));
    // stringData is write-only: the server folds it into data and never stores it.
    if let Some(Value::Object(plain)) = root.remove("stringData") {
        let data = obj(root, "data");
        for (k, v) in plain {
            let text = v.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            data.insert(k, json!(encoded));
        }
    }
}

const DNS1123_SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1035_LABEL: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn dns_label_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| lower_alnum(c) || c == '-')
        && s.starts_with(lower_alnum)
        && s.ends_with(lower_alnum)
}

fn invalid(field: &str, value: &str, why: &str) -> Cause {
    Cause {
        reason: "FieldValueInvalid",
        message: format!("Invalid value: {value:?}: {why}"),
        field: field.to_owned(),
    }
}

fn required(field: &str) -> Cause {
    Cause {
        reason: "FieldValueRequired",
        message: "Required value".into(),
        field: field.to_owned(),
    }
}

/// What is wrong with `name` as the name of a `kind` object.
pub(crate) fn name_errors(kind: Kind, name: &str) -> Vec<Cause> {
    let field = "metadata.name";
    match kind {
        Kind::Role | Kind::RoleBinding => {
            let why = match name {
                "." | ".." => Some(format!("may not be '{name}'")),
                _ if name.contains('/') => Some("may not contain '/'".into()),
                _ if name.contains('%') => Some("may not contain '%'".into()),
                _ => None,
            };
            why.map(|w| invalid(field, name, &w)).into_iter().collect()
        }
        Kind::Service => {
            let mut out = Vec::new();
            if name.len() > 63 {
                out.push(invalid(field, name, "must be no more than 63 characters"));
            }
            if !dns_label_ok(name) || !name.starts_with(|c: char| c.is_ascii_lowercase()) {
                out.push(invalid(field, name, DNS1035_LABEL));
            }
            out
        }
        _ => {
            let mut out = Vec::new();
            if name.len() > 253 {
                out.push(invalid(field, name, "must be no more than 253 characters"));
            }
            if !name.split('.').all(dns_label_ok) {
                out.push(invalid(field, name, DNS1123_SUBDOMAIN));
            }
            out
        }
    }
}

fn label_errors(field: &str, labels: Option<&Value>, out: &mut Vec<Cause>) {
    let Some(Value::Object(labels)) = labels else {
        return;
    };
    for v in labels.values() {
        let v = v.as_str().unwrap_or_default();
        let ok = v.is_empty()
            || (v
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && v.starts_with(|c: char| c.is_ascii_alphanumeric())
                && v.ends_with(|c: char| c.is_ascii_alphanumeric()));
        if v.len() > 63 {
            out.push(invalid(field, v, "must be no more than 63 characters"));
        }
        if !ok {
            out.push(invalid(field, v, LABEL_VALUE));
        }
    }
}

/// `map[string]string{"a":"b"}`: how Go prints a label map in validation messages.
fn go_map(m: Option<&Value>) -> String {
    let pairs: Vec<String> = m
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k:?}:{v}")).collect())
        .unwrap_or_default();
    format!("map[string]string{{{}}}", pairs.join(", "))
}

/// Validation errors of a defaulted object (name errors excluded: see [`name_errors`]).
pub(crate) fn validate(kind: Kind, o: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    label_errors("metadata.labels", o.pointer("/metadata/labels"), &mut out);
    match kind {
        Kind::ConfigMap | Kind::Secret => {
            for field in ["data", "binaryData"] {
                let keys = o.get(field).and_then(Value::as_object);
                for k in keys.into_iter().flat_map(Map::keys) {
                    let ok = !k.is_empty()
                        && k.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
                    if !ok {
                        out.push(invalid(&format!("{field}[{k}]"), k, CONFIG_KEY));
                    }
                }
            }
        }
        Kind::Deployment => {
            let template_labels = o.pointer("/spec/template/metadata/labels");
            label_errors("spec.template.metadata.labels", template_labels, &mut out);
            match o
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object)
            {
                None => out.push(required("spec.selector")),
                Some(sel) => {
                    let labels = template_labels.and_then(Value::as_object);
                    let matched = sel
                        .iter()
                        .all(|(k, v)| labels.and_then(|l| l.get(k)) == Some(v));
                    if !matched || sel.is_empty() {
                        out.push(Cause {
                            reason: "FieldValueInvalid",
                            message: format!(
                                "Invalid value: {}: `selector` does not match template `labels`",
                                go_map(template_labels)
                            ),
                            field: "spec.template.metadata.labels".into(),
                        });
                    }
                }
            }
            containers(
                "spec.template.spec",
                o.pointer("/spec/template/spec"),
                &mut out,
            );
        }
        Kind::Pod => containers("spec", o.get("spec"), &mut out),
        _ => {}
    }
    out
}

fn containers(at: &str, spec: Option<&Value>, out: &mut Vec<Cause>) {
    let list = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match list {
        None => out.push(required(&format!("{at}.containers"))),
        Some(list) if list.is_empty() => out.push(required(&format!("{at}.containers"))),
        Some(list) => {
            for (i, c) in list.iter().enumerate() {
                for field in ["name", "image"] {
                    if c.get(field)
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        out.push(required(&format!("{at}.containers[{i}].{field}")));
                    }
                }
            }
        }
    }
}

/// Drops what Go's `omitempty` would not serialise: nulls, empty maps and empty keyed lists.
pub(crate) fn tidy(kind: Kind, names: &mut Vec<String>, v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|k, child| {
                names.push(k.clone());
                tidy(kind, names, child);
                let keep = match child {
                    Value::Null => matches!(k.as_str(), "creationTimestamp" | "eventTime"),
                    Value::Object(c) => !(c.is_empty() && schema::is_map(names)),
                    Value::Array(a) => {
                        !a.is_empty() || schema::list_type(kind, names) == ListType::Atomic
                    }
                    _ => true,
                };
                names.pop();
                keep
            });
        }
        Value::Array(items) => items.iter_mut().for_each(|i| tidy(kind, names, i)),
        _ => {}
    }
}
