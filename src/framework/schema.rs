//! Schemas as plain data, built with small by-value builders.
//!
//! An [`Attribute`] carries everything the framework needs to validate and plan it: its type,
//! whether it is required, optional or computed, its default, whether a change forces
//! replacement, its validators, and the description that feeds both Terraform and `docs/`.
//! A number attribute also carries its [`NumberKind`], so that a whole-number attribute refuses
//! a fraction however it is declared. Converting a schema to the wire lives in `plugin::convert`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::validators::Validator;
use crate::tf::number::exact_decimal;
use crate::tf::{AttributePath, Diagnostic, Number, Type, Value};

/// A resource's, data source's or provider's schema: a version and the top-level block.
#[derive(Debug, Clone)]
pub struct Schema {
    /// Bumped whenever the stored state's shape changes; old states are then upgraded.
    pub version: i64,
    /// The top-level block.
    pub block: Block,
}

impl Schema {
    /// A version-0 schema around `block`.
    pub fn new(block: Block) -> Self {
        Self { version: 0, block }
    }

    /// The same schema at `version`.
    #[must_use]
    pub fn version(mut self, version: i64) -> Self {
        self.version = version;
        self
    }

    /// The object type of values of this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
}

/// A block: attributes and nested blocks.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// What the block is for, in Markdown.
    pub description: String,
    /// The block's attributes, in the order the docs list them.
    pub attributes: Vec<Attribute>,
    /// The block's nested blocks.
    pub blocks: Vec<NestedBlock>,
}

impl Block {
    /// An empty block described by `description`.
    pub fn new(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            ..Self::default()
        }
    }

    /// The block with one more attribute.
    #[must_use]
    pub fn attribute(mut self, attribute: Attribute) -> Self {
        self.attributes.push(attribute);
        self
    }

    /// The block with one more nested block.
    #[must_use]
    pub fn block(mut self, block: NestedBlock) -> Self {
        self.blocks.push(block);
        self
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for nested in &self.blocks {
            attrs.insert(nested.name.clone(), nested.value_type());
        }
        Type::Object(attrs)
    }

    /// The attribute called `name`.
    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block called `name`.
    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

/// How a nested block repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; its value is an object, or null when absent.
    Single,
    /// Any number of blocks, in order; the value is a list of objects, `[]` when none.
    List,
    /// Any number of blocks, unordered; the value is a set of objects, `[]` when none.
    Set,
}

/// A nested block such as `dynamic_allocation { … }`.
#[derive(Debug, Clone)]
pub struct NestedBlock {
    /// The block's name in configuration.
    pub name: String,
    /// How it repeats.
    pub nesting: Nesting,
    /// Its content.
    pub block: Block,
    /// The fewest blocks allowed (list and set only).
    pub min_items: i64,
    /// The most blocks allowed, 0 for no limit (list and set only).
    pub max_items: i64,
    /// Says how the provider works, not what the remote object is; see
    /// [`Attribute::client_side`].
    pub client_side: bool,
}

impl NestedBlock {
    /// A block that appears at most once.
    pub fn single(name: impl Into<String>, block: Block) -> Self {
        Self {
            name: name.into(),
            nesting: Nesting::Single,
            block,
            min_items: 0,
            max_items: 0,
            client_side: false,
        }
    }

    /// A block that may repeat, in order.
    pub fn list(name: impl Into<String>, block: Block) -> Self {
        Self {
            nesting: Nesting::List,
            ..Self::single(name, block)
        }
    }

    /// The same block with item limits (list and set only).
    #[must_use]
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    /// The whole block says how the provider works, not what the remote object is; see
    /// [`Attribute::client_side`].
    #[must_use]
    pub fn client_side(mut self) -> Self {
        self.client_side = true;
        self
    }

    /// The type of this block's value in its parent object.
    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            Nesting::Single => object,
            Nesting::List => Type::list(object),
            Nesting::Set => Type::set(object),
        }
    }
}

/// Which numbers a number attribute holds. Terraform's numbers are arbitrary-precision
/// decimals; the kind says which of them the provider can honour exactly, and the framework
/// refuses the others at validation, before a resource sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    /// A whole number in `min..=max`.
    Whole {
        /// The smallest value allowed.
        min: i64,
        /// The largest value allowed.
        max: i64,
    },
    /// Any finite number, fractions included.
    Fractional,
}

impl NumberKind {
    /// The range a whole-number attribute has unless narrowed: 32-bit signed, the width of
    /// every integer setting in Spark, Kyuubi's configuration and a Kubernetes `int32` field.
    pub const DEFAULT_WHOLE: NumberKind = NumberKind::Whole {
        min: i32::MIN as i64,
        max: i32::MAX as i64,
    };

    /// What a valid value looks like, completing "must be …".
    pub fn description(&self) -> String {
        match *self {
            NumberKind::Whole { min, max } => format!("a whole number from {min} to {max}"),
            NumberKind::Fractional => "a finite number".to_owned(),
        }
    }

    /// Checks a configured value against the kind: a whole-number attribute refuses
    /// fractions, non-finite values and values outside its range, and every number attribute
    /// refuses a decimal that no float stands for (`0.10000000000000000001`) and a float sent
    /// as a float that is not exactly its shortest decimal (see `tf::number`), so that no such
    /// number is ever read as "not set" or rounded. Values that are not known numbers pass:
    /// null and unknown are not configured values, and the codec has already checked the type.
    pub fn check(&self, value: &Value, path: &AttributePath) -> Option<Diagnostic> {
        let Value::Number(number) = value else {
            return None;
        };
        let detail = match (*self, number) {
            (_, Number::Float(f)) if !f.is_finite() => {
                format!("{path} must be a finite number, got {number}.")
            }
            (NumberKind::Fractional, Number::Inexact { .. }) if number.exact_float().is_some() => {
                format!(
                    "{path} cannot be kept as written: Terraform sent {number} as a binary \
                     float, which is how it sends both that exact value and a float it computed \
                     (such as pow(10, -1)), and it compares the two differently, so the provider \
                     cannot tell which to give back. Write the decimal meant, such as {}.",
                    number.as_f64()
                )
            }
            (NumberKind::Fractional, Number::Inexact { nearest, .. }) => {
                let instead = if nearest.is_finite() {
                    // A whole float shows as its exact value, the number Terraform would see.
                    let float = match nearest.fract() {
                        0.0 => exact_decimal(*nearest),
                        _ => nearest.to_string(),
                    };
                    format!("which a float would round to {float}")
                } else {
                    "which is beyond the largest float (about 1.8e308)".to_owned()
                };
                format!(
                    "{path} cannot be kept as written: the provider holds a number as a 64-bit \
                     float, so it takes a decimal of at most 15 significant digits between \
                     1e-307 and 1e308 in size, or a longer one only when it is a float's \
                     shortest form (such as 0.30000000000000004), and a whole number above \
                     2^53 only when it is a float's exact value. Got {number}, {instead}."
                )
            }
            (NumberKind::Fractional, _) => return None,
            (NumberKind::Whole { .. }, _) if !number.is_whole() => {
                format!("{path} must be a whole number, got {number}.")
            }
            (NumberKind::Whole { min, max }, _) => match number.as_i64() {
                Some(n) if (min..=max).contains(&n) => return None,
                _ => format!("{path} must be a whole number from {min} to {max}, got {number}."),
            },
        };
        Some(Diagnostic::error("Invalid attribute value", detail).at(path.clone()))
    }
}

/// One attribute of a block.
#[derive(Clone)]
pub struct Attribute {
    /// Its name in configuration and state.
    pub name: String,
    /// Its type.
    pub ty: Type,
    /// For a number attribute, which numbers it holds; `None` for other types.
    pub number: Option<NumberKind>,
    /// What it means, in Markdown: shown by Terraform tooling and rendered into `docs/`.
    pub description: String,
    /// The configuration must set it.
    pub required: bool,
    /// The configuration may set it.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Terraform hides it in plans and output.
    pub sensitive: bool,
    /// Configuration only: Terraform (1.11 and later) never stores it in a plan or state, and
    /// the framework plans and records it as null.
    pub write_only: bool,
    /// The value planned when the configuration leaves it null.
    pub default: Option<Value>,
    /// A planned change to it replaces the resource.
    pub force_new: bool,
    /// A computed value that stays as it is in state when the provider has no new value.
    pub use_state_for_unknown: bool,
    /// Says how the provider works (how long to wait, whether to take fields over), not what
    /// the remote object is; see [`Attribute::client_side`].
    pub client_side: bool,
    /// Checks on configured values; they see only known, non-null values.
    pub validators: Vec<Arc<dyn Validator>>,
}

impl std::fmt::Debug for Attribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("ty", &self.ty)
            .field("number", &self.number)
            .field("required", &self.required)
            .field("optional", &self.optional)
            .field("computed", &self.computed)
            .field("default", &self.default)
            .field("force_new", &self.force_new)
            .field("write_only", &self.write_only)
            .field("client_side", &self.client_side)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    /// A new attribute of type `ty`, neither required, optional nor computed yet.
    pub fn new(name: impl Into<String>, ty: Type) -> Self {
        Self {
            name: name.into(),
            ty,
            number: None,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            default: None,
            force_new: false,
            use_state_for_unknown: false,
            client_side: false,
            validators: Vec::new(),
        }
    }

    /// A string attribute.
    pub fn string(name: impl Into<String>) -> Self {
        Self::new(name, Type::String)
    }

    /// A number attribute holding whole numbers, 32-bit signed unless [`Attribute::range`]
    /// narrows it. A fraction, a non-finite value or one outside the range is refused at
    /// validation with the attribute's path.
    pub fn int(name: impl Into<String>) -> Self {
        Self {
            number: Some(NumberKind::DEFAULT_WHOLE),
            ..Self::new(name, Type::Number)
        }
    }

    /// A number attribute that may hold fractions. Use it only for a value that is
    /// legitimately fractional; counts, sizes, ports and versions are [`Attribute::int`].
    pub fn fractional(name: impl Into<String>) -> Self {
        Self {
            number: Some(NumberKind::Fractional),
            ..Self::new(name, Type::Number)
        }
    }

    /// A bool attribute.
    pub fn bool(name: impl Into<String>) -> Self {
        Self::new(name, Type::Bool)
    }

    /// A `map(string)` attribute.
    pub fn string_map(name: impl Into<String>) -> Self {
        Self::new(name, Type::map(Type::String))
    }

    /// A whole number in `min..=max`, instead of the default 32-bit range.
    #[must_use]
    pub fn range(mut self, min: i64, max: i64) -> Self {
        self.number = Some(NumberKind::Whole { min, max });
        self
    }

    /// The configuration must set it.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// The configuration may set it.
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }

    /// The provider sets it.
    #[must_use]
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }

    /// Hidden in plans and output.
    #[must_use]
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }

    /// Configuration only, never in plan or state (Terraform 1.11 and later). The value reaches
    /// a resource's create and update in their `config`; the planned and new states hold null.
    #[must_use]
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }

    /// Planned as `value` when the configuration leaves it null. An attribute with a default is
    /// optional *and computed*: Terraform lets a provider plan a value the configuration does
    /// not hold only for computed attributes.
    #[must_use]
    pub fn default(mut self, value: impl Into<Value>) -> Self {
        self.default = Some(value.into());
        self.optional = true;
        self.computed = true;
        self
    }

    /// A change replaces the resource.
    #[must_use]
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }

    /// When a change elsewhere would leave it unknown, keep the value in state instead.
    #[must_use]
    pub fn use_state_for_unknown(mut self) -> Self {
        self.use_state_for_unknown = true;
        self
    }

    /// It says how the provider works, not what the remote object is: a change to it alone
    /// alters nothing remote, so the plan keeps the computed values known and apply records the
    /// new value without calling the resource. The remote object does not hold it either, so an
    /// import records its default.
    #[must_use]
    pub fn client_side(mut self) -> Self {
        self.client_side = true;
        self
    }

    /// Adds a validator.
    #[must_use]
    pub fn validate(mut self, validator: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(validator));
        self
    }

    /// Sets the description.
    #[must_use]
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_type_includes_blocks_by_nesting() {
        let block = Block::new("x")
            .attribute(Attribute::string("a").required())
            .block(NestedBlock::single(
                "one",
                Block::new("o").attribute(Attribute::bool("b")),
            ))
            .block(NestedBlock::list("many", Block::new("m")));
        let Type::Object(attrs) = block.value_type() else {
            panic!("not an object");
        };
        assert_eq!(attrs["a"], Type::String);
        assert!(matches!(attrs["one"], Type::Object(_)));
        assert!(matches!(attrs["many"], Type::List(_)));
    }

    #[test]
    fn ints_are_whole_32_bit_numbers_unless_narrowed() {
        assert_eq!(Attribute::int("n").number, Some(NumberKind::DEFAULT_WHOLE));
        assert_eq!(
            Attribute::int("port").range(1, 65535).number,
            Some(NumberKind::Whole { min: 1, max: 65535 })
        );
        assert_eq!(
            Attribute::fractional("ratio").number,
            Some(NumberKind::Fractional)
        );
        assert_eq!(Attribute::string("s").number, None);
    }

    #[test]
    fn whole_numbers_refuse_fractions_non_finite_and_out_of_range_values() {
        let path = AttributePath::attr("replicas");
        let kind = NumberKind::Whole { min: 0, max: 10 };
        let detail = |value: Value| kind.check(&value, &path).map(|d| d.detail);
        let cases = [
            (
                Value::Number(Number::Float(2.5)),
                Some("replicas must be a whole number, got 2.5."),
            ),
            (
                Value::Number(Number::Float(1e20)),
                Some("replicas must be a whole number from 0 to 10, got 100000000000000000000."),
            ),
            (
                Value::Number(Number::Float(f64::INFINITY)),
                Some("replicas must be a finite number, got inf."),
            ),
            (
                Value::Number(Number::Float(f64::NAN)),
                Some("replicas must be a finite number, got NaN."),
            ),
            (
                Value::int(11),
                Some("replicas must be a whole number from 0 to 10, got 11."),
            ),
            (
                Value::int(-1),
                Some("replicas must be a whole number from 0 to 10, got -1."),
            ),
            (Value::int(0), None),
            (Value::int(10), None),
            (Value::Number(Number::Float(4.0)), None),
            (Value::Null, None),
            (Value::Unknown, None),
        ];
        for (value, want) in cases {
            assert_eq!(detail(value.clone()).as_deref(), want, "{value:?}");
        }
        let d = kind.check(&Value::int(11), &path).expect("an error");
        assert_eq!(d.attribute, Some(path.clone()));
        let fractional = NumberKind::Fractional;
        assert_eq!(
            fractional.check(&Value::Number(Number::Float(0.5)), &path),
            None
        );
        assert!(
            fractional
                .check(&Value::Number(Number::Float(f64::NAN)), &path)
                .is_some()
        );
    }

    fn parsed(text: &str) -> Value {
        Value::Number(Number::parse(text).unwrap_or_else(|| panic!("{text:?}")))
    }

    /// Decimals as Terraform sends them: only those a float stands for pass.
    #[test]
    fn every_number_kind_refuses_a_decimal_no_float_stands_for() {
        let share = AttributePath::parse_dotted("gpu.task_amount");
        let fractional = |text: &str| {
            let d = NumberKind::Fractional.check(&parsed(text), &share)?;
            assert_eq!(d.attribute.as_ref(), Some(&share), "{text}");
            Some(d.detail)
        };
        for text in [
            "0.1",
            "0.25",
            "0.30000000000000004",
            "17",
            "123456789012345",
        ] {
            assert_eq!(fractional(text), None, "{text}");
        }
        let held = "gpu.task_amount cannot be kept as written: the provider holds a number as a \
                    64-bit float, so it takes a decimal of at most 15 significant digits between \
                    1e-307 and 1e308 in size, or a longer one only when it is a float's shortest \
                    form (such as 0.30000000000000004), and a whole number above 2^53 only \
                    when it is a float's exact value.";
        let big = format!("1{}", "0".repeat(400));
        let cases = [
            ("0.10000000000000000001", "which a float would round to 0.1"),
            (
                "12345678901234567890",
                "which a float would round to 12345678901234567168",
            ),
            // One significant digit, but whole and no float's exact value: Terraform would
            // compare the float 99999999999999991611392 with it exactly.
            (
                "100000000000000000000000",
                "which a float would round to 99999999999999991611392",
            ),
            (
                big.as_str(),
                "which is beyond the largest float (about 1.8e308)",
            ),
        ];
        for (text, instead) in cases {
            let want = format!("{held} Got {text}, {instead}.");
            assert_eq!(fractional(text), Some(want), "{text}");
        }

        let replicas = AttributePath::attr("replicas");
        let whole = |text: &str| {
            let kind = NumberKind::Whole { min: 0, max: 10 };
            kind.check(&parsed(text), &replicas).map(|d| d.detail)
        };
        let cases = [
            ("3", None),
            (
                "12345678901234567890",
                Some("replicas must be a whole number from 0 to 10, got 12345678901234567890."),
            ),
            (
                "3.00000000000000000001",
                Some("replicas must be a whole number, got 3.00000000000000000001."),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(whole(text).as_deref(), want, "{text}");
        }
    }

    #[test]
    fn default_makes_optional_and_computed() {
        let a = Attribute::int("n").default(4i64);
        assert!(a.optional && a.computed && !a.required);
    }
}
