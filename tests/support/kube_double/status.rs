//! `Status` bodies exactly as kube-apiserver writes them for the failures and deletions the
//! double reproduces (see tests/fixtures/k8s-api for the recorded originals).
//!
//! Leaves out `retryAfterSeconds` and the other reasons (Timeout, TooManyRequests, ...): nothing
//! the double does can produce them.

use super::schema::Kind;
use serde_json::{Map, Value, json};

/// An HTTP answer: status code and JSON body.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Reply {
    /// HTTP status code.
    pub(crate) code: u16,
    /// The JSON body.
    pub(crate) body: Value,
}

impl Reply {
    /// A success carrying `body`.
    pub(crate) fn ok(code: u16, body: Value) -> Reply {
        Reply { code, body }
    }
}

/// One entry of `details.causes`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldManagerConflict`, ...
    pub(crate) reason: &'static str,
    /// What is wrong with the field.
    pub(crate) message: String,
    /// The field, as `metadata.name` or `.data.key`.
    pub(crate) field: String,
}

fn failure(code: u16, reason: &str, message: String, details: Option<Value>) -> Reply {
    let mut body = Map::new();
    body.insert("kind".into(), json!("Status"));
    body.insert("apiVersion".into(), json!("v1"));
    body.insert("metadata".into(), json!({}));
    body.insert("status".into(), json!("Failure"));
    body.insert("message".into(), json!(message));
    body.insert("reason".into(), json!(reason));
    if let Some(details) = details {
        body.insert("details".into(), details);
    }
    body.insert("code".into(), json!(code));
    Reply {
        code,
        body: Value::Object(body),
    }
}

fn details(name: &str, group: &str, kind: &str) -> Map<String, Value> {
    let mut d = Map::new();
    if !name.is_empty() {
        d.insert("name".into(), json!(name));
    }
    if !group.is_empty() {
        d.insert("group".into(), json!(group));
    }
    d.insert("kind".into(), json!(kind));
    d
}

fn causes_json(causes: &[Cause]) -> Value {
    causes
        .iter()
        .map(|c| json!({"reason": c.reason, "message": c.message, "field": c.field}))
        .collect()
}

/// 404 for a missing object (recordings 06, 21, 22).
pub(crate) fn not_found(kind: Kind, name: &str) -> Reply {
    let message = format!("{} {name:?} not found", kind.qualified_plural());
    let d = details(name, kind.group(), kind.plural());
    failure(404, "NotFound", message, Some(Value::Object(d)))
}

/// 409 `AlreadyExists` for a create of an existing object.
pub(crate) fn already_exists(kind: Kind, name: &str) -> Reply {
    let message = format!("{} {name:?} already exists", kind.qualified_plural());
    let d = details(name, kind.group(), kind.plural());
    failure(409, "AlreadyExists", message, Some(Value::Object(d)))
}

/// 404 for a namespace that does not exist.
pub(crate) fn namespace_not_found(ns: &str) -> Reply {
    let d = details(ns, "", "namespaces");
    failure(
        404,
        "NotFound",
        format!("namespaces {ns:?} not found"),
        Some(Value::Object(d)),
    )
}

/// 404 for a path the server does not serve.
pub(crate) fn no_route() -> Reply {
    let d = json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]});
    failure(
        404,
        "NotFound",
        "the server could not find the requested resource".into(),
        Some(d),
    )
}

/// 422 `Invalid` for an object that fails validation (recording 07).
pub(crate) fn invalid(kind: Kind, name: &str, causes: &[Cause]) -> Reply {
    let errors: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    let summary = match errors.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let message = format!("{} {name:?} is invalid: {summary}", kind.qualified_name());
    let mut d = details(name, kind.group(), kind.name());
    d.insert("causes".into(), causes_json(causes));
    failure(422, "Invalid", message, Some(Value::Object(d)))
}

/// 422 for an apply without `fieldManager` (recording 08).
pub(crate) fn field_manager_required() -> Reply {
    let d = json!({
        "group": "meta.k8s.io",
        "kind": "PatchOptions",
        "causes": [{
            "reason": "FieldValueRequired",
            "message": "Required value: is required for apply patch",
            "field": "fieldManager"
        }]
    });
    failure(
        422,
        "Invalid",
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
            .into(),
        Some(d),
    )
}

/// 400 `BadRequest` with `message` (recording 09).
pub(crate) fn bad_request(message: String) -> Reply {
    failure(400, "BadRequest", message, None)
}

/// 409 `Conflict` for an apply that would take fields another manager owns (recording 03).
/// `conflicts` are (manager as printed, field path), sorted by manager then path.
pub(crate) fn apply_conflict(conflicts: &[(String, String)]) -> Reply {
    let message = if let [(manager, path)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
    } else {
        let mut lines = Vec::new();
        let mut previous: Option<&str> = None;
        for (manager, path) in conflicts {
            if previous != Some(manager.as_str()) {
                lines.push(format!("conflicts with {manager}:"));
                previous = Some(manager);
            }
            lines.push(format!("- {path}"));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(manager, path)| Cause {
            reason: "FieldManagerConflict",
            message: format!("conflict with {manager}"),
            field: path.clone(),
        })
        .collect();
    failure(
        409,
        "Conflict",
        message,
        Some(json!({"causes": causes_json(&causes)})),
    )
}

/// 500 for an apply body the type cannot hold (duplicate or key-less list items).
pub(crate) fn internal(message: String) -> Reply {
    failure(500, "InternalError", message, None)
}

/// 401 for a bearer token the server does not know.
pub(crate) fn unauthorized() -> Reply {
    failure(401, "Unauthorized", "Unauthorized".into(), None)
}

/// 405 for verbs the double does not serve on a path.
pub(crate) fn method_not_allowed() -> Reply {
    failure(
        405,
        "MethodNotAllowed",
        "the server does not allow this method on the requested resource".into(),
        Some(json!({})),
    )
}

/// 415 for a PATCH content type other than apply.
pub(crate) fn unsupported_media_type(content_type: &str) -> Reply {
    failure(
        415,
        "UnsupportedMediaType",
        format!(
            "the body of the request was in an unknown format - accepted media types include: application/apply-patch+yaml (got {content_type:?})"
        ),
        None,
    )
}

/// 200 `Success` for a DELETE that removed the object at once (recording 20).
pub(crate) fn deleted(kind: Kind, name: &str, uid: &str) -> Reply {
    let mut d = details(name, kind.group(), kind.plural());
    d.insert("uid".into(), json!(uid));
    Reply {
        code: 200,
        body: json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": Value::Object(d)
        }),
    }
}
