//! Attribute paths: where in a resource's value a diagnostic points.

use std::fmt;

/// One step of an [`AttributePath`], mirroring the protocol's `AttributePath.Step`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathStep {
    /// An attribute or nested block, by name.
    Attribute(String),
    /// An element of a map, by key.
    ElementKeyString(String),
    /// An element of a list (or block list), by index.
    ElementKeyInt(i64),
}

/// A path from the root of a resource's object to one value inside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    /// The empty path: the resource itself.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// A path naming one top-level attribute.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathStep::Attribute(name.into())])
    }

    /// This path extended by an attribute step.
    #[must_use]
    pub fn push_attr(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathStep::Attribute(name.into()));
        self
    }

    /// This path extended by a map-key step.
    #[must_use]
    pub fn push_key(mut self, key: impl Into<String>) -> Self {
        self.0.push(PathStep::ElementKeyString(key.into()));
        self
    }

    /// This path extended by a list-index step.
    #[must_use]
    pub fn push_index(mut self, index: i64) -> Self {
        self.0.push(PathStep::ElementKeyInt(index));
        self
    }

    /// Builds a path from dotted attribute names, e.g. `"dynamic_allocation.min_executors"`.
    /// Block lists of at most one element are addressed at index 0, as Terraform shows them.
    pub fn parse_dotted(dotted: &str) -> Self {
        Self(
            dotted
                .split('.')
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<i64>() {
                    Ok(i) => PathStep::ElementKeyInt(i),
                    Err(_) => PathStep::Attribute(s.to_owned()),
                })
                .collect(),
        )
    }

    /// True when this is the root path.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathStep::Attribute(name) => write!(f, ".{name}")?,
                PathStep::ElementKeyString(key) => write!(f, "[{key:?}]")?,
                PathStep::ElementKeyInt(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_terraform_addresses() {
        let path = AttributePath::attr("extra_conf").push_key("spark.x");
        assert_eq!(path.to_string(), "extra_conf[\"spark.x\"]");
        let path = AttributePath::parse_dotted("dynamic_allocation.0.min_executors");
        assert_eq!(path.to_string(), "dynamic_allocation[0].min_executors");
        assert_eq!(AttributePath::root().to_string(), "(root)");
    }
}
