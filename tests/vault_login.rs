//! Vault logins for CI pipelines against a real OpenBao dev server: the JWT/OIDC auth method
//! with a static public key (`jwt_validation_pubkeys`) and a token signed here, through the
//! provider with the real `terraform` CLI and through [`konoha::vault::VaultSession`] for token
//! renewal and a new login after expiry; and the Kubernetes auth method, without a cluster
//! (OpenBao's refusal) and against the API double's TokenReview (a login).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use konoha::vault::{JwtLogin, KubernetesLogin, Secret, VaultError, VaultSession, VaultSettings};
use serde_json::{Value as Json, json};
use support::openbao::OpenBao;
use support::provider::InProcessProvider;
use support::terraform::{Step, TestCase, Workdir};

const ISSUER: &str = "https://ci.example.test";
const AUDIENCE: &str = "konoha-vault";

/// A CI system's signing key, and the JWTs it issues.
struct Issuer {
    key: EcdsaKeyPair,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Issuer {
    fn new() -> Self {
        Self {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public key as PEM, for `jwt_validation_pubkeys`.
    fn public_pem(&self) -> String {
        let der = self.key.public_key().as_der().unwrap();
        let body = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            lines.join("\n")
        )
    }

    /// An ES256 JWT for `sub`, valid for an hour.
    fn token(&self, sub: &str) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = b64(json!({"alg": "ES256", "typ": "JWT"}).to_string().as_bytes());
        let claims = json!({
            "iss": ISSUER, "sub": sub, "aud": AUDIENCE,
            "iat": now, "nbf": now - 5, "exp": now + 3600,
        });
        let signing_input = format!("{header}.{}", b64(claims.to_string().as_bytes()));
        let signature = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        format!("{signing_input}.{}", b64(signature.as_ref()))
    }
}

fn expect_ok(bao: &OpenBao, method: &str, path: &str, body: Json) {
    let response = bao.call(method, path, Some(body));
    assert!(
        (200..300).contains(&response.status),
        "{method} {path}: {} {}",
        response.status,
        response.body
    );
}

/// Enables `jwt` auth trusting `issuer`, with roles `ci` (1 h tokens), `short` (renewable
/// 3 s tokens) and `expiring` (2 s tokens that cannot outlive 2 s), all allowed to write
/// profiles under `secret/spark/`.
fn enable_jwt(bao: &OpenBao, issuer: &Issuer) {
    bao.put_policy(
        "profiles",
        r#"path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#,
    );
    expect_ok(bao, "POST", "/v1/sys/auth/jwt", json!({"type": "jwt"}));
    expect_ok(
        bao,
        "POST",
        "/v1/auth/jwt/config",
        json!({"jwt_validation_pubkeys": [issuer.public_pem()], "bound_issuer": ISSUER}),
    );
    for (role, ttl, max_ttl) in [
        ("ci", "1h", "2h"),
        ("short", "3s", "1h"),
        ("expiring", "2s", "2s"),
    ] {
        expect_ok(
            bao,
            "POST",
            &format!("/v1/auth/jwt/role/{role}"),
            json!({
                "role_type": "jwt", "user_claim": "sub", "bound_audiences": [AUDIENCE],
                "token_policies": ["profiles"], "token_ttl": ttl, "token_max_ttl": max_ttl,
            }),
        );
    }
}

fn jwt_settings(bao: &OpenBao, role: &str, jwt: &str) -> VaultSettings {
    let mut settings = VaultSettings::new(bao.addr.clone());
    settings.jwt = Some(JwtLogin {
        role: role.to_owned(),
        jwt: Secret::new(jwt),
        mount: "jwt".to_owned(),
    });
    settings
}

fn profile_config(bao: &OpenBao, login: &str) -> String {
    support::hcl::vault_login_header(&bao.addr, login)
        + r#"
resource "konoha_spark_profile" "p" {
  mount              = "secret"
  name               = "spark/ci"
  executor_instances = 3
}
"#
}

/// Enables the `kubernetes` auth method at `auth/k8s` with `config`, and a role `runner` bound
/// to the service account `ci/runner` with `policy`.
fn enable_kubernetes_auth(bao: &OpenBao, config: Json, policy: &str) {
    expect_ok(
        bao,
        "POST",
        "/v1/sys/auth/k8s",
        json!({"type": "kubernetes"}),
    );
    expect_ok(bao, "POST", "/v1/auth/k8s/config", config);
    expect_ok(
        bao,
        "POST",
        "/v1/auth/k8s/role/runner",
        json!({
            "bound_service_account_names": ["runner"],
            "bound_service_account_namespaces": ["ci"],
            "token_policies": [policy],
        }),
    );
}

#[test]
fn a_pipeline_logs_in_with_its_jwt_and_applies_a_profile() {
    let bao = OpenBao::start();
    let issuer = Issuer::new();
    enable_jwt(&bao, &issuer);
    let provider = InProcessProvider::start();
    let jwt = issuer.token("pipeline-42");
    let login =
        format!("    auth_login_jwt {{\n      role = \"ci\"\n      jwt  = \"{jwt}\"\n    }}");
    TestCase::new(provider.hookup())
        .step(Step::config(profile_config(&bao, &login)).check(|state| {
            state.check_attr("konoha_spark_profile.p", "version", 1)?;
            let (data, _) = bao.kv_get("secret", "spark/ci").ok_or("nothing in Vault")?;
            if data.get("spark.executor.instances") != Some(&json!("3")) {
                return Err(format!("Vault holds {data}"));
            }
            if state.raw().to_string().contains(&jwt) {
                return Err("the JWT reached the state".into());
            }
            Ok(())
        }))
        .run_or_panic();

    // A token signed by another key is refused, with the login named and the JWT not shown.
    let work = Workdir::new(&provider.hookup()).unwrap();
    let forged = Issuer::new().token("pipeline-42");
    let login =
        format!("    auth_login_jwt {{\n      role = \"ci\"\n      jwt  = \"{forged}\"\n    }}");
    work.set_config(&profile_config(&bao, &login)).unwrap();
    let out = work.terraform(["apply", "-auto-approve", "-no-color", "-input=false"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(!out.success(), "a forged JWT was accepted:\n{text}");
    assert!(
        text.contains("JWT login at auth/jwt/login failed"),
        "the failure does not name the login:\n{text}"
    );
    let signature = forged.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "the JWT was shown:\n{text}");
}

/// Polls `done` every 100 ms until it holds or `limit` passes.
fn poll_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    done()
}

fn token_alive(bao: &OpenBao, accessor: &str) -> bool {
    bao.call(
        "POST",
        "/v1/auth/token/lookup-accessor",
        Some(json!({"accessor": accessor})),
    )
    .status
        == 200
}

fn ttl_of(bao: &OpenBao, accessor: &str) -> i64 {
    let response = bao.call(
        "POST",
        "/v1/auth/token/lookup-accessor",
        Some(json!({"accessor": accessor})),
    );
    response.body["data"]["ttl"].as_i64().unwrap_or(-1)
}

#[tokio::test]
async fn a_renewable_token_is_renewed_once_two_thirds_of_its_ttl_are_used() {
    let bao = OpenBao::start();
    let issuer = Issuer::new();
    enable_jwt(&bao, &issuer);
    let session = VaultSession::new(jwt_settings(&bao, "short", &issuer.token("p")));
    let first = session.client().await.unwrap();
    let accessor = first.accessor().unwrap().to_owned();
    assert!(!first.needs_refresh(Instant::now()));
    assert!(
        poll_until(Duration::from_secs(10), || first
            .needs_refresh(Instant::now())),
        "the 3 s token never came due"
    );
    let remaining_before = ttl_of(&bao, &accessor);
    let renewed = session.client().await.unwrap();
    assert_eq!(
        renewed.accessor(),
        Some(accessor.as_str()),
        "renewal keeps the token"
    );
    assert!(
        ttl_of(&bao, &accessor) > remaining_before,
        "Vault did not extend the token"
    );
    assert!(!renewed.needs_refresh(Instant::now()));
    let data = BTreeMap::from([("spark.a".to_owned(), "1".to_owned())]);
    renewed
        .write_cas("secret", "spark/renewed", &data, 0)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_expired_token_is_replaced_by_a_new_login() {
    let bao = OpenBao::start();
    let issuer = Issuer::new();
    enable_jwt(&bao, &issuer);
    let session = VaultSession::new(jwt_settings(&bao, "expiring", &issuer.token("p")));
    let first = session.client().await.unwrap();
    let old = first.accessor().unwrap().to_owned();
    assert!(
        poll_until(Duration::from_secs(10), || !token_alive(&bao, &old)),
        "the 2 s token never expired"
    );
    // What a resource does mid-apply: ask the session for the client, then write.
    let next = session.client().await.unwrap();
    assert_ne!(next.accessor(), Some(old.as_str()), "no new login");
    let data = BTreeMap::from([("spark.a".to_owned(), "1".to_owned())]);
    next.write_cas("secret", "spark/after-expiry", &data, 0)
        .await
        .unwrap();
}

/// The accessors of the live tokens that a JWT login issued.
fn live_jwt_logins(bao: &OpenBao) -> Vec<String> {
    let listed = bao.call("GET", "/v1/auth/token/accessors?list=true", None);
    let keys = listed.body["data"]["keys"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    keys.iter()
        .filter_map(Json::as_str)
        .filter(|accessor| {
            let found = bao.call(
                "POST",
                "/v1/auth/token/lookup-accessor",
                Some(json!({"accessor": accessor})),
            );
            found.status == 200 && found.body["data"]["path"] == "auth/jwt/login"
        })
        .map(str::to_owned)
        .collect()
}

/// Issue 9: "an expired token mid-apply is not a failed apply". One `terraform apply` writes a
/// profile with a 2 s token that cannot be renewed, waits (a `terraform_data` provisioner
/// polling a marker file) until this test has seen that token expire in OpenBao, then writes
/// a second profile: the provider logs in again and the apply succeeds.
#[test]
fn a_token_that_expires_mid_apply_does_not_fail_the_apply() {
    let bao = OpenBao::start();
    let issuer = Issuer::new();
    enable_jwt(&bao, &issuer);
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let expired = work.path().join("first-token-expired");
    let jwt = issuer.token("pipeline-7");
    let config = format!(
        r#"
terraform {{
  required_providers {{
    konoha = {{ source = "konoha/konoha" }}
  }}
}}

provider "konoha" {{
  vault {{
    address = "{addr}"
    auth_login_jwt {{
      role = "expiring"
      jwt  = "{jwt}"
    }}
  }}
}}

resource "konoha_spark_profile" "before" {{
  mount = "secret"
  name  = "spark/before-expiry"
}}

# Holds the apply until the test has seen the first token expire (at most 60 s).
resource "terraform_data" "wait_for_expiry" {{
  depends_on = [konoha_spark_profile.before]
  provisioner "local-exec" {{
    command = "for i in $(seq 600); do [ -e '{marker}' ] && exit 0; sleep 0.1; done; exit 1"
  }}
}}

resource "konoha_spark_profile" "after" {{
  depends_on = [terraform_data.wait_for_expiry]
  mount      = "secret"
  name       = "spark/after-expiry"
}}
"#,
        addr = bao.addr,
        marker = expired.display()
    );
    work.set_config(&config).unwrap();
    let watcher = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            // The first profile's write shows the first login has happened.
            if !poll_until(Duration::from_secs(60), || {
                bao.kv_get("secret", "spark/before-expiry").is_some()
            }) {
                return Err("the first profile was never written".to_owned());
            }
            let first = live_jwt_logins(&bao);
            if first.is_empty() {
                return Err("no live token from the JWT login".to_owned());
            }
            if !poll_until(Duration::from_secs(20), || {
                first.iter().all(|a| !token_alive(&bao, a))
            }) {
                return Err("the 2 s token never expired".to_owned());
            }
            if bao.kv_get("secret", "spark/after-expiry").is_some() {
                return Err("the second profile was written before the token expired".to_owned());
            }
            std::fs::write(&expired, "").map_err(|e| e.to_string())?;
            Ok(first)
        });
        let out = work.terraform(["apply", "-auto-approve", "-no-color", "-parallelism=1"]);
        assert!(
            out.success(),
            "the apply failed after the token expired:\n{}{}",
            out.stdout,
            out.stderr
        );
        watcher.join().unwrap()
    });
    let first = watcher.unwrap();
    assert!(
        bao.kv_get("secret", "spark/after-expiry").is_some(),
        "the second profile is not in Vault"
    );
    assert!(
        first.iter().all(|a| !token_alive(&bao, a)),
        "the first token is still alive, so nothing was tested"
    );
}

/// A CA certificate for the (absent) cluster, which OpenBao's config requires.
fn some_ca_pem() -> String {
    rcgen::generate_simple_self_signed(vec!["kubernetes.default".to_owned()])
        .unwrap()
        .cert
        .pem()
}

/// OpenBao's Kubernetes auth verifies a service-account token by asking the cluster's
/// TokenReview API, so without a cluster the test goes as far as OpenBao can: the provider reads
/// the token file, logs in at the configured mount and role, and reports OpenBao's refusal (its
/// TokenReview call fails against an address where nothing listens). A missing token file is
/// reported as such, without a request.
#[tokio::test]
async fn kubernetes_login_reads_the_token_file_and_reports_the_refusal() {
    let bao = OpenBao::start();
    enable_kubernetes_auth(
        &bao,
        json!({
            "kubernetes_host": "https://127.0.0.1:1",
            "kubernetes_ca_cert": some_ca_pem(),
            "disable_local_ca_jwt": true,
        }),
        "default",
    );
    let dir = tempfile::tempdir().unwrap();
    let jwt_file = dir.path().join("token");
    std::fs::write(
        &jwt_file,
        format!(
            "{}\n",
            Issuer::new().token("system:serviceaccount:ci:runner")
        ),
    )
    .unwrap();
    let mut settings = VaultSettings::new(bao.addr.clone());
    settings.kubernetes = Some(KubernetesLogin {
        role: "runner".to_owned(),
        jwt_file: jwt_file.clone(),
        mount: "k8s".to_owned(),
    });
    let err = VaultSession::new(settings.clone()).client().await.err();
    match &err {
        Some(VaultError::Login { method, mount, .. }) => {
            assert_eq!((*method, mount.as_str()), ("Kubernetes", "k8s"))
        }
        other => panic!("expected OpenBao's refusal, got {other:?}"),
    }

    settings.kubernetes = Some(KubernetesLogin {
        jwt_file: dir.path().join("missing"),
        ..settings.kubernetes.clone().unwrap()
    });
    let err = VaultSession::new(settings).client().await.err();
    assert!(
        matches!(err, Some(VaultError::ReadJwtFile { .. })),
        "{err:?}"
    );
}

#[test]
fn validate_refuses_two_logins_and_empty_values() {
    let bao = OpenBao::start();
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    for (login, expected) in [
        (
            "    auth_login_jwt {\n      role = \"ci\"\n      jwt = \"x\"\n    }\n    auth_login_kubernetes {\n      role = \"r\"\n    }",
            "More than one Vault login",
        ),
        (
            "    auth_login_jwt {\n      role = \"\"\n      jwt = \"x\"\n    }",
            "role must not be empty",
        ),
    ] {
        work.set_config(&profile_config(&bao, login)).unwrap();
        let out = work.terraform(["validate", "-no-color"]);
        let text = format!("{}{}", out.stdout, out.stderr);
        assert!(!out.success() && text.contains(expected), "{login}\n{text}");
    }
}

/// Issue 9, the Kubernetes auth method with a successful login. OpenBao cannot verify a
/// service-account token on its own: it sends it to the cluster's TokenReview API at
/// `kubernetes_host`. Here that is the in-process API double, on plain `http://` (OpenBao
/// accepts it), on every run: also under `KUBEBUILDER_ASSETS`, since the test starts the double
/// itself. OpenBao reviews with its own reviewer token (`token_reviewer_jwt`), as in a cluster
/// where Vault runs under a service account allowed to create TokenReviews.
#[test]
fn a_pipeline_logs_in_with_its_service_account_token_checked_by_token_review() {
    let bao = OpenBao::start();
    let double = support::kube_double::KubeDouble::start_background();
    double.create_namespace("ci");
    let reviewer = double.issue_service_account_token("kube-system", "openbao");
    let runner = double.issue_service_account_token("ci", "runner");
    bao.put_policy(
        "profiles",
        r#"path "secret/*" { capabilities = ["create", "read", "update", "delete", "list"] }"#,
    );
    enable_kubernetes_auth(
        &bao,
        json!({
            "kubernetes_host": double.url(),
            "kubernetes_ca_cert": some_ca_pem(),
            "token_reviewer_jwt": reviewer,
            "disable_local_ca_jwt": true,
        }),
        "profiles",
    );
    let provider = InProcessProvider::start();
    let work = Workdir::new(&provider.hookup()).unwrap();
    let jwt_file = work.path().join("sa-token");
    std::fs::write(&jwt_file, format!("{runner}\n")).unwrap();
    let login = format!(
        "    auth_login_kubernetes {{\n      role     = \"runner\"\n      jwt_file = \"{}\"\n      mount    = \"k8s\"\n    }}",
        jwt_file.display()
    );
    work.set_config(&profile_config(&bao, &login)).unwrap();
    let out = work.terraform(["apply", "-auto-approve", "-no-color", "-input=false"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(out.success(), "the Kubernetes login failed:\n{text}");
    let (data, _) = bao
        .kv_get("secret", "spark/ci")
        .expect("the profile is not in Vault");
    assert_eq!(data.get("spark.executor.instances"), Some(&json!("3")));
    assert!(
        double.reviewed_tokens().contains(&runner),
        "OpenBao never asked the double to review the runner's token"
    );
    let state = std::fs::read_to_string(work.path().join("terraform.tfstate")).unwrap_or_default();
    assert!(!state.contains(&runner), "the token reached the state");

    // A token the cluster never issued (same claims, other signature): TokenReview answers
    // `authenticated: false`, OpenBao refuses the login, and nothing is written.
    let (head, _) = runner.rsplit_once('.').unwrap();
    let stranger = format!("{head}.{}", b64(&[7u8; 64]));
    std::fs::write(&jwt_file, format!("{stranger}\n")).unwrap();
    let config = profile_config(&bao, &login).replace("spark/ci", "spark/other");
    let work2 = Workdir::new(&provider.hookup()).unwrap();
    work2.set_config(&config).unwrap();
    let out = work2.terraform(["apply", "-auto-approve", "-no-color", "-input=false"]);
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        !out.success(),
        "a token the cluster never issued was accepted:\n{text}"
    );
    // OpenBao tells the client no more than this; the review's error stays in its own log.
    assert!(
        text.contains(
            r#"Kubernetes login at auth/k8s/login failed: Vault said "permission denied""#
        ),
        "the failure does not name the login and OpenBao's refusal:\n{text}"
    );
    assert!(
        double.reviewed_tokens().contains(&stranger),
        "OpenBao refused without asking TokenReview"
    );
    assert!(
        bao.kv_get("secret", "spark/other").is_none(),
        "a profile was written"
    );
    let signature = stranger.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "the token was shown:\n{text}");
}
