//! Logs on stderr as hclog JSON lines, which Terraform reads and files under the right level.
//!
//! One line per `tracing` event: `{"@level":"debug","@message":"…","@module":"konoha",
//! "@timestamp":"2026-01-02T03:04:05.000000Z", …fields}`, with the fields of the enclosing spans
//! (outermost first) and then the event's own. The level comes from `TF_LOG_PROVIDER`, else
//! `TF_LOG`, like Terraform's; our own events follow it, dependencies' are capped at INFO so
//! `TF_LOG=trace` does not drown in HTTP/2 frames. Records from the `log` crate are not captured.
//!
//! A span of this crate also writes one line when it closes, `"<name> finished"` with its fields
//! and `duration_us`, its wall time from creation to close: that is how each RPC's own cost
//! shows in Terraform's log at `TF_LOG_PROVIDER=debug` (see `serve::routes`).

use std::io::Write as _;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

/// The `@module` of every line.
const MODULE: &str = "konoha";

/// Targets of this crate's events (library and binary); everything else is a dependency.
const OWN_TARGETS: [&str; 2] = ["konoha", "terraform_provider_konoha"];

/// The most a dependency may log.
const DEPENDENCY_LEVEL: LevelFilter = LevelFilter::INFO;

/// The level when neither variable is set.
const DEFAULT_LEVEL: LevelFilter = LevelFilter::WARN;

/// Installs the stderr logger for this process; a second call changes nothing.
pub fn init() {
    let level = level_from_env(
        std::env::var("TF_LOG_PROVIDER").ok().as_deref(),
        std::env::var("TF_LOG").ok().as_deref(),
    );
    let subscriber = tracing_subscriber::registry().with(HclogLayer::new(std::io::stderr, level));
    // Fails only if a logger is already installed, which then stays.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// The log level for the values of `TF_LOG_PROVIDER` and `TF_LOG`.
///
/// The provider-specific variable wins when set. Values are Terraform's: `TRACE`, `DEBUG`,
/// `INFO`, `WARN`, `ERROR`, `OFF` in any case, and `JSON` meaning TRACE. Anything else also means
/// TRACE, as Terraform treats an invalid level. Unset or empty: WARN.
pub fn level_from_env(tf_log_provider: Option<&str>, tf_log: Option<&str>) -> LevelFilter {
    let chosen = [tf_log_provider, tf_log]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|value| !value.is_empty());
    let Some(value) = chosen else {
        return DEFAULT_LEVEL;
    };
    match value.to_ascii_uppercase().as_str() {
        "OFF" => LevelFilter::OFF,
        "ERROR" => LevelFilter::ERROR,
        "WARN" => LevelFilter::WARN,
        "INFO" => LevelFilter::INFO,
        "DEBUG" => LevelFilter::DEBUG,
        _ => LevelFilter::TRACE,
    }
}

/// A `tracing` layer writing one hclog JSON line per event.
#[derive(Debug)]
pub struct HclogLayer<W> {
    make_writer: W,
    level: LevelFilter,
}

impl<W> HclogLayer<W>
where
    W: for<'w> MakeWriter<'w> + 'static,
{
    /// Writes events up to `level` (dependencies' up to INFO) to `make_writer`'s writers.
    pub fn new(make_writer: W, level: LevelFilter) -> Self {
        Self { make_writer, level }
    }

    fn accepts(&self, metadata: &Metadata<'_>) -> bool {
        // A dependency's event must be at most INFO as it was logged, and at most the chosen
        // level as it is written.
        (is_own(metadata) || *metadata.level() <= DEPENDENCY_LEVEL)
            && *metadata.level() <= self.level
    }
}

/// Whether `target` is `module` or inside it.
fn within(target: &str, module: &str) -> bool {
    target
        .strip_prefix(module)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// Whether `metadata` belongs to this crate rather than a dependency.
fn is_own(metadata: &Metadata<'_>) -> bool {
    OWN_TARGETS.iter().any(|own| within(metadata.target(), own))
}

/// Span fields, kept in the span's extensions until an event inside it is written.
struct SpanFields(Map<String, Value>);

/// When one of this crate's spans was created, for the duration written when it closes.
struct SpanStarted(Instant);

impl<S, W> Layer<S> for HclogLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.accepts(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        self.accepts(metadata)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.level)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            extensions.insert(SpanFields(fields.fields));
            if is_own(attrs.metadata()) {
                extensions.insert(SpanStarted(Instant::now()));
            }
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let extensions = span.extensions();
        let Some(SpanStarted(started)) = extensions.get::<SpanStarted>() else {
            return;
        };
        let mut fields = extensions
            .get::<SpanFields>()
            .map(|SpanFields(fields)| fields.clone())
            .unwrap_or_default();
        let duration_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        fields.insert("duration_us".to_owned(), Value::from(duration_us));
        let finished = JsonFields {
            message: Some(format!("{} finished", span.name())),
            fields,
        };
        let line = hclog_line(*span.metadata().level(), finished, SystemTime::now());
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(SpanFields(fields)) = extensions.get_mut::<SpanFields>() {
            let mut recorded = JsonFields::default();
            values.record(&mut recorded);
            fields.extend(recorded.fields);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = JsonFields::default();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(SpanFields(span_fields)) = span.extensions().get::<SpanFields>() {
                    fields.fields.extend(span_fields.clone());
                }
            }
        }
        event.record(&mut fields);
        let line = hclog_line(*event.metadata().level(), fields, SystemTime::now());
        // Losing a log line beats failing (or panicking in) the operation that logged it.
        let _ = self.make_writer.make_writer().write_all(line.as_bytes());
    }
}

/// Collects `tracing` fields as JSON values; `message` is kept apart as the line's `@message`.
#[derive(Default)]
struct JsonFields {
    message: Option<String>,
    fields: Map<String, Value>,
}

impl JsonFields {
    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.fields.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.insert(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::String(value.to_owned()));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, Value::from(value));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.insert(field, Value::String(value.to_string()));
    }
}

/// One JSON line, newline included. The `@` keys are set last so a field cannot replace them.
fn hclog_line(level: Level, fields: JsonFields, at: SystemTime) -> String {
    let JsonFields {
        message,
        mut fields,
    } = fields;
    fields.insert("@level".to_owned(), Value::from(hclog_level(level)));
    fields.insert(
        "@message".to_owned(),
        Value::from(message.unwrap_or_default()),
    );
    fields.insert("@module".to_owned(), Value::from(MODULE));
    fields.insert("@timestamp".to_owned(), Value::from(timestamp(at)));
    let mut line = Value::Object(fields).to_string();
    line.push('\n');
    line
}

fn hclog_level(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// UTC time in the one layout go-plugin parses, `2006-01-02T15:04:05.000000Z07:00`: exactly six
/// fractional digits. A line whose timestamp does not parse loses its level.
fn timestamp(at: SystemTime) -> String {
    let since_epoch = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    let (year, month, day) = civil_from_days(seconds / 86_400);
    let second_of_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        since_epoch.subsec_micros(),
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01, by counting 400-year eras
/// (146,097 days each) from 0000-03-01, so that leap days fall at the end of each year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let days = days + 719_468; // days from 0000-03-01 to 1970-01-01
    let era = days / 146_097;
    let day_of_era = days % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[test]
    fn level_follows_terraforms_variables() {
        let cases = [
            (None, None, LevelFilter::WARN),
            (Some(""), Some(" "), LevelFilter::WARN),
            (None, Some("debug"), LevelFilter::DEBUG),
            (Some("INFO"), Some("trace"), LevelFilter::INFO),
            (Some(""), Some("ERROR"), LevelFilter::ERROR),
            (None, Some("Warn"), LevelFilter::WARN),
            (None, Some("TRACE"), LevelFilter::TRACE),
            (None, Some("JSON"), LevelFilter::TRACE),
            (Some("off"), Some("trace"), LevelFilter::OFF),
            (None, Some("verbose"), LevelFilter::TRACE),
        ];
        for (provider, general, expected) in cases {
            assert_eq!(
                level_from_env(provider, general),
                expected,
                "{provider:?} {general:?}"
            );
        }
    }

    #[test]
    fn timestamps_use_go_plugins_layout() {
        let at =
            |secs, micros| UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
        assert_eq!(timestamp(at(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(timestamp(at(951_782_400, 7)), "2000-02-29T00:00:00.000007Z");
        assert_eq!(
            timestamp(at(1_767_225_599, 999_999)),
            "2025-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            timestamp(at(4_107_542_400 + 3_723, 120_000)),
            "2100-03-01T01:02:03.120000Z"
        );
    }

    /// Collects what the layer writes.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    fn capture(level: LevelFilter, log: impl FnOnce()) -> Vec<Value> {
        let captured = Captured::default();
        let subscriber =
            tracing_subscriber::registry().with(HclogLayer::new(captured.clone(), level));
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn events_become_hclog_json_lines_with_span_fields() {
        let lines = capture(LevelFilter::DEBUG, || {
            let span = tracing::info_span!("rpc", method = "GetSchema", attempt = 1_u64);
            let _entered = span.enter();
            tracing::debug!(
                type_name = "konoha_spark_profile",
                ok = true,
                "planned {}",
                3
            );
            tracing::trace!("too verbose");
        });
        assert_eq!(lines.len(), 2, "{lines:?}");
        let mut line = lines[0].as_object().unwrap().clone();
        let stamp = line.remove("@timestamp").unwrap();
        assert_eq!(
            stamp.as_str().unwrap().len(),
            "2026-01-02T03:04:05.000000Z".len()
        );
        assert_eq!(
            Value::Object(line),
            serde_json::json!({
                "@level": "debug",
                "@message": "planned 3",
                "@module": "konoha",
                "method": "GetSchema",
                "attempt": 1,
                "type_name": "konoha_spark_profile",
                "ok": true,
            })
        );

        // The span's own line, when it closes: its fields and how long it was open.
        let mut finished = lines[1].as_object().unwrap().clone();
        finished.remove("@timestamp").unwrap();
        let duration = finished.remove("duration_us").unwrap();
        assert!(duration.is_u64(), "{duration:?}");
        assert_eq!(
            Value::Object(finished),
            serde_json::json!({
                "@level": "info",
                "@message": "rpc finished",
                "@module": "konoha",
                "method": "GetSchema",
                "attempt": 1,
            })
        );
    }

    #[test]
    fn only_this_crates_spans_report_their_duration() {
        let lines = capture(LevelFilter::TRACE, || {
            drop(tracing::info_span!(target: "hyper_util::client", "send"));
            drop(tracing::debug_span!(
                "rpc",
                rpc = "/tfplugin5.Provider/ReadResource"
            ));
            drop(tracing::trace_span!(
                "rpc",
                rpc = "/tfplugin5.Provider/GetSchema"
            ));
        });
        let finished: Vec<(&str, &str, &str)> = lines
            .iter()
            .map(|line| {
                (
                    line["@level"].as_str().unwrap(),
                    line["@message"].as_str().unwrap(),
                    line["rpc"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            finished,
            [
                ("debug", "rpc finished", "/tfplugin5.Provider/ReadResource"),
                ("trace", "rpc finished", "/tfplugin5.Provider/GetSchema"),
            ]
        );
        assert!(capture(LevelFilter::INFO, || drop(tracing::debug_span!("rpc"))).is_empty());
    }

    #[test]
    fn dependencies_are_capped_at_info_and_off_silences_all() {
        let lines = capture(LevelFilter::TRACE, || {
            tracing::debug!(target: "h2::codec", "frame");
            tracing::info!(target: "hyper", "connection");
            tracing::debug!(target: "konoha::plugin", "ours");
            tracing::debug!(target: "konohax", "not ours");
        });
        let messages: Vec<&str> = lines
            .iter()
            .map(|line| line["@message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["connection", "ours"]);
        assert_eq!(lines[0]["@level"], "info");

        assert!(capture(LevelFilter::OFF, || tracing::error!("nothing")).is_empty());
    }
}
