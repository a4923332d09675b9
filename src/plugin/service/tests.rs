//! Malformed requests, as a broken or hostile client could send them, get an OK response with
//! an error diagnostic: never a panic and never a gRPC status, which Terraform reports as a
//! provider crash.

use std::sync::Arc;

use async_trait::async_trait;
use tonic::Request;

use super::ProviderService;
use crate::framework::{
    Applied, ApplyError, Attribute, Block, ConfigureRequest, CreateRequest, DataReadRequest,
    DataSource, DeleteRequest, NestedBlock, Provider, ReadRequest, Refreshed, Resource, Schema,
    UpdateRequest,
};
use crate::plugin::pb::tfplugin5 as pb;
use crate::plugin::pb::tfplugin5::provider_server::Provider as _;
use crate::tf::{self, Diagnostic, Diagnostics, Type, Value};

const THING: &str = "test_thing";
const LOOKUP: &str = "test_lookup";

/// A resource that records nothing and succeeds at everything, so that any error diagnostic a
/// test sees comes from the request, not from the resource.
struct Thing;

fn thing_schema() -> Schema {
    Schema::new(
        Block::new("A thing.")
            .attribute(Attribute::string("name").required().description("Name."))
            .attribute(Attribute::int("size").optional().description("Size."))
            .attribute(Attribute::string("id").computed().description("ID."))
            .block(NestedBlock::single(
                "extra",
                Block::new("More.").attribute(Attribute::string_map("labels").optional()),
            )),
    )
}

#[async_trait]
impl Resource for Thing {
    fn type_name(&self) -> &'static str {
        THING
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    async fn create(&self, req: CreateRequest) -> Result<Applied, ApplyError> {
        Ok(req.planned.into())
    }
    async fn read(&self, req: ReadRequest) -> Result<Refreshed, Diagnostics> {
        // A thing named `warned` refreshes with a warning, as drift worth telling would.
        let warnings = if req.current.attr("name").as_str() == Some("warned") {
            Diagnostic::warning("refreshed with a warning", "").into()
        } else {
            Diagnostics::new()
        };
        Ok(Refreshed {
            state: Some(req.current),
            warnings,
        })
    }
    async fn update(&self, req: UpdateRequest) -> Result<Applied, ApplyError> {
        Ok(req.planned.into())
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), Diagnostics> {
        if req.prior.is_null() {
            return Err(Diagnostic::error("delete without state", "").into());
        }
        Ok(())
    }
}

struct Lookup;

#[async_trait]
impl DataSource for Lookup {
    fn type_name(&self) -> &'static str {
        LOOKUP
    }
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("A lookup.")
                .attribute(Attribute::string("name").required().description("Name.")),
        )
    }
    async fn read(&self, req: DataReadRequest) -> Result<Value, Diagnostics> {
        Ok(req.config)
    }
}

struct Things;

#[async_trait]
impl Provider for Things {
    fn schema(&self) -> Schema {
        Schema::new(
            Block::new("p").attribute(Attribute::string("region").optional().description("R.")),
        )
    }
    async fn configure(&self, _: ConfigureRequest) -> Result<(), Diagnostics> {
        Ok(())
    }
    fn resources(&self) -> Vec<Arc<dyn Resource>> {
        vec![Arc::new(Thing)]
    }
    fn data_sources(&self) -> Vec<Arc<dyn DataSource>> {
        vec![Arc::new(Lookup)]
    }
}

fn service() -> ProviderService {
    ProviderService::new(Things)
}

fn msgpack(value: &Value, ty: &Type) -> Option<pb::DynamicValue> {
    let msgpack = tf::msgpack::encode(value, ty).unwrap_or_else(|e| panic!("test value: {e}"));
    Some(pb::DynamicValue {
        msgpack,
        json: Vec::new(),
    })
}

/// A well-formed msgpack value of the wrong type: a string where an object belongs.
fn wrong_type() -> Option<pb::DynamicValue> {
    msgpack(&Value::string("not an object"), &Type::String)
}

/// Bytes that are not msgpack at all: a map header promising entries that never come.
fn garbage() -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: vec![0x8f, 0xc1, 0xff],
        json: Vec::new(),
    })
}

/// A JSON value that does not match the schema, as an old state might hold.
fn wrong_json() -> Option<pb::DynamicValue> {
    Some(pb::DynamicValue {
        msgpack: Vec::new(),
        json: br#"{"name": {"nested": true}}"#.to_vec(),
    })
}

fn good_thing() -> Value {
    Value::object([
        ("name", Value::string("a")),
        ("size", Value::int(1)),
        ("id", Value::string("a")),
        ("extra", Value::Null),
    ])
}

fn thing(value: &Value) -> Option<pb::DynamicValue> {
    msgpack(value, &thing_schema().value_type())
}

/// The error summaries among `diagnostics`; panics (failing the test) on none.
fn errors(what: &str, diagnostics: &[pb::Diagnostic]) -> Vec<String> {
    let summaries: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
        .map(|d| d.summary.clone())
        .collect();
    assert!(
        !summaries.is_empty(),
        "{what}: expected an error diagnostic, got {diagnostics:?}"
    );
    summaries
}

#[tokio::test]
async fn an_unknown_type_name_is_a_diagnostic_in_every_rpc() {
    let svc = service();
    let name = || "konoha_nonesuch".to_owned();
    let value = || thing(&good_thing());
    let answers: Vec<(&str, Vec<pb::Diagnostic>)> = vec![
        (
            "ValidateResourceTypeConfig",
            svc.validate_resource_type_config(Request::new(
                pb::validate_resource_type_config::Request {
                    type_name: name(),
                    config: value(),
                    ..Default::default()
                },
            ))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "ValidateDataSourceConfig",
            svc.validate_data_source_config(Request::new(
                pb::validate_data_source_config::Request {
                    type_name: name(),
                    config: value(),
                },
            ))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "UpgradeResourceState",
            svc.upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
                type_name: name(),
                version: 0,
                raw_state: Some(pb::RawState {
                    json: b"{}".to_vec(),
                    ..Default::default()
                }),
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "ReadResource",
            svc.read_resource(Request::new(pb::read_resource::Request {
                type_name: name(),
                current_state: value(),
                ..Default::default()
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "PlanResourceChange",
            svc.plan_resource_change(Request::new(pb::plan_resource_change::Request {
                type_name: name(),
                proposed_new_state: value(),
                config: value(),
                ..Default::default()
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "ApplyResourceChange",
            svc.apply_resource_change(Request::new(pb::apply_resource_change::Request {
                type_name: name(),
                planned_state: value(),
                config: value(),
                ..Default::default()
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "ImportResourceState",
            svc.import_resource_state(Request::new(pb::import_resource_state::Request {
                type_name: name(),
                id: "x".to_owned(),
                ..Default::default()
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
        (
            "ReadDataSource",
            svc.read_data_source(Request::new(pb::read_data_source::Request {
                type_name: name(),
                config: value(),
                ..Default::default()
            }))
            .await
            .map(|r| r.into_inner().diagnostics)
            .unwrap_or_else(|s| panic!("status {s:?}")),
        ),
    ];
    for (rpc, diagnostics) in answers {
        let summaries = errors(rpc, &diagnostics);
        assert!(
            diagnostics
                .iter()
                .any(|d| d.detail.contains("konoha_nonesuch")),
            "{rpc}: the diagnostic should name the type: {summaries:?}"
        );
    }
}

/// Every way a value can be broken, for every value-carrying field of every RPC.
#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_diagnostic_in_every_rpc() {
    let svc = service();
    let good = || thing(&good_thing());
    for (how, bad) in [
        ("wrong type", wrong_type as fn() -> Option<pb::DynamicValue>),
        ("not msgpack", garbage),
        ("wrong JSON", wrong_json),
    ] {
        let check = |rpc: &str, diagnostics: Vec<pb::Diagnostic>| {
            errors(&format!("{rpc} with {how}"), &diagnostics);
        };
        let answer = svc
            .prepare_provider_config(Request::new(pb::prepare_provider_config::Request {
                config: bad(),
            }))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"));
        check("PrepareProviderConfig", answer.into_inner().diagnostics);
        let answer = svc
            .configure(Request::new(pb::configure::Request {
                config: bad(),
                ..Default::default()
            }))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"));
        check("Configure", answer.into_inner().diagnostics);
        let answer = svc
            .validate_resource_type_config(Request::new(
                pb::validate_resource_type_config::Request {
                    type_name: THING.to_owned(),
                    config: bad(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"));
        check(
            "ValidateResourceTypeConfig",
            answer.into_inner().diagnostics,
        );
        let answer = svc
            .validate_data_source_config(Request::new(pb::validate_data_source_config::Request {
                type_name: LOOKUP.to_owned(),
                config: bad(),
            }))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"));
        check("ValidateDataSourceConfig", answer.into_inner().diagnostics);
        let answer = svc
            .read_resource(Request::new(pb::read_resource::Request {
                type_name: THING.to_owned(),
                current_state: bad(),
                ..Default::default()
            }))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"))
            .into_inner();
        assert_eq!(
            answer.new_state,
            bad(),
            "a failed read keeps the state it was given"
        );
        check("ReadResource", answer.diagnostics);
        // Each of the three values of a plan and an apply, broken alone.
        for field in 0..3 {
            let pick = |i: usize| if i == field { bad() } else { good() };
            let answer = svc
                .plan_resource_change(Request::new(pb::plan_resource_change::Request {
                    type_name: THING.to_owned(),
                    prior_state: pick(0),
                    proposed_new_state: pick(1),
                    config: pick(2),
                    ..Default::default()
                }))
                .await
                .unwrap_or_else(|s| panic!("status {s:?}"));
            check(
                &format!("PlanResourceChange value {field}"),
                answer.into_inner().diagnostics,
            );
            let answer = svc
                .apply_resource_change(Request::new(pb::apply_resource_change::Request {
                    type_name: THING.to_owned(),
                    prior_state: pick(0),
                    planned_state: pick(1),
                    config: pick(2),
                    ..Default::default()
                }))
                .await
                .unwrap_or_else(|s| panic!("status {s:?}"))
                .into_inner();
            assert_eq!(
                answer.new_state,
                pick(0),
                "a failed apply keeps the prior state"
            );
            check(
                &format!("ApplyResourceChange value {field}"),
                answer.diagnostics,
            );
        }
        let answer = svc
            .read_data_source(Request::new(pb::read_data_source::Request {
                type_name: LOOKUP.to_owned(),
                config: bad(),
                ..Default::default()
            }))
            .await
            .unwrap_or_else(|s| panic!("status {s:?}"));
        check("ReadDataSource", answer.into_inner().diagnostics);
    }
    let answer = svc
        .upgrade_resource_state(Request::new(pb::upgrade_resource_state::Request {
            type_name: THING.to_owned(),
            version: 0,
            raw_state: Some(pb::RawState {
                json: b"{not json".to_vec(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap_or_else(|s| panic!("status {s:?}"));
    errors(
        "UpgradeResourceState with bad JSON",
        &answer.into_inner().diagnostics,
    );
}

/// A request with every field left at its default: no type name, no values.
#[tokio::test]
async fn an_empty_request_is_a_diagnostic_or_a_no_op() {
    let svc = service();
    macro_rules! empty {
        ($rpc:ident, $module:ident) => {
            svc.$rpc(Request::new(pb::$module::Request::default()))
                .await
                .unwrap_or_else(|s| panic!("{}: status {s:?}", stringify!($rpc)))
                .into_inner()
        };
    }
    errors(
        "ValidateResourceTypeConfig",
        &empty!(validate_resource_type_config, validate_resource_type_config).diagnostics,
    );
    errors(
        "ValidateDataSourceConfig",
        &empty!(validate_data_source_config, validate_data_source_config).diagnostics,
    );
    errors(
        "UpgradeResourceState",
        &empty!(upgrade_resource_state, upgrade_resource_state).diagnostics,
    );
    errors(
        "ReadResource",
        &empty!(read_resource, read_resource).diagnostics,
    );
    errors(
        "PlanResourceChange",
        &empty!(plan_resource_change, plan_resource_change).diagnostics,
    );
    errors(
        "ApplyResourceChange",
        &empty!(apply_resource_change, apply_resource_change).diagnostics,
    );
    errors(
        "ImportResourceState",
        &empty!(import_resource_state, import_resource_state).diagnostics,
    );
    errors(
        "ReadDataSource",
        &empty!(read_data_source, read_data_source).diagnostics,
    );
    // An absent provider block is a null one, which an all-optional schema accepts.
    let prepared = empty!(prepare_provider_config, prepare_provider_config);
    assert!(
        prepared.diagnostics.is_empty(),
        "{:?}",
        prepared.diagnostics
    );
    let configured = empty!(configure, configure);
    assert!(
        configured.diagnostics.is_empty(),
        "{:?}",
        configured.diagnostics
    );
    empty!(get_schema, get_provider_schema);
    empty!(get_metadata, get_metadata);
    empty!(stop, stop);
}

/// A read's warnings reach Terraform beside the refreshed state, which they do not replace.
#[tokio::test]
async fn read_warnings_travel_with_the_refreshed_state() {
    let mut warned = good_thing();
    warned.set_attr("name", Value::string("warned"));
    let answer = service()
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: THING.to_owned(),
            current_state: thing(&warned),
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|s| panic!("status {s:?}"))
        .into_inner();
    assert_eq!(answer.new_state, thing(&warned));
    let found: Vec<(i32, &str)> = answer
        .diagnostics
        .iter()
        .map(|d| (d.severity, d.summary.as_str()))
        .collect();
    assert_eq!(
        found,
        vec![(
            pb::diagnostic::Severity::Warning as i32,
            "refreshed with a warning"
        )]
    );
}

/// A known type with every value absent: Terraform never sends this, and the resource must not
/// be asked to act on it.
#[tokio::test]
async fn absent_values_for_a_known_type_reach_no_resource_code() {
    let svc = service();
    let read = svc
        .read_resource(Request::new(pb::read_resource::Request {
            type_name: THING.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|s| panic!("status {s:?}"))
        .into_inner();
    assert!(read.diagnostics.is_empty(), "{:?}", read.diagnostics);
    let plan = svc
        .plan_resource_change(Request::new(pb::plan_resource_change::Request {
            type_name: THING.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|s| panic!("status {s:?}"))
        .into_inner();
    assert!(plan.diagnostics.is_empty(), "{:?}", plan.diagnostics);
    // No prior state and a null plan: nothing exists and nothing should; `Thing::delete`
    // would fail if it were called with no state.
    let apply = svc
        .apply_resource_change(Request::new(pb::apply_resource_change::Request {
            type_name: THING.to_owned(),
            ..Default::default()
        }))
        .await
        .unwrap_or_else(|s| panic!("status {s:?}"))
        .into_inner();
    assert!(apply.diagnostics.is_empty(), "{:?}", apply.diagnostics);
    let state = super::decode(apply.new_state.as_ref(), &thing_schema().value_type());
    assert!(matches!(state, Ok(Value::Null)), "{state:?}");
}
