use super::*;

fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What Konoha's default profile renders.
fn defaults() -> Vec<(&'static str, &'static str)> {
    vec![
        ("spark.dynamicAllocation.enabled", "false"),
        ("spark.executor.cores", "2"),
        ("spark.executor.instances", "4"),
        ("spark.executor.memory", "2g"),
        ("spark.kubernetes.executor.request.cores", "1.8"),
        ("spark.sql.shuffle.partitions", "200"),
    ]
}

fn with(extra: &[(&'static str, &'static str)]) -> BTreeMap<String, String> {
    let mut pairs = defaults();
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    props(&pairs)
}

fn pod(cpu: u64, memory_mib: u64) -> PodCost {
    PodCost {
        cpu_request_millis: cpu,
        cpu_limit_millis: None,
        memory_mib,
        gpus: BTreeMap::new(),
    }
}

#[test]
fn the_default_profile_costs_what_spark_requests() {
    let footprint = footprint(&props(&defaults())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        footprint,
        Footprint {
            // 2048 MiB heap + max(204, 384) MiB overhead.
            executor: pod(1800, 2432),
            // Spark's defaults: 1g + 384 MiB, one core.
            driver: pod(1000, 1408),
            executors: Some(4),
        }
    );
    let engine = footprint.engine().unwrap_or_else(|| panic!("unbounded"));
    assert_eq!(
        engine,
        EngineTotal {
            pods: 5,
            cpu_request_millis: 8200,
            memory_mib: 11136,
            gpus: BTreeMap::new(),
        }
    );
    assert_eq!(
        engine.to_line(),
        "pods=5,requests.cpu=8200m,requests.memory=11136Mi"
    );
}

#[test]
fn overhead_follows_sparks_rule_and_integer_truncation() {
    let executor_memory = |extra: &[(&'static str, &'static str)]| {
        footprint(&with(extra))
            .unwrap_or_else(|e| panic!("{e}"))
            .executor
            .memory_mib
    };
    let driver_memory = |extra: &[(&'static str, &'static str)]| {
        footprint(&with(extra))
            .unwrap_or_else(|e| panic!("{e}"))
            .driver
            .memory_mib
    };
    // 10% of 8 GiB is 819.2 MiB: Spark's `toInt` keeps 819.
    assert_eq!(
        executor_memory(&[("spark.executor.memory", "8g")]),
        8192 + 819
    );
    // An explicit overhead wins, even below 384 MiB.
    assert_eq!(
        executor_memory(&[("spark.executor.memoryOverhead", "100m")]),
        2048 + 100
    );
    // 0.29 × 5700 is 1652.9999999999998 as a double: 1652, not a rounded 1653.
    assert_eq!(
        executor_memory(&[
            ("spark.executor.memory", "5700m"),
            ("spark.executor.memoryOverheadFactor", "0.29"),
        ]),
        5700 + 1652
    );
    // The Kubernetes factor applies to both pods unless each pod's own factor is set.
    let k8s = [("spark.kubernetes.memoryOverheadFactor", "0.4")];
    assert_eq!(executor_memory(&k8s), 2048 + 819);
    assert_eq!(driver_memory(&k8s), 1024 + 409);
    assert_eq!(
        driver_memory(&[
            ("spark.kubernetes.memoryOverheadFactor", "0.4"),
            ("spark.driver.memoryOverheadFactor", "0.5"),
        ]),
        1024 + 512
    );
    assert_eq!(
        driver_memory(&[
            ("spark.driver.memory", "4g"),
            ("spark.driver.memoryOverhead", "1g")
        ]),
        4096 + 1024
    );
    // Off-heap memory counts only when enabled.
    assert_eq!(
        executor_memory(&[("spark.memory.offHeap.size", "1g")]),
        2048 + 384
    );
    assert_eq!(
        executor_memory(&[
            ("spark.memory.offHeap.enabled", "true"),
            ("spark.memory.offHeap.size", "1g"),
        ]),
        2048 + 384 + 1024
    );
    // A Kyuubi engine is a JVM application: Spark adds PySpark memory to no pod.
    assert_eq!(
        executor_memory(&[("spark.executor.pyspark.memory", "1g")]),
        2048 + 384
    );
}

#[test]
fn cpu_limits_gpus_and_driver_settings_reach_the_pods() {
    let footprint = footprint(&with(&[
        ("spark.kubernetes.executor.limit.cores", "2"),
        ("spark.executor.resource.gpu.amount", "2"),
        ("spark.executor.resource.gpu.vendor", "nvidia.com"),
        ("spark.driver.cores", "2"),
        ("spark.kubernetes.driver.limit.cores", "2500m"),
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(footprint.executor.cpu_limit_millis, Some(2000));
    assert_eq!(
        footprint.executor.gpus,
        [("nvidia.com/gpu".to_owned(), 2)].into()
    );
    assert_eq!(footprint.driver.cpu_request_millis, 2000);
    assert_eq!(footprint.driver.cpu_limit_millis, Some(2500));
    let engine = footprint.engine().unwrap_or_else(|| panic!("unbounded"));
    assert_eq!(engine.gpu_count(), 8);
    assert_eq!(
        engine.to_line(),
        "pods=5,requests.cpu=9200m,requests.memory=11136Mi,requests.nvidia.com/gpu=8"
    );
    let request = footprint_of(&[("spark.kubernetes.driver.request.cores", "500m")]);
    assert_eq!(request.driver.cpu_request_millis, 500);
}

fn footprint_of(extra: &[(&'static str, &'static str)]) -> Footprint {
    footprint(&with(extra)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn dynamic_allocation_counts_its_maximum_or_has_no_bound() {
    let bounded = footprint_of(&[
        ("spark.dynamicAllocation.enabled", "true"),
        ("spark.dynamicAllocation.maxExecutors", "10"),
    ]);
    assert_eq!(bounded.executors, Some(10));
    assert_eq!(bounded.engine().map(|e| e.pods), Some(11));
    let unbounded = footprint_of(&[("spark.dynamicAllocation.enabled", "true")]);
    assert_eq!(unbounded.executors, None);
    assert_eq!(unbounded.engine(), None);
}

#[test]
fn memory_spark_would_truncate_is_refused() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "spark.driver.memory",
            "1536k",
            "is not a whole number of MiB: Spark reads it as 1 MiB and drops the rest, so the pod would not be the size written; write \"1m\" or \"2m\"",
        ),
        (
            "spark.memory.offHeap.size",
            "100b",
            "is not a whole number of MiB: Spark reads it as 0 MiB and drops the rest, so the pod would not be the size written; write \"1m\"",
        ),
        (
            "spark.driver.memoryOverhead",
            "2",
            "is not a Spark memory size: it has no unit, and Spark would read a bare number as MiB; use a whole number with a unit (b, k, m, g, t, p), e.g. \"2m\"",
        ),
        (
            "spark.driver.memory",
            "0g",
            "is zero: memory must be more than zero",
        ),
        (
            "spark.executor.memoryOverheadFactor",
            "1e-1",
            "is not a plain decimal such as \"0.1\" or \"0.25\"",
        ),
        (
            "spark.executor.memoryOverheadFactor",
            "0",
            "is zero: Spark requires an overhead factor above 0",
        ),
        (
            "spark.kubernetes.driver.request.cores",
            "0",
            "is zero: a pod needs some CPU, e.g. \"500m\" or \"1\"",
        ),
        ("spark.driver.cores", "1.5", "is not a whole number"),
        (
            "spark.memory.offHeap.enabled",
            "yes",
            "is not \"true\" or \"false\"",
        ),
    ];
    for (key, value, problem) in cases {
        assert_eq!(
            value_problem(key, value).as_deref(),
            Some(*problem),
            "{key}={value}"
        );
        let error = footprint(&with(&[(key, value)]));
        assert_eq!(
            error,
            Err(FootprintError {
                key: key.to_string(),
                problem: problem.to_string()
            }),
            "{key}={value}"
        );
    }
    assert_eq!(
        value_problem("spark.kubernetes.memoryOverheadFactor", "0"),
        None
    );
    assert_eq!(value_problem("spark.driver.memory", "1536m"), None);
    assert_eq!(
        value_problem("spark.sql.adaptive.enabled", "anything"),
        None
    );
    assert!(is_footprint_key("spark.driver.memory"));
    assert!(!is_footprint_key("spark.executor.pyspark.memory"));
}

#[test]
fn off_heap_without_a_size_is_refused() {
    assert_eq!(
        footprint(&with(&[("spark.memory.offHeap.enabled", "true")])),
        Err(FootprintError {
            key: "spark.memory.offHeap.enabled".into(),
            problem:
                "is true, but spark.memory.offHeap.size is not set: Spark requires a size above 0"
                    .into(),
        })
    );
}

#[test]
fn quantities_are_exact_in_kubernetes_forms() {
    assert_eq!(format_mib(2432), "2432Mi");
    assert_eq!(format_mib(13 * 1024), "13Gi");
    assert_eq!(format_mib(1536), "1536Mi");
    assert_eq!(format_mib(2 << 20), "2Ti");
    assert_eq!(format_cpu(9800), "9800m");
    assert_eq!(format_cpu(2000), "2");
    assert_eq!(parse_quantity_mib("13Gi"), Some(13 * 1024));
    assert_eq!(parse_quantity_mib("2432Mi"), Some(2432));
    assert_eq!(parse_quantity_mib("2.5Gi"), None);
    assert_eq!(parse_quantity_mib("2G"), None);
}

#[test]
fn an_engine_line_reads_back_and_nothing_else_does() {
    let engine = EngineTotal {
        pods: 5,
        cpu_request_millis: 9800,
        memory_mib: 13 * 1024,
        gpus: [("nvidia.com/gpu".to_owned(), 4)].into(),
    };
    let line = engine.to_line();
    assert_eq!(
        line,
        "pods=5,requests.cpu=9800m,requests.memory=13Gi,requests.nvidia.com/gpu=4"
    );
    assert_eq!(EngineTotal::parse(&line), Some(engine.clone()));
    for bad in [
        "",
        "pods=5",
        "pods=5,requests.cpu=9800m",
        "requests.cpu=9800m,pods=5,requests.memory=13Gi",
        "pods=5,requests.cpu=9.8,requests.memory=13Gi",
        "pods=5,requests.cpu=9800m,requests.memory=13312Mi",
        "pods=5,requests.cpu=9800m,requests.memory=13Gi,limits.cpu=2",
        "pods=-1,requests.cpu=9800m,requests.memory=13Gi",
    ] {
        assert_eq!(EngineTotal::parse(bad), None, "{bad:?}");
    }
    assert_eq!(
        engine.times(2).map(|e| e.to_line()),
        Some("pods=10,requests.cpu=19600m,requests.memory=26Gi,requests.nvidia.com/gpu=8".into())
    );
}
