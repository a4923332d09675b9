//! The schema-driven planning steps, as pure functions over values.
//!
//! [`super::server`] runs them in a fixed order: defaults, computed values to unknown, state for
//! unknown, then the resource's own `modify_plan`, then requires-replace. Each step walks the
//! schema so that nested blocks follow the same rules as top-level attributes.

use super::schema::{Block, Nesting};
use crate::tf::{AttributePath, Value};

/// Plans each attribute's default where the configuration leaves it null.
pub fn apply_defaults(block: &Block, config: &Value, planned: &mut Value) {
    let Some(entries) = planned.as_map_mut() else {
        return;
    };
    for attribute in &block.attributes {
        if let Some(default) = &attribute.default
            && config.attr(&attribute.name).is_null()
        {
            entries.insert(attribute.name.clone(), default.clone());
        }
    }
    for nested in &block.blocks {
        let Some(value) = entries.get_mut(&nested.name) else {
            continue;
        };
        for_each_block(
            nested.nesting,
            config.attr(&nested.name),
            value,
            |cfg, v| apply_defaults(&nested.block, cfg, v),
        );
    }
}

/// Marks computed attributes that the configuration leaves null as unknown: the provider will
/// decide them during apply. Attributes with defaults keep their planned default.
pub fn mark_computed_unknown(block: &Block, config: &Value, planned: &mut Value) {
    let Some(entries) = planned.as_map_mut() else {
        return;
    };
    for attribute in &block.attributes {
        if attribute.computed
            && attribute.default.is_none()
            && config.attr(&attribute.name).is_null()
        {
            entries.insert(attribute.name.clone(), Value::Unknown);
        }
    }
    for nested in &block.blocks {
        let Some(value) = entries.get_mut(&nested.name) else {
            continue;
        };
        for_each_block(
            nested.nesting,
            config.attr(&nested.name),
            value,
            |cfg, v| mark_computed_unknown(&nested.block, cfg, v),
        );
    }
}

/// Whether `planned` differs from `prior` in anything but client-side attributes and blocks
/// ([`super::schema::Attribute::client_side`]): only such a change can alter the remote object,
/// and with it the values the provider computes.
pub fn changes_remote(block: &Block, prior: &Value, planned: &Value) -> bool {
    let mut prior = prior.clone();
    let mut planned = planned.clone();
    clear_client_side(block, &mut prior);
    clear_client_side(block, &mut planned);
    prior != planned
}

/// Nulls every client-side attribute and block in `value`, at every depth.
fn clear_client_side(block: &Block, value: &mut Value) {
    let Some(entries) = value.as_map_mut() else {
        return;
    };
    for attribute in block.attributes.iter().filter(|a| a.client_side) {
        entries.insert(attribute.name.clone(), Value::Null);
    }
    for nested in &block.blocks {
        if nested.client_side {
            entries.insert(nested.name.clone(), Value::Null);
            continue;
        }
        match entries.get_mut(&nested.name) {
            Some(Value::List(items)) => {
                for item in items {
                    clear_client_side(&nested.block, item);
                }
            }
            Some(object) => clear_client_side(&nested.block, object),
            None => {}
        }
    }
}

/// Fills in the default of every client-side attribute that `state` leaves null: the remote
/// object does not hold them, so an import cannot read them back.
pub fn default_client_side(block: &Block, state: &mut Value) {
    let Some(entries) = state.as_map_mut() else {
        return;
    };
    for attribute in block.attributes.iter().filter(|a| a.client_side) {
        if let (Some(default), Some(Value::Null) | None) =
            (&attribute.default, entries.get(&attribute.name))
        {
            entries.insert(attribute.name.clone(), default.clone());
        }
    }
}

/// Puts back the prior value of every `use_state_for_unknown` attribute that is planned unknown.
pub fn use_state_for_unknown(block: &Block, prior: &Value, planned: &mut Value) {
    let Some(entries) = planned.as_map_mut() else {
        return;
    };
    for attribute in block.attributes.iter().filter(|a| a.use_state_for_unknown) {
        let prior_value = prior.attr(&attribute.name);
        if let Some(value) = entries.get_mut(&attribute.name)
            && value.is_unknown()
            && !prior_value.is_null()
            && !prior_value.is_unknown()
        {
            *value = prior_value.clone();
        }
    }
}

/// The paths of `force_new` attributes whose planned value differs from the prior one.
pub fn requires_replace(block: &Block, prior: &Value, planned: &Value) -> Vec<AttributePath> {
    let mut paths = Vec::new();
    collect_replace(block, prior, planned, &AttributePath::root(), &mut paths);
    paths.sort();
    paths.dedup();
    paths
}

fn collect_replace(
    block: &Block,
    prior: &Value,
    planned: &Value,
    at: &AttributePath,
    paths: &mut Vec<AttributePath>,
) {
    for attribute in block.attributes.iter().filter(|a| a.force_new) {
        if prior.attr(&attribute.name) != planned.attr(&attribute.name) {
            paths.push(at.clone().push_attr(&attribute.name));
        }
    }
    for nested in &block.blocks {
        if nested.nesting == Nesting::Single {
            let path = at.clone().push_attr(&nested.name);
            collect_replace(
                &nested.block,
                prior.attr(&nested.name),
                planned.attr(&nested.name),
                &path,
                paths,
            );
        }
    }
}

/// Calls `f(config_object, planned_object)` for each block object of a nested block value.
fn for_each_block(
    nesting: Nesting,
    config: &Value,
    planned: &mut Value,
    mut f: impl FnMut(&Value, &mut Value),
) {
    match (nesting, planned) {
        (Nesting::Single, planned @ Value::Map(_)) => f(config, planned),
        (Nesting::List, Value::List(items)) => {
            for (i, item) in items.iter_mut().enumerate() {
                let cfg = config
                    .as_list()
                    .and_then(|c| c.get(i))
                    .unwrap_or(&Value::Null);
                f(cfg, item);
            }
        }
        // Sets have no positions to pair config and plan elements by; Konoha's schemas put no
        // defaults or computed attributes inside set blocks.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::{Attribute, NestedBlock};

    fn block() -> Block {
        Block::new("t")
            .attribute(Attribute::string("name").required().force_new())
            .attribute(Attribute::int("count").default(4i64))
            .attribute(Attribute::string("id").computed().use_state_for_unknown())
            .attribute(Attribute::string("digest").computed())
            .block(NestedBlock::single(
                "da",
                Block::new("d").attribute(Attribute::bool("enabled").default(false)),
            ))
    }

    #[test]
    fn defaults_fill_null_config_only() {
        let config = Value::object([
            ("count", Value::Null),
            ("da", Value::object([("enabled", Value::Null)])),
        ]);
        let mut planned = config.clone();
        apply_defaults(&block(), &config, &mut planned);
        assert_eq!(planned.attr("count"), &Value::int(4));
        assert_eq!(planned.attr("da").attr("enabled"), &Value::Bool(false));

        let config = Value::object([("count", Value::int(6)), ("da", Value::Null)]);
        let mut planned = config.clone();
        apply_defaults(&block(), &config, &mut planned);
        assert_eq!(planned.attr("count"), &Value::int(6));
        assert!(planned.attr("da").is_null(), "an absent block stays absent");
    }

    #[test]
    fn computed_become_unknown_then_state_restores_marked_ones() {
        let config = Value::object([("name", Value::string("a"))]);
        let prior = Value::object([
            ("name", Value::string("a")),
            ("id", Value::string("x")),
            ("digest", Value::string("old")),
        ]);
        let mut planned = prior.clone();
        mark_computed_unknown(&block(), &config, &mut planned);
        assert!(planned.attr("id").is_unknown());
        assert!(planned.attr("digest").is_unknown());
        use_state_for_unknown(&block(), &prior, &mut planned);
        assert_eq!(planned.attr("id"), &Value::string("x"));
        assert!(planned.attr("digest").is_unknown());
    }

    #[test]
    fn only_changes_outside_client_side_settings_change_the_remote_object() {
        let block = block()
            .attribute(Attribute::bool("wait").default(true).client_side())
            .block(crate::framework::timeouts::block("5m"));
        let prior = Value::object([
            ("name", Value::string("a")),
            ("wait", Value::Bool(true)),
            ("timeouts", Value::Null),
            ("da", Value::object([("enabled", Value::Bool(false))])),
        ]);
        let mut planned = prior.clone();
        planned.set_attr("wait", Value::Bool(false));
        planned.set_attr("timeouts", Value::object([("create", Value::string("1m"))]));
        assert!(!changes_remote(&block, &prior, &planned));
        let mut nested = planned.clone();
        nested.set_attr("da", Value::object([("enabled", Value::Bool(true))]));
        assert!(changes_remote(&block, &prior, &nested));
        let mut renamed = planned;
        renamed.set_attr("name", Value::string("b"));
        assert!(changes_remote(&block, &prior, &renamed));
    }

    #[test]
    fn an_import_gets_the_defaults_of_client_side_settings_only() {
        let block = block().attribute(Attribute::bool("wait").default(true).client_side());
        let mut state = Value::object([("count", Value::Null), ("wait", Value::Null)]);
        default_client_side(&block, &mut state);
        assert_eq!(state.attr("wait"), &Value::Bool(true));
        assert!(
            state.attr("count").is_null(),
            "a remote attribute's default is not the remote object's value"
        );
    }

    #[test]
    fn requires_replace_names_changed_force_new_attributes() {
        let prior = Value::object([("name", Value::string("a")), ("count", Value::int(1))]);
        let planned = Value::object([("name", Value::string("b")), ("count", Value::int(2))]);
        assert_eq!(
            requires_replace(&block(), &prior, &planned),
            vec![AttributePath::attr("name")]
        );
        assert!(requires_replace(&block(), &prior, &prior).is_empty());
    }
}
