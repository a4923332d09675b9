//! The pure parts: which backend `KUBEBUILDER_ASSETS` selects, the flags, token file and
//! kubeconfig, the certificates' names and chain, merge patches, timestamps, response parsing,
//! and the stand-ins' decisions.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use x509_parser::extensions::GeneralName;
use x509_parser::pem::parse_x509_pem;

use crate::support::cluster::{Backend, choose_backend};
use crate::support::envtest::config::{
    ApiserverFlags, Layout, apiserver_args, controller_manager_args, etcd_args, kubeconfig_text,
    token_file_line,
};
use crate::support::envtest::control::{merge_patch, rfc3339, with_query};
use crate::support::envtest::http::{parse_reply, percent_encode};
use crate::support::envtest::pki::{Pki, PkiFiles};
use crate::support::envtest::standin::{deployment_status, owning_deployment, should_mark_ready};

fn layout() -> Layout {
    Layout {
        dir: PathBuf::from("/t"),
        etcd_port: 2001,
        etcd_peer_port: 2002,
        api_port: 6443,
    }
}

#[test]
fn the_assets_variable_picks_the_backend() {
    let both = |p: &Path| p.ends_with("etcd") || p.ends_with("kube-apiserver");
    let only_etcd = |p: &Path| p.ends_with("etcd");
    assert_eq!(choose_backend(None, both), Ok(Backend::Double));
    assert_eq!(
        choose_backend(Some(OsStr::new("")), both),
        Ok(Backend::Double)
    );
    assert_eq!(
        choose_backend(Some(OsStr::new("/assets")), both),
        Ok(Backend::Real(PathBuf::from("/assets")))
    );
    let missing = choose_backend(Some(OsStr::new("/assets")), only_etcd).unwrap_err();
    assert!(
        missing.contains("KUBEBUILDER_ASSETS=/assets") && missing.contains("kube-apiserver not"),
        "{missing}"
    );
    let neither = choose_backend(Some(OsStr::new("/x")), |_| false).unwrap_err();
    assert!(neither.contains("kube-apiserver and etcd not"), "{neither}");
}

#[test]
fn etcd_runs_one_loopback_member_in_the_temp_dir() {
    let args = etcd_args(&layout(), true);
    for flag in [
        "--data-dir=/t/etcd",
        "--listen-client-urls=http://127.0.0.1:2001",
        "--advertise-client-urls=http://127.0.0.1:2001",
        "--listen-peer-urls=http://127.0.0.1:2002",
        "--initial-advertise-peer-urls=http://127.0.0.1:2002",
        "--initial-cluster=envtest=http://127.0.0.1:2002",
        "--unsafe-no-fsync=true",
    ] {
        assert!(
            args.contains(&flag.to_owned()),
            "{flag} missing from {args:?}"
        );
    }
    assert!(
        !etcd_args(&layout(), false)
            .iter()
            .any(|a| a.contains("fsync"))
    );
}

#[test]
fn the_apiserver_gets_envtests_flags_with_our_certificates_and_token_file() {
    let files = PkiFiles::in_dir(Path::new("/t"));
    let args = apiserver_args(&layout(), &files, ApiserverFlags::default());
    for flag in [
        "--etcd-servers=http://127.0.0.1:2001",
        "--secure-port=6443",
        "--bind-address=127.0.0.1",
        "--tls-cert-file=/t/apiserver.crt",
        "--tls-private-key-file=/t/apiserver.key",
        "--client-ca-file=/t/ca.crt",
        "--service-cluster-ip-range=10.0.0.0/24",
        "--service-account-issuer=https://127.0.0.1:6443/",
        "--service-account-key-file=/t/sa.pub",
        "--service-account-signing-key-file=/t/sa.key",
        "--authorization-mode=RBAC",
        "--token-auth-file=/t/tokens.csv",
        "--allow-privileged=true",
        "--disable-admission-plugins=ServiceAccount",
    ] {
        assert!(
            args.contains(&flag.to_owned()),
            "{flag} missing from {args:?}"
        );
    }
    assert!(!args.iter().any(|a| a.starts_with("--insecure-port")));
    let old = ApiserverFlags {
        insecure_port: true,
        ..ApiserverFlags::default()
    };
    assert!(apiserver_args(&layout(), &files, old).contains(&"--insecure-port=0".to_owned()));
    let sharded = ApiserverFlags {
        storage_shards: true,
        ..ApiserverFlags::default()
    };
    let shard = format!("--initial-storage-shards={}", layout().etcd_url());
    assert!(apiserver_args(&layout(), &files, sharded).contains(&shard));
    assert!(
        !args.contains(&shard),
        "a stock API server has no such flag"
    );
    assert!(
        args.contains(&"--feature-gates=ConsistentListFromCache=false,WatchList=false".to_owned())
    );

    let manager = controller_manager_args(&layout(), &files);
    for flag in [
        "--kubeconfig=/t/kubeconfig",
        "--controllers=deployment,replicaset,garbagecollector,namespace",
        "--leader-elect=false",
        "--secure-port=0",
        "--service-account-private-key-file=/t/sa.key",
    ] {
        assert!(
            manager.contains(&flag.to_owned()),
            "{flag} missing from {manager:?}"
        );
    }
}

#[test]
fn the_token_file_puts_the_admin_in_system_masters() {
    let line = token_file_line("s3cret");
    assert_eq!(
        line,
        "s3cret,konoha-admin,konoha-admin,\"system:masters\"\n"
    );
}

#[test]
fn the_kubeconfig_parses_with_server_ca_and_token() {
    let text = kubeconfig_text("https://127.0.0.1:6443", "PEM TEXT\n", "tok");
    let config = kube::config::Kubeconfig::from_yaml(&text).unwrap();
    let cluster = config.clusters[0].cluster.as_ref().unwrap();
    assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
    use base64::Engine;
    let ca = base64::engine::general_purpose::STANDARD
        .decode(cluster.certificate_authority_data.as_ref().unwrap())
        .unwrap();
    assert_eq!(ca, b"PEM TEXT\n");
    let user = config.auth_infos[0].auth_info.as_ref().unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(user.token.as_ref().unwrap().expose_secret(), "tok");
    assert_eq!(config.current_context.as_deref(), Some("envtest"));
}

#[test]
fn the_serving_certificate_names_loopback_and_chains_to_the_ca() {
    let pki = Pki::generate();
    let (_, ca_pem) = parse_x509_pem(pki.ca_pem.as_bytes()).unwrap();
    let ca = ca_pem.parse_x509().unwrap();
    assert!(ca.basic_constraints().unwrap().unwrap().value.ca);
    let (_, serving_pem) = parse_x509_pem(pki.serving_cert_pem.as_bytes()).unwrap();
    let serving = serving_pem.parse_x509().unwrap();
    assert_eq!(serving.issuer(), ca.subject());
    let sans = serving.subject_alternative_name().unwrap().unwrap();
    let names: Vec<String> = sans
        .value
        .general_names
        .iter()
        .map(|n| match n {
            GeneralName::IPAddress(ip) => format!("ip:{ip:?}"),
            GeneralName::DNSName(d) => format!("dns:{d}"),
            other => format!("{other:?}"),
        })
        .collect();
    assert_eq!(names, ["ip:[127, 0, 0, 1]", "dns:localhost"]);
    assert!(
        serving
            .extended_key_usage()
            .unwrap()
            .unwrap()
            .value
            .server_auth
    );
    assert!(pki.sa_key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(pki.sa_pub_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert_ne!(
        Pki::generate().ca_pem,
        pki.ca_pem,
        "fresh material each time"
    );
    assert!(!format!("{pki:?}").contains("PRIVATE"), "no keys in Debug");
}

#[test]
fn merge_patches_carry_changes_removals_and_whole_lists() {
    let before = json!({"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2], "gone": true});
    let after = json!({"a": 1, "b": {"c": 2, "d": 4, "e": 5}, "l": [1], "new": "x"});
    assert_eq!(
        merge_patch(&before, &after),
        json!({"b": {"d": 4, "e": 5}, "l": [1], "new": "x", "gone": null})
    );
    assert_eq!(merge_patch(&before, &before), json!({}));
    assert_eq!(merge_patch(&json!(1), &json!({"a": 1})), json!({"a": 1}));
}

#[test]
fn timestamps_are_rfc3339_utc() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(rfc3339(4_107_542_399), "2100-02-28T23:59:59Z");
}

#[test]
fn queries_are_percent_encoded_and_appended() {
    assert_eq!(percent_encode("a.b/c=d,e!=f"), "a.b%2Fc%3Dd%2Ce%21%3Df");
    assert_eq!(
        with_query("/p", &[("fieldManager", "k"), ("force", "true")]),
        "/p?fieldManager=k&force=true"
    );
    assert_eq!(with_query("/p?x=1", &[("y", "2")]), "/p?x=1&y=2");
}

#[test]
fn replies_parse_with_length_chunks_or_plain_text() {
    let plain = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n{\"a\":1}trailing";
    assert_eq!(parse_reply(plain).unwrap().body, json!({"a": 1}));
    let chunked = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:2}\r\n0\r\n\r\n";
    let reply = parse_reply(chunked).unwrap();
    assert_eq!((reply.status, reply.body), (201, json!({"a": 2})));
    let text = parse_reply(b"HTTP/1.0 200 OK\r\n\r\nok").unwrap();
    assert_eq!(text.body, Value::from("ok"));
    assert!(parse_reply(b"garbage").is_err());
}

fn deployment(generation: i64, deadline: u64) -> Value {
    json!({"metadata": {"name": "d", "generation": generation},
           "spec": {"replicas": 2, "progressDeadlineSeconds": deadline}})
}

fn condition<'a>(status: &'a Value, kind: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap()
}

#[test]
fn the_controller_stand_in_reports_complete_stalled_and_exceeded_rollouts() {
    let done = deployment_status(&deployment(3, 10), false, Duration::ZERO, "T1");
    assert_eq!(done["observedGeneration"], 3);
    for field in [
        "replicas",
        "updatedReplicas",
        "readyReplicas",
        "availableReplicas",
    ] {
        assert_eq!(done[field], 2, "{field}: {done}");
    }
    assert!(done.get("unavailableReplicas").is_none());
    assert_eq!(condition(&done, "Available")["status"], "True");
    assert_eq!(
        condition(&done, "Progressing")["reason"],
        "NewReplicaSetAvailable"
    );

    // Fed back, an unchanged status keeps its timestamps, so it compares equal.
    let mut stored = deployment(3, 10);
    stored["status"] = done.clone();
    assert_eq!(
        deployment_status(&stored, false, Duration::ZERO, "T2"),
        done
    );

    let waiting = deployment_status(&stored, true, Duration::from_secs(5), "T3");
    assert_eq!(waiting["unavailableReplicas"], 2);
    assert!(waiting.get("readyReplicas").is_none());
    let progressing = condition(&waiting, "Progressing");
    assert_eq!(progressing["reason"], "ReplicaSetUpdated");
    assert_eq!(
        progressing["lastTransitionTime"], "T1",
        "status stayed True"
    );
    assert_eq!(progressing["lastUpdateTime"], "T3");
    assert_eq!(condition(&waiting, "Available")["lastTransitionTime"], "T3");

    let exceeded = deployment_status(&stored, true, Duration::from_secs(11), "T4");
    let progressing = condition(&exceeded, "Progressing");
    assert_eq!(
        (&progressing["status"], &progressing["reason"]),
        (&json!("False"), &json!("ProgressDeadlineExceeded"))
    );
    assert!(
        progressing["message"]
            .as_str()
            .unwrap()
            .contains("timed out progressing")
    );
}

#[test]
fn the_kubelet_stand_in_knows_a_pods_deployment_and_when_to_leave_it() {
    let pod = |rs: &str, hash: &str, image: &str| {
        json!({"metadata": {"namespace": "ns", "labels": {"pod-template-hash": hash},
                            "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": true}]},
               "spec": {"containers": [{"image": image}]}})
    };
    let mine = pod("kyuubi-dbt-7c9f8", "7c9f8", "apache/kyuubi:1");
    assert_eq!(owning_deployment(&mine).as_deref(), Some("kyuubi-dbt"));
    assert_eq!(owning_deployment(&pod("other-rs", "7c9f8", "i")), None);
    assert_eq!(owning_deployment(&json!({"metadata": {}})), None);

    let none = BTreeSet::new();
    assert!(should_mark_ready(&mine, &none));
    assert!(!should_mark_ready(
        &pod("kyuubi-dbt-7c9f8", "7c9f8", "apache/kyuubi:broken"),
        &none
    ));
    let stuck = BTreeSet::from([("ns".to_owned(), "kyuubi-dbt".to_owned())]);
    assert!(!should_mark_ready(&mine, &stuck));
    let mut ready = mine.clone();
    ready["status"] = json!({"conditions": [{"type": "Ready", "status": "True"}]});
    assert!(!should_mark_ready(&ready, &none));
}
