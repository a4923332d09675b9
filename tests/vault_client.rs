//! `konoha::vault::VaultClient` against a real OpenBao dev server (one per test): check-and-set
//! writes and conflicts, absence (missing, soft-deleted, destroyed), metadata, permissions,
//! AppRole login, namespaces, TLS settings, and transport failures.
//!
//! Out-of-band edits go through the raw helpers in `support::openbao`, never the client
//! under test. Needs the `bao` binary: `scripts/install-openbao.sh` (or `make test`).

// Tests report failures by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

use konoha::vault::{
    AppRoleLogin, MountKind, Secret, SecretMetadata, SecretVersion, VaultClient, VaultError,
    VaultSettings,
};
use serde_json::json;
use support::openbao::{KvVersion, OpenBao};

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn settings_for(bao: &OpenBao, token: &str) -> VaultSettings {
    let mut settings = VaultSettings::new(bao.addr.clone());
    settings.token = Some(Secret::new(token));
    settings
}

async fn root_client(bao: &OpenBao) -> VaultClient {
    VaultClient::connect(&settings_for(bao, &bao.token))
        .await
        .expect("connect with the root token")
}

#[tokio::test]
async fn check_and_set_creates_updates_and_refuses_concurrent_changes() {
    let bao = OpenBao::start();
    let client = root_client(&bao).await;
    let data = map(&[
        ("spark.executor.instances", "4"),
        ("spark.executor.memory", "2g"),
    ]);

    // cas 0: create only if absent.
    assert_eq!(
        client
            .write_cas("secret", "team/etl", &data, 0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        client.read_opt("secret", "team/etl").await.unwrap(),
        Some(SecretVersion {
            data: data.clone(),
            version: 1,
            custom_metadata: BTreeMap::new(),
        })
    );
    assert_eq!(
        bao.kv_get("secret", "team/etl"),
        Some((
            json!({"spark.executor.instances": "4", "spark.executor.memory": "2g"}),
            1
        ))
    );

    // Creating again must not overwrite.
    let again = client.write_cas("secret", "team/etl", &data, 0).await;
    assert!(
        matches!(&again, Err(VaultError::CasMismatch { path, expected: 0 }) if path == "secret/team/etl"),
        "{again:?}"
    );

    // Someone edits the secret by hand: a write conditioned on version 1 loses, loudly.
    assert_eq!(
        bao.kv_put(
            "secret",
            "team/etl",
            json!({"spark.executor.instances": "9"})
        ),
        2
    );
    let stale = client
        .write_cas(
            "secret",
            "team/etl",
            &map(&[("spark.executor.instances", "6")]),
            1,
        )
        .await;
    let err = stale.expect_err("stale check-and-set must fail");
    assert!(
        matches!(&err, VaultError::CasMismatch { path, expected: 1 } if path == "secret/team/etl"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("someone changed it concurrently"),
        "{err}"
    );
    assert_eq!(
        bao.kv_get("secret", "team/etl").unwrap().1,
        2,
        "the hand edit survives"
    );

    // Conditioned on the version actually there, the write goes through as a new version.
    let six = map(&[("spark.executor.instances", "6")]);
    assert_eq!(
        client
            .write_cas("secret", "team/etl", &six, 2)
            .await
            .unwrap(),
        3
    );
    assert_eq!(
        client.read_opt("secret", "team/etl").await.unwrap(),
        Some(SecretVersion {
            data: six,
            version: 3,
            custom_metadata: BTreeMap::new(),
        })
    );
}

/// The mount check needs no `sys/mounts` permission, tells KV v2 from KV v1, other engines and
/// nothing, and asks once per mount for the life of a client.
#[tokio::test]
async fn mount_kinds_are_read_without_sys_permissions_and_asked_once() {
    let bao = OpenBao::start();
    let enabled = bao.call(
        "POST",
        "/v1/sys/mounts/kv1",
        Some(json!({"type": "kv", "options": {"version": "1"}})),
    );
    assert_eq!(enabled.status, 204, "{}", enabled.body);
    let enabled = bao.call(
        "POST",
        "/v1/sys/mounts/transit",
        Some(json!({"type": "transit"})),
    );
    assert_eq!(enabled.status, 204, "{}", enabled.body);
    bao.put_policy(
        "team",
        r#"path "secret/data/team/*" { capabilities = ["read", "create", "update"] }"#,
    );
    let limited = VaultClient::connect(&settings_for(&bao, &bao.create_token(&["team"])))
        .await
        .unwrap();
    assert_eq!(limited.mount_kind("secret").await.unwrap(), MountKind::Kv2);
    // The token may use nothing under kv1, so Vault will not say what is there.
    assert_eq!(
        limited.mount_kind("kv1").await.unwrap(),
        MountKind::Unreachable
    );

    let root = root_client(&bao).await;
    assert_eq!(root.mount_kind("kv1").await.unwrap(), MountKind::Kv1);
    assert_eq!(
        root.mount_kind("transit").await.unwrap(),
        MountKind::Other("transit".to_owned())
    );
    assert_eq!(
        root.mount_kind("nothere").await.unwrap(),
        MountKind::Unreachable
    );
    match root.ensure_kv2("kv1").await {
        Err(VaultError::NotKv2 { mount, found }) => {
            assert_eq!((mount.as_str(), found), ("kv1", MountKind::Kv1));
        }
        other => panic!("kv1 passed the KV v2 check: {other:?}"),
    }
    assert!(root.ensure_kv2("secret").await.is_ok());

    // Answers are kept for the client's life (and its clones'): with kv1 gone, the client
    // still answers from what it was told, while a new client asks again.
    let disabled = bao.call("DELETE", "/v1/sys/mounts/kv1", None);
    assert_eq!(disabled.status, 204, "{}", disabled.body);
    assert_eq!(
        root.clone().mount_kind("kv1").await.unwrap(),
        MountKind::Kv1
    );
    let fresh = root_client(&bao).await;
    assert_eq!(
        fresh.mount_kind("kv1").await.unwrap(),
        MountKind::Unreachable
    );
}

#[tokio::test]
async fn non_string_values_read_back_as_json_text() {
    let bao = OpenBao::start();
    let client = root_client(&bao).await;
    bao.kv_put(
        "secret",
        "typed",
        json!({"n": 6, "f": 1.5, "b": true, "z": null, "l": ["a", 1], "s": "2g"}),
    );
    let read = client
        .read_opt("secret", "typed")
        .await
        .unwrap()
        .expect("present");
    assert_eq!(
        read.data,
        map(&[
            ("b", "true"),
            ("f", "1.5"),
            ("l", r#"["a",1]"#),
            ("n", "6"),
            ("s", "2g"),
            ("z", "null"),
        ])
    );
}

#[tokio::test]
async fn missing_soft_deleted_and_destroyed_secrets_read_as_none() {
    let bao = OpenBao::start();
    let client = root_client(&bao).await;

    assert_eq!(client.read_opt("secret", "never").await.unwrap(), None);
    assert_eq!(
        client.read_metadata_opt("secret", "never").await.unwrap(),
        None
    );
    assert_eq!(client.read_opt("no-such-mount", "x").await.unwrap(), None);
    // Deleting what is not there is fine both ways.
    client.delete_latest("secret", "never").await.unwrap();
    client.delete_all("secret", "never").await.unwrap();

    // Soft delete through the client.
    client
        .write_cas("secret", "soft", &map(&[("k", "v")]), 0)
        .await
        .unwrap();
    client.delete_latest("secret", "soft").await.unwrap();
    assert_eq!(client.read_opt("secret", "soft").await.unwrap(), None);
    assert_eq!(
        bao.kv_versions("secret", "soft"),
        vec![KvVersion {
            version: 1,
            deleted: true,
            destroyed: false
        }]
    );
    // The deleted version still counts as current: re-creating needs cas = 1, not 0.
    let metadata = client
        .read_metadata_opt("secret", "soft")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(metadata.current_version, 1);
    assert!(matches!(
        client
            .write_cas("secret", "soft", &map(&[("k", "v")]), 0)
            .await,
        Err(VaultError::CasMismatch { expected: 0, .. })
    ));
    assert_eq!(
        client
            .write_cas("secret", "soft", &map(&[("k", "v2")]), 1)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        client
            .read_opt("secret", "soft")
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // Soft delete and destroy by hand.
    bao.soft_delete("secret", "soft");
    assert_eq!(client.read_opt("secret", "soft").await.unwrap(), None);
    client
        .write_cas("secret", "destroyed", &map(&[("k", "v")]), 0)
        .await
        .unwrap();
    bao.destroy_versions("secret", "destroyed", &[1]);
    assert_eq!(client.read_opt("secret", "destroyed").await.unwrap(), None);

    // delete_all removes every version and the metadata.
    client.delete_all("secret", "soft").await.unwrap();
    assert_eq!(
        client.read_metadata_opt("secret", "soft").await.unwrap(),
        None
    );
    assert_eq!(bao.kv_versions("secret", "soft"), vec![]);
    assert_eq!(
        client
            .write_cas("secret", "soft", &map(&[("k", "v")]), 0)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn metadata_is_written_and_read_without_new_versions() {
    let bao = OpenBao::start();
    let client = root_client(&bao).await;
    let custom = map(&[("owner", "team-etl"), ("managed-by", "konoha")]);

    // Metadata before any data: a secret with no version, which still reads as absent.
    client
        .write_metadata("secret", "meta", Some(5), &custom)
        .await
        .unwrap();
    assert_eq!(
        client.read_metadata_opt("secret", "meta").await.unwrap(),
        Some(SecretMetadata {
            current_version: 0,
            max_versions: 5,
            custom_metadata: custom.clone(),
            cas_required: false,
        })
    );
    assert_eq!(client.read_opt("secret", "meta").await.unwrap(), None);
    assert_eq!(
        client
            .write_cas("secret", "meta", &map(&[("k", "v")]), 0)
            .await
            .unwrap(),
        1
    );
    // The data read carries the custom metadata too, so a reader may skip the metadata endpoint.
    assert_eq!(
        client.read_opt("secret", "meta").await.unwrap(),
        Some(SecretVersion {
            data: map(&[("k", "v")]),
            version: 1,
            custom_metadata: custom.clone(),
        })
    );

    // None keeps max_versions; an empty map clears custom metadata; no version is added.
    client
        .write_metadata("secret", "meta", None, &BTreeMap::new())
        .await
        .unwrap();
    let after = client
        .read_metadata_opt("secret", "meta")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        after,
        SecretMetadata {
            current_version: 1,
            max_versions: 5,
            custom_metadata: BTreeMap::new(),
            cas_required: false,
        }
    );
    assert_eq!(
        bao.kv_metadata("secret", "meta").unwrap()["max_versions"],
        json!(5)
    );

    // Works on a second, nested KV v2 mount too.
    bao.enable_kv2("kv/platform");
    client
        .write_cas("kv/platform", "a/b", &map(&[("k", "v")]), 0)
        .await
        .unwrap();
    assert_eq!(
        bao.kv_get("kv/platform", "a/b"),
        Some((json!({"k": "v"}), 1))
    );
}

#[tokio::test]
async fn a_token_without_capabilities_gets_permission_denied_with_the_path() {
    let bao = OpenBao::start();
    bao.put_policy(
        "read-team",
        r#"path "secret/data/team/*" { capabilities = ["read"] }"#,
    );
    let token = bao.create_token(&["read-team"]);
    let client = VaultClient::connect(&settings_for(&bao, &token))
        .await
        .unwrap();
    bao.kv_put("secret", "team/etl", json!({"k": "v"}));

    // Allowed: read under team/.
    assert_eq!(
        client
            .read_opt("secret", "team/etl")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );

    let write = client
        .write_cas("secret", "team/etl", &map(&[("k", "w")]), 1)
        .await;
    let err = write.expect_err("write must be denied");
    assert!(
        matches!(&err, VaultError::PermissionDenied { action: "write", path, .. } if path == "secret/team/etl"),
        "{err:?}"
    );
    assert_eq!(err.status(), Some(403));
    assert_eq!(
        err.to_string(),
        "the Vault token lacks permission to write secret/team/etl"
    );
    assert!(
        !format!("{err} {err:?}").contains(&token),
        "token leaked: {err:?}"
    );

    let read = client.read_opt("secret", "other/x").await;
    assert!(
        matches!(&read, Err(VaultError::PermissionDenied { action: "read", path, .. }) if path == "secret/other/x"),
        "{read:?}"
    );
    let delete = client.delete_all("secret", "team/etl").await;
    assert!(
        matches!(
            &delete,
            Err(VaultError::PermissionDenied {
                action: "delete all versions of",
                ..
            })
        ),
        "{delete:?}"
    );
    assert_eq!(
        bao.kv_get("secret", "team/etl").unwrap().1,
        1,
        "nothing was changed"
    );

    // A bad token is a 403 too.
    let bogus = VaultClient::connect(&settings_for(&bao, "not-a-token"))
        .await
        .unwrap();
    assert!(matches!(
        bogus.read_metadata_opt("secret", "team/etl").await,
        Err(VaultError::PermissionDenied { .. })
    ));
}

#[tokio::test]
async fn approle_login_gets_a_working_token() {
    let bao = OpenBao::start();
    bao.put_policy(
        "profiles",
        r#"path "secret/data/profiles/*" { capabilities = ["create", "read", "update"] }"#,
    );
    bao.enable_approle("approle");
    let (role_id, secret_id) = bao.create_approle("approle", "konoha", &["profiles"]);

    let mut settings = VaultSettings::new(bao.addr.clone());
    settings.approle = Some(AppRoleLogin::new(role_id.clone(), secret_id.clone()));
    let client = VaultClient::connect(&settings)
        .await
        .expect("AppRole login");
    assert_eq!(
        client
            .write_cas("secret", "profiles/etl", &map(&[("k", "v")]), 0)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        bao.kv_get("secret", "profiles/etl"),
        Some((json!({"k": "v"}), 1))
    );
    // The login token carries the role's policies, not root's.
    assert!(matches!(
        client
            .write_cas("secret", "elsewhere", &map(&[("k", "v")]), 0)
            .await,
        Err(VaultError::PermissionDenied { .. })
    ));

    // AppRole wins over an (invalid) token, and a custom mount is honoured.
    bao.enable_approle("ci-approle");
    let (ci_role, ci_secret) = bao.create_approle("ci-approle", "ci", &["profiles"]);
    let mut custom = settings.clone();
    custom.token = Some(Secret::new("ambient-but-invalid"));
    custom.approle = Some(AppRoleLogin {
        mount: "ci-approle".to_owned(),
        ..AppRoleLogin::new(ci_role, ci_secret)
    });
    let ci = VaultClient::connect(&custom)
        .await
        .expect("AppRole login at ci-approle");
    assert_eq!(
        ci.read_opt("secret", "profiles/etl")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );

    // A wrong secret id fails the login, with Vault's reason and without the secret.
    let mut wrong = settings.clone();
    wrong.approle = Some(AppRoleLogin::new(role_id, "wrong-secret-id"));
    let err = VaultClient::connect(&wrong)
        .await
        .expect_err("login must fail");
    assert!(
        matches!(&err, VaultError::AppRoleLogin { mount, .. } if mount == "approle"),
        "{err:?}"
    );
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("invalid role or secret ID"), "{shown}");
    assert!(
        !shown.contains("wrong-secret-id") && !shown.contains(&secret_id),
        "{shown}"
    );
}

#[tokio::test]
async fn namespace_setting_reaches_the_namespace() {
    let bao = OpenBao::start();
    bao.create_namespace("team");
    let mount = bao.call_in(
        "team",
        "POST",
        "/v1/sys/mounts/kv",
        Some(json!({"type": "kv", "options": {"version": "2"}})),
    );
    assert_eq!(mount.status, 204, "{:?}", mount.body);

    let mut settings = settings_for(&bao, &bao.token);
    settings.namespace = Some("team".to_owned());
    let client = VaultClient::connect(&settings).await.unwrap();
    assert_eq!(
        client
            .write_cas("kv", "etl", &map(&[("k", "v")]), 0)
            .await
            .unwrap(),
        1
    );

    let inside = bao.call_in("team", "GET", "/v1/kv/data/etl", None);
    assert_eq!(inside.status, 200);
    assert_eq!(inside.body["data"]["data"], json!({"k": "v"}));
    assert_eq!(
        bao.call("GET", "/v1/kv/data/etl", None).status,
        404,
        "not in the root namespace"
    );
}

#[tokio::test]
async fn tls_trusts_the_configured_ca_or_skips_verification_when_asked() {
    let bao = OpenBao::start_tls();
    let ca = bao.ca_cert_file().expect("CA file").to_path_buf();

    let mut trusted = settings_for(&bao, &bao.token);
    trusted.ca_cert_file = Some(ca.clone());
    let client = VaultClient::connect(&trusted).await.unwrap();
    assert_eq!(
        client
            .write_cas("secret", "tls", &map(&[("k", "v")]), 0)
            .await
            .unwrap(),
        1
    );

    let untrusted = VaultClient::connect(&settings_for(&bao, &bao.token))
        .await
        .unwrap();
    let err = untrusted
        .read_opt("secret", "tls")
        .await
        .expect_err("unknown CA must fail");
    assert!(matches!(err, VaultError::Unreachable { .. }), "{err:?}");

    let mut skipping = settings_for(&bao, &bao.token);
    skipping.skip_tls_verify = true;
    let client = VaultClient::connect(&skipping).await.unwrap();
    assert_eq!(
        client
            .read_opt("secret", "tls")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );

    let mut missing = trusted.clone();
    missing.ca_cert_file = Some(ca.with_file_name("no-such-ca.pem"));
    assert!(matches!(
        VaultClient::connect(&missing).await,
        Err(VaultError::BuildClient { .. })
    ));
}

#[tokio::test]
async fn a_closed_port_is_reported_as_unreachable() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("http://127.0.0.1:{port}");
    let mut settings = VaultSettings::new(address.clone());
    settings.token = Some(Secret::new("t"));
    let client = VaultClient::connect(&settings).await.unwrap();
    let err = client
        .read_opt("secret", "x")
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(&err, VaultError::Unreachable { address: a, action: "read", path, .. } if *a == address && path == "secret/x"),
        "{err:?}"
    );
    assert!(err.is_transient());
    assert_eq!(
        err.to_string(),
        format!("Vault is unreachable at {address} (while trying to read secret/x)")
    );

    settings.approle = Some(AppRoleLogin::new("r", "s"));
    let login = VaultClient::connect(&settings)
        .await
        .expect_err("login must fail");
    assert!(
        matches!(&login, VaultError::Unreachable { path, .. } if path == "auth/approle/login"),
        "{login:?}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    // Accepts connections (the kernel does) but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut settings = VaultSettings::new(format!("http://{}", listener.local_addr().unwrap()));
    settings.token = Some(Secret::new("t"));
    settings.request_timeout = Duration::from_millis(300);
    let client = VaultClient::connect(&settings).await.unwrap();
    let err = client
        .write_cas("secret", "x", &map(&[("k", "v")]), 0)
        .await
        .expect_err("must time out");
    assert!(
        matches!(&err, VaultError::TimedOut { action: "write", timeout, .. } if *timeout == Duration::from_millis(300)),
        "{err:?}"
    );
    assert!(err.is_transient());
    drop(listener);
}

/// Vault holds versions as signed 64-bit numbers: a check-and-set version past 32 bits is sent
/// as is (and loses, as no such version exists), one past 63 bits is refused before any request.
#[tokio::test]
async fn check_and_set_versions_reach_vault_up_to_63_bits() {
    let bao = OpenBao::start();
    let client = root_client(&bao).await;
    let data = map(&[("k", "v")]);
    let past_32_bits = u64::from(u32::MAX) + 1;
    let err = client
        .write_cas("secret", "big", &data, past_32_bits)
        .await
        .expect_err("no such version");
    assert!(
        matches!(&err, VaultError::CasMismatch { expected, .. } if *expected == past_32_bits),
        "{err:?}"
    );
    let past_63_bits = 1u64 << 63;
    let err = client
        .write_cas("secret", "big", &data, past_63_bits)
        .await
        .expect_err("too large");
    assert!(
        matches!(&err, VaultError::CasOutOfRange { cas, .. } if *cas == past_63_bits),
        "{err:?}"
    );
    assert_eq!(bao.kv_get("secret", "big"), None, "nothing was written");
}
