//! Validation of the ids pods run with: `pod_security_context` for the server, and
//! `engine.run_as_user`/`run_as_group`/`fs_group` for drivers and executors.
//!
//! Part of [`super`]. Pod Security `restricted` refuses user 0, and Kubernetes takes ids as
//! 32-bit numbers; groups may be 0 (the Kyuubi image's user belongs to `root`).

use super::{PathSegment, Violation, nested};
use crate::kyuubi::settings::{Field, ServerInput};

/// Kubernetes' largest id (`int64` on the wire, but the kubelet and runtimes take 32 bits).
const MAX_ID: i64 = i32::MAX as i64;

pub(super) fn check_identities(input: &ServerInput, out: &mut Vec<Violation>) {
    if let Some(block) = input.pod_security_context.value() {
        check_ids(
            out,
            "pod_security_context",
            &block.run_as_user,
            &block.run_as_group,
            &block.fs_group,
        );
    }
    if let Some(engine) = input.engine.value() {
        check_ids(
            out,
            "engine",
            &engine.run_as_user,
            &engine.run_as_group,
            &engine.fs_group,
        );
    }
}

fn check_ids(
    out: &mut Vec<Violation>,
    block: &'static str,
    user: &Field<i64>,
    group: &Field<i64>,
    fs_group: &Field<i64>,
) {
    if let Some(&uid) = user.value() {
        if uid == 0 {
            out.push(Violation::new(
                nested(block, "run_as_user"),
                "0 is root, which Pod Security \"restricted\" refuses: use the image's \
                 non-root user"
                    .to_owned(),
            ));
        } else {
            check_range(out, nested(block, "run_as_user"), uid, 1);
        }
    }
    for (name, field) in [("run_as_group", group), ("fs_group", fs_group)] {
        if let Some(&id) = field.value() {
            check_range(out, nested(block, name), id, 0);
        }
    }
}

fn check_range(out: &mut Vec<Violation>, path: Vec<PathSegment>, id: i64, least: i64) {
    if !(least..=MAX_ID).contains(&id) {
        out.push(Violation::new(
            path,
            format!("{id} is not an id from {least} to {MAX_ID}"),
        ));
    }
}
