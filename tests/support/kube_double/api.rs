//! Routes one request (method, path, query, content type, body) to the store the way
//! kube-apiserver's REST handlers do, including label and field selectors on lists.
//!
//! Serves one subresource, a Deployment's `/scale` (GET, and the merge patch `kubectl scale`
//! sends), and one POST, a TokenReview (`tokenreview.rs`). Leaves out watches, other POSTs and
//! PUT (konoha writes only with server-side apply), other
//! subresource URLs and set-based label selectors (`in`, `notin`): those answer 400 or 405 so a
//! client using them fails loudly instead of seeing made-up behaviour. HTTP itself lives in
//! `server.rs`.

use super::schema::Kind;
use super::status::{self, Reply};
use super::store::{Key, Store};
use serde_json::{Value, json};

/// A request as the handlers see it.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) content_type: &'a str,
    /// The `User-Agent` header; it names the field manager of a write without `fieldManager`.
    pub(crate) user_agent: &'a str,
    pub(crate) body: &'a [u8],
}

enum Route {
    Version,
    Namespace(String),
    Collection(Kind, String),
    Object(Kind, String, String),
    /// A Deployment's `/scale` subresource.
    Scale(String, String),
    /// `authentication.k8s.io/v1` TokenReviews (cluster-scoped, create only).
    TokenReview,
}

fn route(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (version, rest) = match parts.as_slice() {
        ["version"] => return Some(Route::Version),
        ["api", "v1", rest @ ..] => ("v1".to_owned(), rest),
        ["apis", group, version, rest @ ..] => (format!("{group}/{version}"), rest),
        _ => return None,
    };
    match rest {
        ["namespaces", ns] if version == "v1" => Some(Route::Namespace((*ns).to_owned())),
        ["namespaces", ns, plural] => {
            Kind::from_route(&version, plural).map(|k| Route::Collection(k, (*ns).to_owned()))
        }
        ["namespaces", ns, plural, name] => Kind::from_route(&version, plural)
            .map(|k| Route::Object(k, (*ns).to_owned(), (*name).to_owned())),
        ["tokenreviews"] if version == "authentication.k8s.io/v1" => Some(Route::TokenReview),
        ["namespaces", ns, "deployments", name, "scale"] if version == "apps/v1" => {
            Some(Route::Scale((*ns).to_owned(), (*name).to_owned()))
        }
        _ => None,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of query parameter `name`, decoded.
pub(crate) fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

/// One requirement of an equality-based selector.
#[derive(Debug, PartialEq)]
pub(crate) enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    Exists(String),
    NotExists(String),
}

/// Parses `a=b,c!=d,e,!f`; set-based terms are refused.
pub(crate) fn parse_selector(s: &str) -> Result<Vec<Requirement>, String> {
    let mut out = Vec::new();
    for term in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        if term.contains('(') || term.contains(' ') {
            return Err(format!(
                "unable to parse requirement: set-based selectors are not served by this server: {term:?}"
            ));
        }
        let req = if let Some(k) = term.strip_prefix('!') {
            Requirement::NotExists(k.to_owned())
        } else if let Some((k, v)) = term.split_once("!=") {
            Requirement::NotEq(k.to_owned(), v.to_owned())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            Requirement::Eq(k.to_owned(), v.to_owned())
        } else {
            Requirement::Exists(term.to_owned())
        };
        out.push(req);
    }
    Ok(out)
}

/// Whether a value lookup satisfies all requirements.
pub(crate) fn selects(reqs: &[Requirement], get: impl Fn(&str) -> Option<String>) -> bool {
    reqs.iter().all(|r| match r {
        Requirement::Eq(k, v) => get(k).as_ref() == Some(v),
        Requirement::NotEq(k, v) => get(k).as_ref() != Some(v),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

/// A label of `o`.
pub(crate) fn label(o: &Value, key: &str) -> Option<String> {
    let labels = o.pointer("/metadata/labels")?;
    labels.get(key)?.as_str().map(str::to_owned)
}

fn field_pointer(kind: Kind, field: &str) -> Option<String> {
    let event_fields = [
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "type",
    ];
    let ok = matches!(field, "metadata.name" | "metadata.namespace")
        || (kind == Kind::Event && event_fields.contains(&field))
        || (kind == Kind::Pod && matches!(field, "status.phase" | "spec.nodeName"));
    match field {
        "source" if kind == Kind::Event => Some("/source/component".into()),
        _ if ok => Some(format!("/{}", field.replace('.', "/"))),
        _ => None,
    }
}

/// A filter for list and deletecollection requests from `labelSelector` and `fieldSelector`.
fn filter(kind: Kind, query: &str) -> Result<impl Fn(&Value) -> bool, Reply> {
    let labels = query_param(query, "labelSelector").unwrap_or_default();
    let labels = parse_selector(&labels).map_err(status::bad_request)?;
    let fields = query_param(query, "fieldSelector").unwrap_or_default();
    let fields = parse_selector(&fields).map_err(status::bad_request)?;
    let mut pointers = Vec::new();
    for r in &fields {
        let (Requirement::Eq(f, _) | Requirement::NotEq(f, _)) = r else {
            return Err(status::bad_request(format!(
                "invalid field selector: {r:?}"
            )));
        };
        let p = field_pointer(kind, f)
            .ok_or_else(|| status::bad_request(format!("field label not supported: {f}")))?;
        pointers.push((f.clone(), p));
    }
    Ok(move |o: &Value| {
        let field = |f: &str| {
            let p = pointers.iter().find(|(name, _)| name == f)?;
            Some(
                o.pointer(&p.1)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned(),
            )
        };
        selects(&labels, |k| label(o, k)) && selects(&fields, field)
    })
}

/// The (kind, namespace, name) an object path like `/apis/apps/v1/namespaces/ns/deployments/x`
/// names; `None` for collections and other paths.
pub(crate) fn object_key(path: &str) -> Option<Key> {
    match route(path) {
        Some(Route::Object(kind, ns, name)) => Some((kind, ns, name)),
        _ => None,
    }
}

/// What `GET /version` answers: the server the recordings come from (recording 54).
pub(crate) fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-beta.0+ste.cd13ec4a",
        "gitCommit": "cd13ec4ae44e35ce12aefbb05627be4474ff2b1f", "gitTreeState": "clean",
        "buildDate": "2026-12-01T09:00:59Z", "goVersion": "go1.23.9", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// Answers one request.
pub(crate) fn handle(store: &mut Store, req: &Request<'_>) -> Reply {
    let Some(route) = route(req.path) else {
        return status::no_route();
    };
    match (req.method, route) {
        ("GET", Route::Version) => Reply::ok(200, version()),
        ("GET", Route::Namespace(ns)) => match store.namespace(&ns) {
            Ok(o) => Reply::ok(200, o),
            Err(r) => r,
        },
        ("GET", Route::Collection(kind, ns)) => {
            if query_param(req.query, "watch").is_some_and(|w| w == "true" || w == "1") {
                return status::bad_request("watch is not served by this server".into());
            }
            match filter(kind, req.query) {
                Ok(keep) => Reply::ok(200, store.list(kind, &ns, keep)),
                Err(r) => r,
            }
        }
        ("DELETE", Route::Collection(kind, ns)) => delete_collection(store, kind, &ns, req),
        ("GET", Route::Object(kind, ns, name)) => store.get(kind, &ns, &name),
        ("PATCH", Route::Object(kind, ns, name)) => patch(store, kind, &ns, &name, req),
        ("DELETE", Route::Object(kind, ns, name)) => {
            let key = (kind, ns, name);
            store.delete(&key, propagation(req).as_deref())
        }
        ("GET", Route::Scale(ns, name)) => store.scale(&ns, &name),
        ("PATCH", Route::Scale(ns, name)) => patch_scale(store, &ns, &name, req),
        ("POST", Route::TokenReview) => store.review_token(req.body),
        _ => status::method_not_allowed(),
    }
}

/// The manager of an Update: `fieldManager`, else the `User-Agent` up to its first `/`
/// (`kubectl/v1.32.4 (linux/amd64) …` → `kubectl`), as the API server defaults it.
fn update_manager(req: &Request<'_>) -> String {
    query_param(req.query, "fieldManager")
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| {
            req.user_agent
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        })
}

/// `kubectl scale`: a JSON merge patch of the Scale, of which only `spec.replicas` counts.
fn patch_scale(store: &mut Store, ns: &str, name: &str, req: &Request<'_>) -> Reply {
    let media = req.content_type.split(';').next().unwrap_or("").trim();
    if media != "application/merge-patch+json" {
        return status::unsupported_media_type(media);
    }
    let replicas = serde_json::from_slice::<Value>(req.body)
        .ok()
        .and_then(|b| b.pointer("/spec/replicas")?.as_i64());
    let Some(replicas) = replicas else {
        return status::bad_request("the patch sets no spec.replicas".into());
    };
    store.set_scale(ns, name, replicas, &update_manager(req))
}

fn patch(store: &mut Store, kind: Kind, ns: &str, name: &str, req: &Request<'_>) -> Reply {
    let media = req.content_type.split(';').next().unwrap_or("").trim();
    if media != "application/apply-patch+yaml" {
        return status::unsupported_media_type(media);
    }
    let Some(manager) = query_param(req.query, "fieldManager").filter(|m| !m.is_empty()) else {
        return status::field_manager_required();
    };
    let force = query_param(req.query, "force").is_some_and(|f| f == "true");
    let body: Value = match serde_json::from_slice(req.body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return status::bad_request("apply patch body must be an object".into()),
        Err(e) => {
            return status::bad_request(format!(
                "error decoding YAML: {e} (this server reads apply bodies written as JSON)"
            ));
        }
    };
    store.apply(kind, ns, name, body, &manager, force)
}

fn propagation(req: &Request<'_>) -> Option<String> {
    let from_body = serde_json::from_slice::<Value>(req.body)
        .ok()
        .and_then(|b| b.get("propagationPolicy")?.as_str().map(str::to_owned));
    from_body.or_else(|| query_param(req.query, "propagationPolicy"))
}

fn delete_collection(store: &mut Store, kind: Kind, ns: &str, req: &Request<'_>) -> Reply {
    let keep = match filter(kind, req.query) {
        Ok(keep) => keep,
        Err(r) => return r,
    };
    let keys: Vec<Key> = store
        .objects()
        .keys()
        .filter(|(k, n, _)| *k == kind && n == ns)
        .filter(|key| store.render(key).is_some_and(|o| keep(&o)))
        .cloned()
        .collect();
    let policy = propagation(req);
    let mut items = Vec::new();
    for key in keys {
        // The answer lists the objects as they were before the deletion (recording 37).
        if let Some(mut item) = store.render(&key) {
            if let Some(m) = item.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            items.push(item);
        }
        store.delete(&key, policy.as_deref());
    }
    Reply::ok(
        200,
        json!({
            "kind": format!("{}List", kind.name()),
            "apiVersion": kind.api_version(),
            "metadata": {"resourceVersion": store.resource_version()},
            "items": items
        }),
    )
}
