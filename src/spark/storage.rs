//! Where a profile is stored and Vault's rules for it: the `mount` and `name` paths,
//! `custom_metadata` limits and `max_versions`.
//!
//! Part of [validation](mod@super::validate). Talking to Vault is the client's job; this only
//! judges values.

use std::collections::BTreeMap;

use super::profile::{Field, ProfileInput};
use super::violation::{PathSegment, Violation, check_count};

/// Vault refuses `custom_metadata` with more keys than this.
pub const MAX_METADATA_KEYS: usize = 64;
/// Vault's longest `custom_metadata` key, in bytes.
pub const MAX_METADATA_KEY_BYTES: usize = 128;
/// Vault's longest `custom_metadata` value, in bytes.
pub const MAX_METADATA_VALUE_BYTES: usize = 512;

/// What is wrong with a mount (`nested == false`) or secret name (`nested == true`), completing
/// "`<value>` …", or `None` when it is a usable path.
///
/// A mount is one path segment: a profile's `ref` (`<mount>/<name>@sha256:…`) must show where the
/// mount ends, so the server can address the secret from the ref alone.
pub(crate) fn location_problem(text: &str, nested: bool) -> Option<&'static str> {
    if text.is_empty() {
        return Some("is empty");
    }
    if text.starts_with('/') || text.ends_with('/') {
        return Some("starts or ends with '/': write the path without them, e.g. \"team/etl\"");
    }
    if !nested && text.contains('/') {
        return Some(
            "has more than one segment: konoha supports mounts at a single path segment, \
             e.g. \"secret\", so that a profile's ref shows where the mount ends",
        );
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters");
    }
    if text.contains(['?', '#']) {
        return Some("contains '?' or '#', which would cut the path in a Vault URL");
    }
    for segment in text.split('/') {
        if segment.is_empty() {
            return Some("has an empty segment ('//')");
        }
        if segment == "." || segment == ".." {
            return Some("has a '.' or '..' segment, which HTTP clients collapse");
        }
    }
    None
}

/// Checks `mount` and `name`.
pub(crate) fn check_storage(input: &ProfileInput, out: &mut Vec<Violation>) {
    for (attribute, field, nested) in [("mount", &input.mount, false), ("name", &input.name, true)]
    {
        if let Some(text) = field.value()
            && let Some(problem) = location_problem(text, nested)
        {
            out.push(Violation::new(
                vec![PathSegment::Attr(attribute)],
                format!("{text:?} {problem}"),
            ));
        }
    }
}

/// Checks `custom_metadata` against Vault's limits and `max_versions` for range.
pub(crate) fn check_metadata(input: &ProfileInput, out: &mut Vec<Violation>) {
    check_count(
        out,
        vec![PathSegment::Attr("max_versions")],
        &input.max_versions,
        1,
        // Vault stores 0 for "the mount's setting", which an unset max_versions already says:
        // with two spellings for one meaning, an import could not tell which was written.
        "leave max_versions out to keep the mount's setting",
    );
    if let Some(entries) = input.custom_metadata.value() {
        check_custom_metadata(entries, out);
    }
}

fn check_custom_metadata(entries: &BTreeMap<String, Field<String>>, out: &mut Vec<Violation>) {
    if entries.len() > MAX_METADATA_KEYS {
        out.push(Violation::new(
            vec![PathSegment::Attr("custom_metadata")],
            format!(
                "{} keys are too many: Vault keeps at most {MAX_METADATA_KEYS} custom_metadata keys",
                entries.len()
            ),
        ));
    }
    for (key, value) in entries {
        let path = || {
            vec![
                PathSegment::Attr("custom_metadata"),
                PathSegment::Key(key.clone()),
            ]
        };
        if let Some(problem) = text_problem(key, MAX_METADATA_KEY_BYTES) {
            out.push(Violation::new(path(), format!("the key {key:?} {problem}")));
        }
        let problem = match value {
            Field::Unknown => continue,
            Field::Unset => "is null: give a value or remove the key".to_owned(),
            Field::Set(text) => match text_problem(text, MAX_METADATA_VALUE_BYTES) {
                Some(problem) => problem,
                None => continue,
            },
        };
        out.push(Violation::new(
            path(),
            format!("the value of {key:?} {problem}"),
        ));
    }
}

/// Vault's rule for metadata keys and values: 1 to `max` bytes of printable characters.
fn text_problem(text: &str, max: usize) -> Option<String> {
    if text.is_empty() {
        Some("is empty: Vault requires at least one character".to_owned())
    } else if text.len() > max {
        Some(format!(
            "is {} bytes, longer than Vault's limit of {max}",
            text.len()
        ))
    } else if text.chars().any(char::is_control) {
        Some("contains unprintable characters, which Vault refuses".to_owned())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spark::validate::validate;

    fn violations(input: ProfileInput) -> Vec<String> {
        validate(&input).iter().map(ToString::to_string).collect()
    }

    fn at(mount: &str, name: &str) -> ProfileInput {
        ProfileInput {
            mount: Field::Set(mount.into()),
            name: Field::Set(name.into()),
            ..ProfileInput::default()
        }
    }

    #[test]
    fn accepts_usable_locations_and_skips_unknown_ones() {
        for (mount, name) in [
            ("secret", "etl"),
            ("kv-v2", "team/etl/daily"),
            ("s_1", "a.b/c-d@x"),
        ] {
            assert_eq!(
                violations(at(mount, name)),
                Vec::<String>::new(),
                "{mount} {name}"
            );
        }
        let unknown = ProfileInput {
            mount: Field::Unknown,
            name: Field::Unknown,
            ..ProfileInput::default()
        };
        assert_eq!(violations(unknown), Vec::<String>::new());
    }

    #[test]
    fn refuses_paths_that_do_not_address_one_secret() {
        let cases: &[(&str, &str, &str)] = &[
            ("", "etl", "mount: \"\" is empty"),
            ("secret", "", "name: \"\" is empty"),
            (
                "/secret",
                "etl",
                "mount: \"/secret\" starts or ends with '/': write the path without them, e.g. \"team/etl\"",
            ),
            (
                "secret",
                "etl/",
                "name: \"etl/\" starts or ends with '/': write the path without them, e.g. \"team/etl\"",
            ),
            (
                "team/kv",
                "etl",
                "mount: \"team/kv\" has more than one segment: konoha supports mounts at a single path segment, e.g. \"secret\", so that a profile's ref shows where the mount ends",
            ),
            (
                "secret",
                "a//b",
                "name: \"a//b\" has an empty segment ('//')",
            ),
            (
                "secret",
                "a b",
                "name: \"a b\" contains whitespace or control characters",
            ),
            (
                "secret",
                "a\tb",
                "name: \"a\\tb\" contains whitespace or control characters",
            ),
            (
                "secret",
                "a?b",
                "name: \"a?b\" contains '?' or '#', which would cut the path in a Vault URL",
            ),
            (
                "secret",
                "a/../b",
                "name: \"a/../b\" has a '.' or '..' segment, which HTTP clients collapse",
            ),
        ];
        for (mount, name, message) in cases {
            assert_eq!(
                violations(at(mount, name)),
                vec![message.to_string()],
                "{mount:?} {name:?}"
            );
        }
    }

    #[test]
    fn enforces_vault_metadata_limits() {
        let metadata = |entries: Vec<(String, Field<String>)>| ProfileInput {
            custom_metadata: Field::Set(entries.into_iter().collect()),
            ..at("secret", "etl")
        };
        let ok = vec![
            ("k".repeat(128), Field::Set("v".repeat(512))),
            ("owner".into(), Field::Set("team data é".into())),
            ("later".into(), Field::Unknown),
        ];
        assert_eq!(violations(metadata(ok)), Vec::<String>::new());
        let long_key = "k".repeat(129);
        let cases: Vec<((String, Field<String>), String)> = vec![
            ((long_key.clone(), Field::Set("v".into())), format!("custom_metadata[{long_key:?}]: the key {long_key:?} is 129 bytes, longer than Vault's limit of 128")),
            (("owner".into(), Field::Set("v".repeat(513))), "custom_metadata[\"owner\"]: the value of \"owner\" is 513 bytes, longer than Vault's limit of 512".into()),
            (("owner".into(), Field::Set(String::new())), "custom_metadata[\"owner\"]: the value of \"owner\" is empty: Vault requires at least one character".into()),
            (("owner".into(), Field::Unset), "custom_metadata[\"owner\"]: the value of \"owner\" is null: give a value or remove the key".into()),
            (("".into(), Field::Set("v".into())), "custom_metadata[\"\"]: the key \"\" is empty: Vault requires at least one character".into()),
            (("a\u{7}".into(), Field::Set("v".into())), "custom_metadata[\"a\\u{7}\"]: the key \"a\\u{7}\" contains unprintable characters, which Vault refuses".into()),
        ];
        for (entry, message) in cases {
            assert_eq!(violations(metadata(vec![entry])), vec![message]);
        }
        let too_many = (0..65)
            .map(|i| (format!("k{i}"), Field::Set("v".into())))
            .collect();
        assert_eq!(
            violations(metadata(too_many)),
            vec![
                "custom_metadata: 65 keys are too many: Vault keeps at most 64 custom_metadata keys"
            ]
        );
    }

    #[test]
    fn max_versions_is_at_least_one() {
        let with = |v| ProfileInput {
            max_versions: Field::Set(v),
            ..at("secret", "etl")
        };
        assert_eq!(violations(with(1)), Vec::<String>::new());
        for v in [0, -1] {
            assert_eq!(
                violations(with(v)),
                vec![format!(
                    "max_versions: {v} is too small: it must be at least 1 (leave max_versions \
                     out to keep the mount's setting)"
                )]
            );
        }
    }
}
