//! Service-account tokens and the TokenReview API (`POST
//! /apis/authentication.k8s.io/v1/tokenreviews`), which Vault's Kubernetes auth method calls to
//! check a login JWT.
//!
//! A token is one the double issued ([`Tokens::issue`]) for a ServiceAccount that still exists
//! with the same uid; the review answers as kube-apiserver does, `authenticated: true` with the
//! user `system:serviceaccount:<ns>:<name>`, its uid, the three service-account groups and the
//! token's audiences, or `authenticated: false` with `status.error` for anything else.
//! Simplifies: tokens are JWT-shaped (the claims a 1.32 projected token carries) but the
//! signature is filler nobody verifies, since the double recognises its tokens by lookup; no
//! expiry, no pod binding, no RBAC on who may create a review.

use super::clock::{self, Ids};
use super::status::{self, Reply};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The issuer and default audience of the double's tokens, as on a kubeadm cluster.
const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// Who a token was issued to.
#[derive(Clone, Debug)]
struct Holder {
    namespace: String,
    name: String,
    uid: String,
}

/// The tokens the double issued, and every token it was asked to review.
#[derive(Debug, Default)]
pub(crate) struct Tokens {
    issued: BTreeMap<String, Holder>,
    pub(crate) reviewed: Vec<String>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Tokens {
    /// Issues a token for ServiceAccount `ns/name` whose uid is `uid`.
    pub(crate) fn issue(&mut self, ids: &mut Ids, ns: &str, name: &str, uid: &str) -> String {
        let token = jwt(ids, ns, name, uid);
        let holder = Holder {
            namespace: ns.to_owned(),
            name: name.to_owned(),
            uid: uid.to_owned(),
        };
        self.issued.insert(token.clone(), holder);
        token
    }

    /// Whether `token` is one the double issued (so it authenticates requests too).
    pub(crate) fn is_issued(&self, token: &str) -> bool {
        self.issued.contains_key(token)
    }
}

fn jwt(ids: &mut Ids, ns: &str, name: &str, uid: &str) -> String {
    let now = clock::now_secs();
    let header = json!({"alg": "RS256", "kid": b64(&ids.next_bytes()[..12])});
    let claims = json!({
        "aud": [ISSUER], "iss": ISSUER, "sub": format!("system:serviceaccount:{ns}:{name}"),
        "iat": now, "nbf": now, "exp": now + 3600, "jti": ids.uid(),
        "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": name, "uid": uid}},
    });
    let mut filler = ids.next_bytes().to_vec();
    filler.extend_from_slice(&ids.next_bytes());
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(&filler)
    )
}

/// Answers `POST .../tokenreviews` with `body`, a TokenReview; `account_uid(ns, name)` is the
/// uid of that ServiceAccount as stored now.
pub(crate) fn review(
    tokens: &mut Tokens,
    body: &[u8],
    account_uid: impl Fn(&str, &str) -> Option<String>,
) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return status::bad_request("the request body is not a TokenReview".into());
    };
    let Some(token) = request.pointer("/spec/token").and_then(Value::as_str) else {
        return status::bad_request("spec.token: Required value".into());
    };
    tokens.reviewed.push(token.to_owned());
    let wanted: Vec<String> = request
        .pointer("/spec/audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let holder = tokens.issued.get(token).cloned();
    // The account must still exist as the one the token was issued for.
    let current = holder
        .as_ref()
        .filter(|h| account_uid(&h.namespace, &h.name).as_deref() == Some(&h.uid));
    let audiences = if wanted.is_empty() {
        vec![ISSUER.to_owned()]
    } else {
        wanted.iter().filter(|a| *a == ISSUER).cloned().collect()
    };
    let status = match current {
        None if holder.is_some() => json!({
            "user": {},
            "error": "[invalid bearer token, service account token has been invalidated]"
        }),
        None => json!({"user": {}, "error": "invalid bearer token"}),
        Some(_) if audiences.is_empty() => {
            json!({"user": {}, "error": "[invalid bearer token, token audiences don't match]"})
        }
        Some(h) => json!({
            "authenticated": true,
            "user": {
                "username": format!("system:serviceaccount:{}:{}", h.namespace, h.name),
                "uid": h.uid,
                "groups": [
                    "system:serviceaccounts",
                    format!("system:serviceaccounts:{}", h.namespace),
                    "system:authenticated",
                ],
            },
            "audiences": audiences,
        }),
    };
    Reply::ok(
        201,
        json!({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": request.get("spec").cloned().unwrap_or_else(|| json!({})),
            "status": status,
        }),
    )
}
