//! Case tables for every validation rule: each case states the whole list of violations, path
//! and message, that one bad input produces.

use std::collections::BTreeMap;

use super::*;
use crate::kyuubi::settings::tests::{SHA, minimal, set};
use crate::kyuubi::settings::{
    EngineInput, HaInput, MetricsInput, PodSecurityInput, ResourcesInput, VaultAgentInput,
};

fn violations(input: &ServerInput) -> Vec<String> {
    validate(input).iter().map(ToString::to_string).collect()
}

fn map(entries: &[(&str, &str)]) -> Field<BTreeMap<String, Field<String>>> {
    Field::Set(
        entries
            .iter()
            .map(|(k, v)| ((*k).to_owned(), set(v)))
            .collect(),
    )
}

fn check(cases: Vec<(ServerInput, Vec<&str>)>) {
    for (input, expected) in cases {
        assert_eq!(violations(&input), expected, "input: {input:#?}");
    }
}

#[test]
fn minimal_and_unknown_inputs_are_valid() {
    assert_eq!(violations(&minimal()), Vec::<String>::new());
    let unknown = ServerInput {
        name: Field::Unknown,
        namespace: Field::Unknown,
        image: Field::Unknown,
        replicas: Field::Unknown,
        share_level: Field::Unknown,
        thrift_binary_port: Field::Unknown,
        rest_port: Field::Unknown,
        thrift_http_port: Field::Unknown,
        service_type: Field::Unknown,
        spark_profile: Field::Unknown,
        delivery: Field::Unknown,
        vault_agent: Field::Unknown,
        engine: Field::Unknown,
        metrics: Field::Unknown,
        kyuubi_conf: Field::Unknown,
        ha: Field::Unknown,
        resources: Field::Unknown,
        pod_security_context: Field::Unknown,
        labels: Field::Unknown,
        node_selector: Field::Unknown,
        tolerations: Field::Unknown,
        affinity: Field::Unknown,
        restart_engines: Field::Unknown,
        wait_for_rollout: Field::Unknown,
        force_conflicts: Field::Unknown,
        progress_deadline_seconds: Field::Unknown,
    };
    assert_eq!(violations(&unknown), Vec::<String>::new());
}

#[test]
fn a_full_valid_input_passes() {
    let input = ServerInput {
        namespace: set("data"),
        replicas: Field::Set(3),
        share_level: set("SERVER_LOCAL"),
        thrift_http_port: Field::Set(10010),
        service_type: set("LoadBalancer"),
        vault_agent: Field::Set(VaultAgentInput {
            role: set("kyuubi"),
            auth_path: set("auth/k8s"),
            annotation_prefix: set("openbao.openbao.org"),
            pre_populate: Field::Set(false),
        }),
        engine: Field::Set(EngineInput {
            namespace: set("spark"),
            service_account: set("spark.driver"),
            image: set("apache/spark:3.5.3"),
            file_upload_path: set("s3a://bucket/uploads"),
            idle_timeout: set("PT30M"),
            initialize_timeout: set("PT3M"),
            run_as_user: Field::Unset,
            run_as_group: Field::Unset,
            fs_group: Field::Unset,
        }),
        metrics: Field::Set(MetricsInput {
            enabled: Field::Set(true),
            port: Field::Set(9090),
        }),
        kyuubi_conf: map(&[("kyuubi.session.conf.ignore.list", "spark.executor.memory")]),
        ha: Field::Set(HaInput {
            addresses: set("zk-0:2181,zk-1:2181"),
            namespace: set("dbt"),
        }),
        resources: Field::Set(ResourcesInput {
            requests_cpu: set("500m"),
            requests_memory: set("2Gi"),
            limits_cpu: set("2"),
            limits_memory: set("2Gi"),
        }),
        labels: map(&[("team", "data"), ("example.com/tier", "")]),
        ..minimal()
    };
    assert_eq!(violations(&input), Vec::<String>::new());
}

#[test]
fn names_and_image() {
    let long = "k".repeat(50);
    let long_message = format!(
        "name: \"{long}\" is 50 characters long, more than 49: the name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter) of at most 49 characters, so that the longest derived object name, \"<name>-spark-profile\", fits in 63"
    );
    check(vec![
        (
            ServerInput {
                name: Field::Unset,
                image: Field::Unset,
                ..minimal()
            },
            vec![
                "name: is required: the server's name, e.g. \"kyuubi-dbt\"",
                "image: is required: the server image, e.g. \"apache/kyuubi:1.10.2-spark\"",
            ],
        ),
        (
            ServerInput {
                name: set("1kyuubi"),
                ..minimal()
            },
            vec![
                "name: \"1kyuubi\" must start with a lowercase letter: the name must be a DNS-1035 label (lowercase letters, digits and '-', starting with a letter) of at most 49 characters, so that the longest derived object name, \"<name>-spark-profile\", fits in 63",
            ],
        ),
        (
            ServerInput {
                name: Field::Set(long.clone()),
                ..minimal()
            },
            vec![long_message.as_str()],
        ),
        (
            ServerInput {
                namespace: set("Data"),
                ..minimal()
            },
            vec![
                "namespace: \"Data\" may contain only lowercase letters, digits and '-': a namespace is a DNS-1123 label",
            ],
        ),
        (
            ServerInput {
                image: set(""),
                ..minimal()
            },
            vec!["image: \"\" is empty"],
        ),
        (
            ServerInput {
                image: set("apache/kyuubi: 1.10"),
                ..minimal()
            },
            vec!["image: \"apache/kyuubi: 1.10\" contains whitespace or control characters"],
        ),
    ]);
    assert_eq!(
        violations(&ServerInput {
            name: Field::Set("k".repeat(49)),
            ..minimal()
        }),
        Vec::<String>::new()
    );
}

#[test]
fn enums() {
    check(vec![
        (
            ServerInput {
                share_level: set("user"),
                ..minimal()
            },
            vec![
                "share_level: \"user\" is not one of \"CONNECTION\", \"USER\", \"GROUP\", \"SERVER_LOCAL\", \"SERVER\"",
            ],
        ),
        (
            ServerInput {
                service_type: set("Ingress"),
                ..minimal()
            },
            vec![
                "service_type: \"Ingress\" is not one of \"ClusterIP\", \"NodePort\", \"LoadBalancer\"",
            ],
        ),
        (
            ServerInput {
                delivery: set("csi"),
                ..minimal()
            },
            vec!["delivery: \"csi\" is not one of \"vault-agent\", \"kubernetes-secret\""],
        ),
    ]);
}

#[test]
fn replicas_and_ha() {
    let ha = |addresses: Field<String>, namespace: Field<String>| {
        Field::Set(HaInput {
            addresses,
            namespace,
        })
    };
    check(vec![
        (
            ServerInput {
                replicas: Field::Set(-1),
                ..minimal()
            },
            vec!["replicas: -1 is out of range: use 0 (stopped) or more"],
        ),
        (
            ServerInput {
                replicas: Field::Set(2),
                ..minimal()
            },
            vec![
                "replicas: 2 replicas need ha.addresses: without an external ZooKeeper each server starts its own embedded one, giving 2 unrelated servers with their own engines; set ha { addresses = \"zk-0:2181,zk-1:2181\" } or use 1 replica",
            ],
        ),
        (
            ServerInput {
                replicas: Field::Set(2),
                ha: ha(Field::Unset, set("x")),
                ..minimal()
            },
            vec![
                "replicas: 2 replicas need ha.addresses: without an external ZooKeeper each server starts its own embedded one, giving 2 unrelated servers with their own engines; set ha { addresses = \"zk-0:2181,zk-1:2181\" } or use 1 replica",
                "ha.addresses: is required: the discovery ensemble, e.g. \"zk-0:2181,zk-1:2181\"",
            ],
        ),
        (
            ServerInput {
                ha: ha(set("zk-0:2181,,zk-1:2181"), Field::Unset),
                ..minimal()
            },
            vec![
                "ha.addresses: \"zk-0:2181,,zk-1:2181\" is not a comma-separated list of endpoints without spaces, e.g. \"zk-0:2181,zk-1:2181\"",
            ],
        ),
        (
            ServerInput {
                ha: ha(set(""), Field::Unset),
                ..minimal()
            },
            vec![
                "ha.addresses: \"\" is not a comma-separated list of endpoints without spaces, e.g. \"zk-0:2181,zk-1:2181\"",
            ],
        ),
        (
            ServerInput {
                ha: ha(set("zk:2181"), set("a/b")),
                ..minimal()
            },
            vec![
                "ha.namespace: \"a/b\" is not a ZooKeeper node name: use letters, digits, '-', '_' and '.', e.g. \"kyuubi-dbt\"",
            ],
        ),
    ]);
    // Unknown addresses may turn out set: no violation yet.
    let pending = ServerInput {
        replicas: Field::Set(3),
        ha: ha(Field::Unknown, Field::Unset),
        ..minimal()
    };
    assert_eq!(violations(&pending), Vec::<String>::new());
    assert_eq!(
        violations(&ServerInput {
            replicas: Field::Set(0),
            ..minimal()
        }),
        Vec::<String>::new()
    );
}

#[test]
fn ports() {
    let metrics = |enabled: Field<bool>, port: i64| {
        Field::Set(MetricsInput {
            enabled,
            port: Field::Set(port),
        })
    };
    let zk = Field::Set(HaInput {
        addresses: set("zk:2181"),
        namespace: Field::Unset,
    });
    check(vec![
        (
            ServerInput {
                rest_port: Field::Set(0),
                ..minimal()
            },
            vec!["rest_port: 0 is not a port: use 1 to 65535"],
        ),
        (
            ServerInput {
                thrift_http_port: Field::Set(65536),
                ..minimal()
            },
            vec!["thrift_http_port: 65536 is not a port: use 1 to 65535"],
        ),
        (
            ServerInput {
                thrift_http_port: Field::Set(10009),
                ..minimal()
            },
            vec![
                "thrift_http_port: 10009 is already used by thrift_binary_port: every enabled port must differ",
            ],
        ),
        (
            ServerInput {
                rest_port: Field::Set(10009),
                ..minimal()
            },
            vec![
                "rest_port: 10009 is already used by thrift_binary_port: every enabled port must differ",
            ],
        ),
        (
            ServerInput {
                metrics: metrics(Field::Unset, 10099),
                ..minimal()
            },
            vec![
                "metrics.port: 10099 is already used by rest_port: every enabled port must differ",
            ],
        ),
        (
            ServerInput {
                thrift_binary_port: Field::Set(2181),
                ..minimal()
            },
            vec![
                "thrift_binary_port: 2181 is the port of the embedded ZooKeeper Kyuubi starts when ha.addresses is not set: choose another port",
            ],
        ),
    ]);
    // A disabled metrics port may coincide; with external ZooKeeper 2181 is free.
    let fine = [
        ServerInput {
            metrics: metrics(Field::Set(false), 10099),
            ..minimal()
        },
        ServerInput {
            thrift_binary_port: Field::Set(2181),
            ha: zk,
            ..minimal()
        },
        ServerInput {
            rest_port: Field::Unknown,
            metrics: metrics(Field::Unset, 10099),
            ..minimal()
        },
    ];
    for input in fine {
        assert_eq!(violations(&input), Vec::<String>::new(), "{input:#?}");
    }
}

#[test]
fn profile_ref_and_delivery() {
    let agent = |role: Field<String>, auth: Field<String>, prefix: Field<String>| {
        Field::Set(VaultAgentInput {
            role,
            auth_path: auth,
            annotation_prefix: prefix,
            pre_populate: Field::Unset,
        })
    };
    check(vec![
        (
            ServerInput {
                spark_profile: Field::Unset,
                ..minimal()
            },
            vec![
                "spark_profile: is required: a profile ref (<mount>/<name>@sha256:<64 lowercase hex digits>); use konoha_spark_profile.<x>.ref",
            ],
        ),
        (
            ServerInput {
                spark_profile: set("secret/data/etl"),
                ..minimal()
            },
            vec![
                "spark_profile: \"secret/data/etl\" is not a profile ref: expected <mount>/<name>@sha256:<64 lowercase hex digits>, e.g. \"secret/etl@sha256:…\"; use konoha_spark_profile.<x>.ref, which also orders the profile's write before this server",
            ],
        ),
        (
            ServerInput {
                vault_agent: Field::Unset,
                ..minimal()
            },
            vec![
                "vault_agent: is required with delivery = \"vault-agent\": set vault_agent { role = \"…\" } to the Kubernetes-auth role the injector logs in with, or use delivery = \"kubernetes-secret\"",
            ],
        ),
        (
            ServerInput {
                vault_agent: agent(Field::Unset, Field::Unset, Field::Unset),
                ..minimal()
            },
            vec![
                "vault_agent.role: is required: the Kubernetes-auth role the injector logs in with (bound to the server's ServiceAccount, named like the server)",
            ],
        ),
        (
            ServerInput {
                delivery: set("kubernetes-secret"),
                ..minimal()
            },
            vec![
                "vault_agent: applies only with delivery = \"vault-agent\": remove the block, or change delivery",
            ],
        ),
        (
            ServerInput {
                vault_agent: agent(set("my role"), set("/auth/k8s"), set("vault.example.com")),
                ..minimal()
            },
            vec![
                "vault_agent.role: \"my role\" contains whitespace or control characters",
                "vault_agent.auth_path: \"/auth/k8s\" starts or ends with '/': write it like \"auth/kubernetes\"",
                "vault_agent.annotation_prefix: \"vault.example.com\" is not one of \"vault.hashicorp.com\", \"openbao.openbao.org\"",
            ],
        ),
    ]);
    let secret = ServerInput {
        delivery: set("kubernetes-secret"),
        vault_agent: Field::Unset,
        ..minimal()
    };
    assert_eq!(violations(&secret), Vec::<String>::new());
    let full_sha = ServerInput {
        spark_profile: Field::Set(format!("kv/a/b@sha256:{SHA}")),
        ..minimal()
    };
    assert_eq!(violations(&full_sha), Vec::<String>::new());
}

#[test]
fn engine() {
    let base = || EngineInput {
        image: set("apache/spark:3.5.3"),
        ..EngineInput::default()
    };
    let engine = |e: EngineInput| ServerInput {
        engine: Field::Set(e),
        ..minimal()
    };
    let same_account = ServerInput {
        engine: Field::Set(EngineInput {
            service_account: set("kyuubi-dbt"),
            ..base()
        }),
        ..minimal()
    };
    assert_eq!(
        violations(&same_account),
        [
            "engine.service_account: \"kyuubi-dbt\" is the server's own ServiceAccount: drivers need their own, e.g. \"kyuubi-dbt-spark\" (the default)"
        ]
    );
    // In another namespace the same name is another account.
    let elsewhere = ServerInput {
        engine: Field::Set(EngineInput {
            namespace: set("spark"),
            service_account: set("kyuubi-dbt"),
            ..base()
        }),
        ..minimal()
    };
    assert_eq!(violations(&elsewhere), Vec::<String>::new());
    check(vec![
        (
            engine(EngineInput {
                namespace: set("spark_jobs"),
                ..base()
            }),
            vec![
                "engine.namespace: \"spark_jobs\" may contain only lowercase letters, digits and '-': a namespace is a DNS-1123 label",
            ],
        ),
        (
            engine(EngineInput {
                service_account: set("Spark"),
                ..base()
            }),
            vec![
                "engine.service_account: \"Spark\" is not a DNS subdomain: each dot-separated part may contain only lowercase letters, digits and '-': a ServiceAccount name is a DNS-1123 subdomain",
            ],
        ),
        (
            engine(EngineInput {
                image: set(""),
                file_upload_path: set("s3a://b/x\ny"),
                ..base()
            }),
            vec![
                "engine.image: \"\" is empty",
                "engine.file_upload_path: \"s3a://b/x\\ny\" contains whitespace or control characters",
            ],
        ),
        (
            engine(EngineInput {
                idle_timeout: set("30m"),
                initialize_timeout: set("PT3"),
                ..base()
            }),
            vec![
                "engine.idle_timeout: \"30m\" is not an ISO-8601 duration like \"PT30M\", \"PT1H\", \"PT45S\" or \"P1DT12H\" (upper case, no sign)",
                "engine.initialize_timeout: \"PT3\" is not an ISO-8601 duration like \"PT30M\", \"PT1H\", \"PT45S\" or \"P1DT12H\" (upper case, no sign)",
            ],
        ),
    ]);
}

#[test]
fn an_engine_image_is_required() {
    let hint = "is required: the Spark image drivers and executors run, e.g. \"apache/spark:3.5.3\": Spark on Kubernetes starts no engine without one";
    let expected = format!("engine.image: {hint}");
    check(vec![
        (
            ServerInput {
                engine: Field::Unset,
                ..minimal()
            },
            vec![expected.as_str()],
        ),
        (
            ServerInput {
                engine: Field::Set(EngineInput {
                    idle_timeout: set("PT30M"),
                    ..EngineInput::default()
                }),
                ..minimal()
            },
            vec![expected.as_str()],
        ),
        (
            ServerInput {
                engine: Field::Set(EngineInput {
                    image: Field::Unknown,
                    ..EngineInput::default()
                }),
                ..minimal()
            },
            vec![],
        ),
    ]);
}

#[test]
fn kyuubi_conf() {
    let conf = |entries: &[(&str, &str)]| ServerInput {
        kyuubi_conf: map(entries),
        ..minimal()
    };
    let keys = "kyuubi.engine.share.level, kyuubi.frontend.protocols, kyuubi.frontend.thrift.binary.bind.port, kyuubi.frontend.rest.bind.port, kyuubi.frontend.thrift.http.bind.port, kyuubi.frontend.bind.host, kyuubi.frontend.connection.url.use.hostname, kyuubi.kubernetes.namespace, kyuubi.session.engine.idle.timeout, kyuubi.session.engine.initialize.timeout, kyuubi.ha.addresses, kyuubi.ha.namespace, kyuubi.metrics.enabled, kyuubi.metrics.reporters, kyuubi.metrics.prometheus.port, kyuubi.metrics.prometheus.path";
    let share = format!(
        "kyuubi_conf[\"kyuubi.engine.share.level\"]: \"kyuubi.engine.share.level\" is set by the provider (set share_level instead); kyuubi_conf may not set any of: {keys}"
    );
    let host = format!(
        "kyuubi_conf[\"kyuubi.frontend.bind.host\"]: \"kyuubi.frontend.bind.host\" is set by the provider (konoha fixes its value); kyuubi_conf may not set any of: {keys}"
    );
    check(vec![
        (
            conf(&[("spark.executor.memory", "4g")]),
            vec![
                "kyuubi_conf[\"spark.executor.memory\"]: \"spark.executor.memory\" is not a Kyuubi setting: keys start with \"kyuubi.\"; Spark settings belong in the konoha_spark_profile",
            ],
        ),
        (
            conf(&[("kyuubi.", "x")]),
            vec![
                "kyuubi_conf[\"kyuubi.\"]: \"kyuubi.\" is not a Kyuubi setting: keys start with \"kyuubi.\"; Spark settings belong in the konoha_spark_profile",
            ],
        ),
        (
            conf(&[("kyuubi.a b", "x"), ("kyuubi.a=b", "x")]),
            vec![
                "kyuubi_conf[\"kyuubi.a b\"]: \"kyuubi.a b\" contains whitespace or one of = : \\ # !, which a properties file reads differently",
                "kyuubi_conf[\"kyuubi.a=b\"]: \"kyuubi.a=b\" contains whitespace or one of = : \\ # !, which a properties file reads differently",
            ],
        ),
        (conf(&[("kyuubi.engine.share.level", "USER")]), vec![&share]),
        (conf(&[("kyuubi.frontend.bind.host", "::")]), vec![&host]),
        (
            conf(&[
                ("kyuubi.x.a", "one\ntwo"),
                ("kyuubi.x.b", ""),
                ("kyuubi.x.c", "a\\b"),
                ("kyuubi.x.d", " a"),
                ("kyuubi.x.e", "a\u{7}"),
            ]),
            vec![
                "kyuubi_conf[\"kyuubi.x.a\"]: the value spans lines: kyuubi-defaults.conf holds one key=value per line",
                "kyuubi_conf[\"kyuubi.x.b\"]: the value is empty: remove the entry instead",
                "kyuubi_conf[\"kyuubi.x.c\"]: \"a\\\\b\" starts with whitespace or contains '\\', which a properties file would not keep as written",
                "kyuubi_conf[\"kyuubi.x.d\"]: \" a\" starts with whitespace or contains '\\', which a properties file would not keep as written",
                "kyuubi_conf[\"kyuubi.x.e\"]: the value contains control characters",
            ],
        ),
    ]);
    let unknown_value = ServerInput {
        kyuubi_conf: Field::Set(BTreeMap::from([("kyuubi.x".to_owned(), Field::Unknown)])),
        ..minimal()
    };
    assert_eq!(violations(&unknown_value), Vec::<String>::new());
}

#[test]
fn resources() {
    let res = |r: ResourcesInput| ServerInput {
        resources: Field::Set(r),
        ..minimal()
    };
    check(vec![
        (
            res(ResourcesInput {
                requests_cpu: set("half"),
                limits_memory: set("2GB"),
                ..ResourcesInput::default()
            }),
            vec![
                "resources.requests_cpu: \"half\" is not a Kubernetes quantity: write a non-negative number with an optional suffix, e.g. \"500m\", \"2\", \"512Mi\", \"4Gi\", \"1e3\"",
                "resources.limits_memory: \"2GB\" is not a Kubernetes quantity: write a non-negative number with an optional suffix, e.g. \"500m\", \"2\", \"512Mi\", \"4Gi\", \"1e3\"",
            ],
        ),
        (
            res(ResourcesInput {
                requests_cpu: set("1.5"),
                limits_cpu: set("1200m"),
                requests_memory: set("4Gi"),
                limits_memory: set("4G"),
            }),
            vec![
                "resources.requests_cpu: the CPU request \"1.5\" is above the limit \"1200m\": Kubernetes rejects such a pod; make the request at most the limit",
                "resources.requests_memory: the memory request \"4Gi\" is above the limit \"4G\": Kubernetes rejects such a pod; make the request at most the limit",
            ],
        ),
    ]);
    let equal = res(ResourcesInput {
        requests_cpu: set("0.5"),
        limits_cpu: set("500m"),
        ..ResourcesInput::default()
    });
    assert_eq!(violations(&equal), Vec::<String>::new());
}

#[test]
fn labels() {
    let labels = |entries: &[(&str, &str)]| ServerInput {
        labels: map(entries),
        ..minimal()
    };
    check(vec![
        (
            labels(&[("app.kubernetes.io/instance", "x")]),
            vec![
                "labels[\"app.kubernetes.io/instance\"]: \"app.kubernetes.io/instance\" is set by the provider on every object (with app.kubernetes.io/name, app.kubernetes.io/instance, app.kubernetes.io/managed-by); choose another key",
            ],
        ),
        (
            labels(&[("konoha.io/kyuubi-server", "other")]),
            vec![
                "labels[\"konoha.io/kyuubi-server\"]: \"konoha.io/kyuubi-server\" has the prefix \"konoha.io/\", which is the provider's (its labels find this server's pods and Spark drivers); choose another prefix",
            ],
        ),
        (
            labels(&[("-team", "a"), ("Example.com/tier", "a"), ("a/b/c", "a")]),
            vec![
                "labels[\"-team\"]: \"-team\" is not a label key: it has a name that must start and end with a letter or digit",
                "labels[\"Example.com/tier\"]: \"Example.com/tier\" is not a label key: it has a prefix that is not a DNS subdomain: each dot-separated part may contain only lowercase letters, digits and '-'",
                "labels[\"a/b/c\"]: \"a/b/c\" is not a label key: it has a prefix that is not a DNS subdomain: each dot-separated part may contain only lowercase letters, digits and '-'",
            ],
        ),
        (
            labels(&[("team name", "a b")]),
            vec![
                "labels[\"team name\"]: \"team name\" is not a label key: it has a name that may contain only letters, digits, '-', '_' and '.'",
                "labels[\"team name\"]: \"a b\" is not a label value: it may contain only letters, digits, '-', '_' and '.'",
            ],
        ),
    ]);
    // Other app.kubernetes.io labels are the user's to set.
    assert_eq!(
        violations(&labels(&[("app.kubernetes.io/part-of", "dbt")])),
        Vec::<String>::new()
    );
}

#[test]
fn paths_print_like_terraform() {
    let violation = Violation::new(
        vec![
            PathSegment::Attr("kyuubi_conf"),
            PathSegment::Key("kyuubi.a".into()),
        ],
        "m",
    );
    assert_eq!(violation.path_string(), "kyuubi_conf[\"kyuubi.a\"]");
    let violation = Violation::new(
        vec![PathSegment::Attr("engine"), PathSegment::Attr("image")],
        "m",
    );
    assert_eq!(violation.to_string(), "engine.image: m");
}

#[test]
fn pod_ids_are_non_root_32_bit_numbers() {
    let server = |user: i64, group: i64, fs_group: i64| ServerInput {
        pod_security_context: Field::Set(PodSecurityInput {
            run_as_user: Field::Set(user),
            run_as_group: Field::Set(group),
            fs_group: Field::Set(fs_group),
        }),
        ..minimal()
    };
    let engine = |user: i64| ServerInput {
        engine: Field::Set(EngineInput {
            image: set("apache/spark:3.5.3"),
            run_as_user: Field::Set(user),
            ..EngineInput::default()
        }),
        ..minimal()
    };
    check(vec![
        (server(1000, 0, 1000), vec![]),
        (
            server(0, -1, 1 << 31),
            vec![
                "pod_security_context.run_as_user: 0 is root, which Pod Security \"restricted\" refuses: use the image's non-root user",
                "pod_security_context.run_as_group: -1 is not an id from 0 to 2147483647",
                "pod_security_context.fs_group: 2147483648 is not an id from 0 to 2147483647",
            ],
        ),
        (
            engine(0),
            vec![
                "engine.run_as_user: 0 is root, which Pod Security \"restricted\" refuses: use the image's non-root user",
            ],
        ),
        (
            engine(-5),
            vec!["engine.run_as_user: -5 is not an id from 1 to 2147483647"],
        ),
    ]);
}

#[test]
fn placement_is_checked_at_its_arguments() {
    use crate::placement::TolerationInput;
    let input = ServerInput {
        node_selector: Field::Set(BTreeMap::from([("bad key".to_owned(), set("x"))])),
        tolerations: Field::Set(vec![
            TolerationInput {
                key: set("dedicated"),
                value: set("kyuubi"),
                effect: set("NoSchedule"),
                ..TolerationInput::default()
            },
            TolerationInput {
                key: set("dedicated"),
                effect: set("NoSchedul"),
                ..TolerationInput::default()
            },
        ]),
        affinity: set(r#"{"nodeAffinity":{},"tolerations":[]}"#),
        ..minimal()
    };
    let found = violations(&input);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("node_selector[\"bad key\"]: "),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with("tolerations[1].effect: \"NoSchedul\" is not a taint effect"),
        "{found:#?}"
    );
    assert!(
        found[2].starts_with("affinity: the value has the key \"tolerations\""),
        "{found:#?}"
    );
}
