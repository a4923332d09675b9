//! Rollout judgement on the Deployment states a real API server and controller manager recorded
//! (`/work/shared/k8s-api`, copied here trimmed to the fields judged, condition times dropped),
//! and on states derived from them that a one-replica recording cannot show.

use serde_json::{Value, json};

use super::*;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture is JSON")
}

/// A complete rollout with `status` replaced (generation observed, two replicas wanted).
fn with_status(status: Value) -> Value {
    json!({
        "metadata": { "name": "kyuubi-dbt", "generation": 3 },
        "spec": { "replicas": 2 },
        "status": status,
    })
}

#[test]
fn recorded_states() {
    let cases = [
        (CREATED, Rollout::Progressing("Waiting for deployment spec update to be observed...".into())),
        (ROLLED_OUT, Rollout::Complete),
        // The counts still describe generation 1: only the generation check stops a false "done".
        (PROGRESSION_T0, Rollout::Progressing("Waiting for deployment spec update to be observed...".into())),
        (PROGRESSION_T05, Rollout::Complete),
        (BROKEN_APPLIED, Rollout::Progressing("Waiting for deployment spec update to be observed...".into())),
        (
            DEADLINE,
            Rollout::Failed(
                "deployment \"kyuubi-dbt\" exceeded its progress deadline: ReplicaSet \"kyuubi-dbt-bd454c797\" has timed out progressing."
                    .into(),
            ),
        ),
    ];
    for (fixture, expected) in cases {
        assert_eq!(judge(Some(&parse(fixture))), expected, "{fixture}");
    }
}

#[test]
fn waiting_states_in_kubectl_order() {
    let cases = [
        (
            json!({ "observedGeneration": 3, "replicas": 2, "updatedReplicas": 1, "availableReplicas": 1 }),
            "Waiting for deployment \"kyuubi-dbt\" rollout to finish: 1 out of 2 new replicas have been updated...",
        ),
        (
            json!({ "observedGeneration": 3, "replicas": 3, "updatedReplicas": 2, "availableReplicas": 2 }),
            "Waiting for deployment \"kyuubi-dbt\" rollout to finish: 1 old replicas are pending termination...",
        ),
        (
            json!({ "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1 }),
            "Waiting for deployment \"kyuubi-dbt\" rollout to finish: 1 of 2 updated replicas are available...",
        ),
        (
            json!({ "observedGeneration": 3 }),
            "Waiting for deployment \"kyuubi-dbt\" rollout to finish: 0 out of 2 new replicas have been updated...",
        ),
    ];
    for (status, message) in cases {
        assert_eq!(
            judge(Some(&with_status(status))),
            Rollout::Progressing(message.into())
        );
    }
    let done = json!({ "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2 });
    assert_eq!(judge(Some(&with_status(done))), Rollout::Complete);
}

#[test]
fn deadline_counts_only_once_the_generation_is_observed() {
    let deadline = json!([{
        "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
    }]);
    let stale = json!({ "observedGeneration": 2, "conditions": deadline });
    assert_eq!(
        judge(Some(&with_status(stale))),
        Rollout::Progressing("Waiting for deployment spec update to be observed...".into())
    );
    let current = json!({ "observedGeneration": 3, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "conditions": deadline });
    assert_eq!(
        judge(Some(&with_status(current))),
        Rollout::Failed("deployment \"kyuubi-dbt\" exceeded its progress deadline".into())
    );
}

#[test]
fn scaled_to_zero_is_complete_and_missing_is_failed() {
    let zero = json!({
        "metadata": { "name": "kyuubi-dbt", "generation": 5 },
        "spec": { "replicas": 0 },
        "status": { "observedGeneration": 5 },
    });
    assert_eq!(judge(Some(&zero)), Rollout::Complete);
    assert_eq!(
        judge(None),
        Rollout::Failed(
            "the Deployment does not exist: it was deleted while konoha waited for its rollout"
                .into()
        )
    );
}

/// 10-apply-create-deployment.json: the apply response, status still empty.
const CREATED: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 1
  },
  "spec": {
    "replicas": 1
  },
  "status": {}
}"#;

/// 11-deployment-rolled-out.json: a finished first rollout.
const ROLLED_OUT: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 1
  },
  "spec": {
    "replicas": 1
  },
  "status": {
    "observedGeneration": 1,
    "replicas": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
    "conditions": [
      {
        "type": "Available",
        "status": "True",
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability."
      },
      {
        "type": "Progressing",
        "status": "True",
        "reason": "NewReplicaSetAvailable",
        "message": "ReplicaSet \"kyuubi-dbt-7b55d8dd4c\" has successfully progressed."
      }
    ]
  }
}"#;

/// 14-rollout-status-progression.json at t=0: generation 2 not yet observed.
const PROGRESSION_T0: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 2
  },
  "spec": {
    "replicas": 1
  },
  "status": {
    "observedGeneration": 1,
    "replicas": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
    "conditions": [
      {
        "type": "Available",
        "status": "True",
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability."
      },
      {
        "type": "Progressing",
        "status": "True",
        "reason": "NewReplicaSetCreated",
        "message": "Created new replica set \"kyuubi-dbt-79544f9c88\""
      }
    ]
  }
}"#;

/// 14-rollout-status-progression.json at t=0.5: generation 2 rolled out.
const PROGRESSION_T05: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 2
  },
  "spec": {
    "replicas": 1
  },
  "status": {
    "observedGeneration": 2,
    "replicas": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
    "conditions": [
      {
        "type": "Available",
        "status": "True",
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability."
      },
      {
        "type": "Progressing",
        "status": "True",
        "reason": "NewReplicaSetAvailable",
        "message": "ReplicaSet \"kyuubi-dbt-79544f9c88\" has successfully progressed."
      }
    ]
  }
}"#;

/// 17-apply-broken-image-deadline.json: the apply response of a template whose pods never get ready.
const BROKEN_APPLIED: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 4
  },
  "spec": {
    "replicas": 1
  },
  "status": {
    "observedGeneration": 3,
    "replicas": 1,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
    "conditions": [
      {
        "type": "Available",
        "status": "True",
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability."
      },
      {
        "type": "Progressing",
        "status": "True",
        "reason": "NewReplicaSetAvailable",
        "message": "ReplicaSet \"kyuubi-dbt-5455d4b749\" has successfully progressed."
      }
    ]
  }
}"#;

/// 18-progress-deadline-exceeded.json: the same Deployment after its progress deadline.
const DEADLINE: &str = r#"{
  "metadata": {
    "name": "kyuubi-dbt",
    "generation": 4
  },
  "spec": {
    "replicas": 1
  },
  "status": {
    "observedGeneration": 4,
    "replicas": 2,
    "updatedReplicas": 1,
    "readyReplicas": 1,
    "availableReplicas": 1,
    "unavailableReplicas": 1,
    "conditions": [
      {
        "type": "Available",
        "status": "True",
        "reason": "MinimumReplicasAvailable",
        "message": "Deployment has minimum availability."
      },
      {
        "type": "Progressing",
        "status": "False",
        "reason": "ProgressDeadlineExceeded",
        "message": "ReplicaSet \"kyuubi-dbt-bd454c797\" has timed out progressing."
      }
    ]
  }
}"#;
