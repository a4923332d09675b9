//! Kubernetes name syntax, as the API server validates it: DNS-1123 and DNS-1035 labels, DNS
//! subdomains, qualified names (label keys, toleration keys) and label values.
//!
//! Pure and shared: the Kyuubi server's rules and the placement rules ([`crate::placement`])
//! both use it. Each check returns what is wrong, completing "`<value>` …", or `None`; which
//! attribute a rule applies to is the caller's business.

/// Longest DNS label (RFC 1123 / 1035).
pub const MAX_LABEL: usize = 63;
/// Longest DNS subdomain.
pub const MAX_SUBDOMAIN: usize = 253;

/// A DNS-1123 label: lowercase letters, digits and `-`, starting and ending alphanumeric, at most
/// 63 characters (namespaces, most object names).
pub fn dns1123_label_problem(text: &str) -> Option<String> {
    label_problem(text, MAX_LABEL, false)
}

/// A DNS-1035 label: as DNS-1123 but starting with a letter (Service names), at most `max`.
pub fn dns1035_label_problem(text: &str, max: usize) -> Option<String> {
    label_problem(text, max, true)
}

fn label_problem(text: &str, max: usize, letter_first: bool) -> Option<String> {
    if text.is_empty() {
        return Some("is empty".to_owned());
    }
    if text.len() > max {
        return Some(format!(
            "is {} characters long, more than {max}",
            text.len()
        ));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Some("may contain only lowercase letters, digits and '-'".to_owned());
    }
    let first = text.as_bytes()[0];
    if letter_first && !first.is_ascii_lowercase() {
        return Some("must start with a lowercase letter".to_owned());
    }
    if first == b'-' || text.ends_with('-') {
        return Some("must start and end with a letter or digit".to_owned());
    }
    None
}

/// A DNS-1123 subdomain: dot-separated DNS-1123 labels, at most 253 characters
/// (ServiceAccount names).
pub fn dns1123_subdomain_problem(text: &str) -> Option<String> {
    if text.len() > MAX_SUBDOMAIN {
        return Some(format!(
            "is {} characters long, more than {MAX_SUBDOMAIN}",
            text.len()
        ));
    }
    if text.is_empty() {
        return Some("is empty".to_owned());
    }
    text.split('.')
        .find_map(dns1123_label_problem)
        .map(|problem| format!("is not a DNS subdomain: each dot-separated part {problem}"))
}

/// A label or annotation name part: at most 63 characters of alphanumerics, `-`, `_`, `.`,
/// starting and ending alphanumeric. Label values follow the same rule but may be empty.
fn label_name_problem(text: &str) -> Option<String> {
    if text.len() > MAX_LABEL {
        return Some(format!(
            "is {} characters long, more than {MAX_LABEL}",
            text.len()
        ));
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Some("may contain only letters, digits, '-', '_' and '.'".to_owned());
    }
    let edge_ok = |b: Option<&u8>| b.is_none_or(|b| b.is_ascii_alphanumeric());
    if !edge_ok(text.as_bytes().first()) || !edge_ok(text.as_bytes().last()) {
        return Some("must start and end with a letter or digit".to_owned());
    }
    None
}

/// A label key: `[prefix/]name`, the prefix a DNS subdomain, the name a label name.
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if let Some(problem) = prefix.and_then(dns1123_subdomain_problem) {
        return Some(format!("has a prefix that {problem}"));
    }
    if name.is_empty() {
        return Some("has an empty name".to_owned());
    }
    label_name_problem(name).map(|problem| format!("has a name that {problem}"))
}

/// A label value: empty, or a label name.
pub fn label_value_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        None
    } else {
        label_name_problem(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names() {
        assert_eq!(dns1123_label_problem("kyuubi-1"), None);
        assert_eq!(dns1123_label_problem("1kyuubi"), None);
        assert_eq!(
            dns1035_label_problem("1kyuubi", 63).as_deref(),
            Some("must start with a lowercase letter")
        );
        assert_eq!(
            dns1123_label_problem("-a").as_deref(),
            Some("must start and end with a letter or digit")
        );
        assert_eq!(
            dns1123_label_problem("a-").as_deref(),
            Some("must start and end with a letter or digit")
        );
        assert_eq!(
            dns1123_label_problem("Kyuubi").as_deref(),
            Some("may contain only lowercase letters, digits and '-'")
        );
        assert_eq!(dns1123_label_problem("").as_deref(), Some("is empty"));
        assert_eq!(
            dns1123_label_problem(&"a".repeat(64)).as_deref(),
            Some("is 64 characters long, more than 63")
        );
        assert_eq!(
            dns1035_label_problem(&"a".repeat(50), 49).as_deref(),
            Some("is 50 characters long, more than 49")
        );
        assert_eq!(dns1123_subdomain_problem("spark.driver"), None);
        assert_eq!(
            dns1123_subdomain_problem("spark..driver").as_deref(),
            Some("is not a DNS subdomain: each dot-separated part is empty")
        );
    }

    #[test]
    fn label_keys_and_values() {
        for ok in ["team", "example.com/team", "a_b.c-d", "x/Y9"] {
            assert_eq!(label_key_problem(ok), None, "{ok}");
        }
        let cases = [
            ("/team", "has a prefix that is empty"),
            (
                "Example.com/team",
                "has a prefix that is not a DNS subdomain: each dot-separated part may contain only lowercase letters, digits and '-'",
            ),
            ("example.com/", "has an empty name"),
            (
                "te am",
                "has a name that may contain only letters, digits, '-', '_' and '.'",
            ),
            (
                "_team",
                "has a name that must start and end with a letter or digit",
            ),
        ];
        for (key, problem) in cases {
            assert_eq!(label_key_problem(key).as_deref(), Some(problem), "{key}");
        }
        assert_eq!(label_value_problem(""), None);
        assert_eq!(label_value_problem("v1.2_a"), None);
        assert_eq!(
            label_value_problem("a/b").as_deref(),
            Some("may contain only letters, digits, '-', '_' and '.'")
        );
        assert_eq!(
            label_value_problem(&"a".repeat(64)).as_deref(),
            Some("is 64 characters long, more than 63")
        );
    }
}
