//! Defaults, resolution and profile refs; also the base inputs other modules' tests build on.

use super::*;

pub(crate) const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub(crate) fn set(text: &str) -> Field<String> {
    Field::Set(text.to_owned())
}

/// The smallest valid input: name, image, profile, a Vault role and the engine image.
pub(crate) fn minimal() -> ServerInput {
    ServerInput {
        name: set("kyuubi-dbt"),
        image: set("apache/kyuubi:1.10.2-spark"),
        engine: Field::Set(EngineInput {
            image: set("apache/spark:3.5.3"),
            ..EngineInput::default()
        }),
        spark_profile: Field::Set(format!("secret/team/etl@sha256:{SHA}")),
        vault_agent: Field::Set(VaultAgentInput {
            role: set("kyuubi"),
            ..VaultAgentInput::default()
        }),
        ..ServerInput::default()
    }
}

#[test]
fn defaults_fill_every_setting() {
    let settings = resolve(&minimal()).expect("resolves");
    let expected = ServerSettings {
        name: "kyuubi-dbt".into(),
        namespace: "kyuubi".into(),
        image: "apache/kyuubi:1.10.2-spark".into(),
        replicas: 1,
        share_level: ShareLevel::User,
        thrift_binary_port: 10009,
        rest_port: 10099,
        thrift_http_port: None,
        service_type: ServiceType::ClusterIp,
        profile: ProfileRef {
            mount: "secret".into(),
            name: "team/etl".into(),
            sha256: SHA.into(),
        },
        delivery: Delivery::VaultAgent(VaultAgent {
            role: "kyuubi".into(),
            auth_path: None,
            annotation_prefix: "vault.hashicorp.com".into(),
            pre_populate: true,
        }),
        engine: Engine {
            namespace: "kyuubi".into(),
            service_account: "kyuubi-dbt-spark".into(),
            image: "apache/spark:3.5.3".into(),
            file_upload_path: None,
            idle_timeout: None,
            initialize_timeout: None,
            identity: ENGINE_IDENTITY,
        },
        metrics: Metrics {
            enabled: true,
            port: 10019,
        },
        kyuubi_conf: BTreeMap::new(),
        ha: None,
        resources: Resources::default(),
        identity: SERVER_IDENTITY,
        labels: BTreeMap::new(),
        placement: crate::placement::PodPlacement::default(),
        restart_engines: false,
        wait_for_rollout: true,
        force_conflicts: false,
        progress_deadline_seconds: 600,
    };
    assert_eq!(settings, expected);
    assert_eq!(settings.profile.data_path(), "secret/data/team/etl");
}

#[test]
fn ha_namespace_defaults_to_one_per_server() {
    let input = ServerInput {
        ha: Field::Set(HaInput {
            addresses: set("zk:2181"),
            namespace: Field::Unset,
        }),
        ..minimal()
    };
    let ha = resolve(&input).and_then(|s| s.ha);
    assert_eq!(
        ha,
        Some(Ha {
            addresses: "zk:2181".into(),
            namespace: "kyuubi-kyuubi-kyuubi-dbt".into()
        })
    );
}

#[test]
fn unknown_or_missing_values_stop_resolution() {
    let cases: Vec<(&str, ServerInput)> = vec![
        (
            "name unknown",
            ServerInput {
                name: Field::Unknown,
                ..minimal()
            },
        ),
        (
            "image unset",
            ServerInput {
                image: Field::Unset,
                ..minimal()
            },
        ),
        (
            "port unknown",
            ServerInput {
                rest_port: Field::Unknown,
                ..minimal()
            },
        ),
        (
            "engine image unset",
            ServerInput {
                engine: Field::Unset,
                ..minimal()
            },
        ),
        (
            "engine unknown",
            ServerInput {
                engine: Field::Unknown,
                ..minimal()
            },
        ),
        (
            "bad share level",
            ServerInput {
                share_level: set("ALL"),
                ..minimal()
            },
        ),
        (
            "bad ref",
            ServerInput {
                spark_profile: set("secret/etl"),
                ..minimal()
            },
        ),
        (
            "vault role missing",
            ServerInput {
                vault_agent: Field::Unset,
                ..minimal()
            },
        ),
        (
            "label value unknown",
            ServerInput {
                labels: Field::Set(BTreeMap::from([("team".to_owned(), Field::Unknown)])),
                ..minimal()
            },
        ),
        (
            "port out of range",
            ServerInput {
                thrift_http_port: Field::Set(70000),
                ..minimal()
            },
        ),
    ];
    for (what, input) in cases {
        assert_eq!(resolve(&input), None, "{what}");
    }
    // kubernetes-secret delivery does not need the vault_agent block at all.
    let secret = ServerInput {
        delivery: set("kubernetes-secret"),
        vault_agent: Field::Unknown,
        ..minimal()
    };
    assert_eq!(
        resolve(&secret).map(|s| s.delivery),
        Some(Delivery::KubernetesSecret)
    );
}

#[test]
fn profile_refs_parse_only_in_their_shape() {
    assert_eq!(
        parse_profile_ref(&format!("kv/etl@sha256:{SHA}")),
        Some(ProfileRef {
            mount: "kv".into(),
            name: "etl".into(),
            sha256: SHA.into()
        })
    );
    let upper = SHA.to_uppercase();
    for bad in [
        format!("etl@sha256:{SHA}"),
        format!("kv/@sha256:{SHA}"),
        format!("/kv/etl@sha256:{SHA}"),
        format!("kv//etl@sha256:{SHA}"),
        format!("kv/../etl@sha256:{SHA}"),
        format!("kv/my etl@sha256:{SHA}"),
        format!("kv/etl@sha256:{upper}"),
        format!("kv/etl@sha256:{}", &SHA[1..]),
        format!("kv/etl#x@sha256:{SHA}"),
        "kv/etl".to_owned(),
    ] {
        assert_eq!(parse_profile_ref(&bad), None, "{bad}");
    }
}

#[test]
fn urls_name_the_service() {
    assert_eq!(
        jdbc_url("kyuubi-dbt", "kyuubi", 10009),
        "jdbc:kyuubi://kyuubi-dbt.kyuubi.svc.cluster.local:10009/"
    );
    assert_eq!(
        rest_url("kyuubi-dbt", "data", 10099),
        "http://kyuubi-dbt.data.svc.cluster.local:10099/api/v1"
    );
}

#[test]
fn enums_round_trip_their_spelling() {
    for (level, text) in ShareLevel::ALL {
        assert_eq!(level.as_str(), text);
        assert_eq!(ShareLevel::parse(text), Some(level));
    }
    for (kind, text) in ServiceType::ALL {
        assert_eq!(kind.as_str(), text);
        assert_eq!(ServiceType::parse(text), Some(kind));
    }
    assert_eq!(ShareLevel::parse("user"), None);
    assert_eq!(ServiceType::parse("clusterip"), None);
}
