//! Server-side apply over JSON values: merge, prune, conflicts and ownership changes, following
//! structured-merge-diff's Apply and Update.
//!
//! Leaves out version conversion (each kind has one version here), `i:` index paths (no list the
//! double knows is keyed by position) and unions. Schema facts come from `schema.rs`, the
//! representation of ownership from `fields.rs`.

use super::clock;
use super::fields::{Entry, FieldSet, Path, display};
use super::schema::{self, Kind, ListType};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    Leaf,
    Struct,
    Map,
    List,
    Item,
}

#[derive(Debug)]
struct Indexed {
    node: Node,
    /// A member of the set the object would own if applied (structured-merge-diff's ToFieldSet).
    member: bool,
    leaf: Option<Value>,
}

fn classify(kind: Kind, names: &[String], v: &Value) -> Node {
    if schema::is_atomic(kind, names) {
        return Node::Leaf;
    }
    match v {
        Value::Object(m) if !m.is_empty() && schema::is_map(names) => Node::Map,
        Value::Object(m) if !m.is_empty() => Node::Struct,
        Value::Array(_) if schema::list_type(kind, names) != ListType::Atomic => Node::List,
        _ => Node::Leaf,
    }
}

/// The path element of a list item, or the key field it lacks.
fn item_key(lt: ListType, item: &Value) -> Result<String, String> {
    match lt {
        ListType::Map(keys) => {
            let mut m = Map::new();
            for k in keys {
                let v = item.get(*k).cloned().or_else(|| schema::key_default(k));
                m.insert((*k).to_owned(), v.ok_or_else(|| (*k).to_owned())?);
            }
            Ok(format!("k:{}", Value::Object(m)))
        }
        _ => Ok(format!("v:{item}")),
    }
}

struct Walker {
    kind: Kind,
    names: Vec<String>,
    path: Path,
    out: BTreeMap<Path, Indexed>,
}

impl Walker {
    fn object(&mut self, obj: &Map<String, Value>, map_entries: bool) -> Result<(), String> {
        for (k, child) in obj {
            self.names.push(k.clone());
            self.path.push(format!("f:{k}"));
            self.value(child, map_entries)?;
            self.names.pop();
            self.path.pop();
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, map_entry: bool) -> Result<(), String> {
        let node = classify(self.kind, &self.names, v);
        let member = map_entry || node == Node::Leaf;
        let leaf = (node == Node::Leaf).then(|| v.clone());
        self.out
            .insert(self.path.clone(), Indexed { node, member, leaf });
        match (node, v) {
            (Node::Struct, Value::Object(m)) => self.object(m, false),
            (Node::Map, Value::Object(m)) => self.object(m, true),
            (Node::List, Value::Array(items)) => self.items(items),
            _ => Ok(()),
        }
    }

    fn items(&mut self, items: &[Value]) -> Result<(), String> {
        let lt = schema::list_type(self.kind, &self.names);
        let mut seen = BTreeSet::new();
        for (i, item) in items.iter().enumerate() {
            let pe = item_key(lt, item).map_err(|field| {
                format!(
                    "{}: element {i}: associative list with keys has an element that omits key field {field:?} (and doesn't have default value)",
                    display(&self.path)
                )
            })?;
            if !seen.insert(pe.clone()) {
                return Err(format!(
                    "{}: duplicate entries for key {}",
                    display(&self.path),
                    display(&[pe])
                ));
            }
            self.path.push(pe);
            let node = Indexed {
                node: Node::Item,
                member: true,
                leaf: None,
            };
            self.out.insert(self.path.clone(), node);
            if let Value::Object(m) = item {
                self.object(m, false)?;
            }
            self.path.pop();
        }
        Ok(())
    }
}

fn index(kind: Kind, obj: &Value) -> Result<BTreeMap<Path, Indexed>, String> {
    let mut w = Walker {
        kind,
        names: Vec::new(),
        path: Vec::new(),
        out: BTreeMap::new(),
    };
    if let Value::Object(m) = obj {
        w.object(m, false)?;
    }
    Ok(w.out)
}

/// Fields no manager owns: identity, server-set metadata and (on the main resource) status.
fn server_field(path: &[String]) -> bool {
    match path.first().map(String::as_str) {
        Some("f:apiVersion" | "f:kind" | "f:status") => true,
        Some("f:metadata") => matches!(
            path.get(1).map(String::as_str),
            None | Some(
                "f:name"
                    | "f:namespace"
                    | "f:uid"
                    | "f:resourceVersion"
                    | "f:generation"
                    | "f:creationTimestamp"
                    | "f:managedFields"
                    | "f:selfLink"
                    | "f:deletionTimestamp"
                    | "f:deletionGracePeriodSeconds"
            )
        ),
        _ => false,
    }
}

/// The fields an applied configuration sets: what its manager will own.
pub(crate) fn applied_set(kind: Kind, config: &Value) -> Result<FieldSet, String> {
    Ok(index(kind, config)?
        .into_iter()
        .filter(|(p, i)| i.member && !server_field(p))
        .map(|(p, _)| p)
        .collect())
}

/// What changed between two versions of an object, as structured-merge-diff's Compare sees it.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub(crate) added: FieldSet,
    pub(crate) removed: FieldSet,
    pub(crate) modified: FieldSet,
}

/// Compares `old` and `new`; `status` paths count only when `with_status` (status subresource).
pub(crate) fn compare(kind: Kind, old: &Value, new: &Value, with_status: bool) -> Comparison {
    let relevant = |m: BTreeMap<Path, Indexed>| -> BTreeMap<Path, Indexed> {
        m.into_iter()
            .filter(|(_, i)| i.member || matches!(i.node, Node::Map | Node::List))
            .filter(|(p, _)| {
                let status = p.first().is_some_and(|f| f == "f:status");
                if status {
                    with_status
                } else {
                    !server_field(p)
                }
            })
            .collect()
    };
    // Both values were indexed successfully when they were stored or applied.
    let a = relevant(index(kind, old).unwrap_or_default());
    let b = relevant(index(kind, new).unwrap_or_default());
    let mut c = Comparison::default();
    for (p, bi) in &b {
        match a.get(p) {
            None => {
                c.added.insert(p.clone());
            }
            Some(ai) if ai.leaf != bi.leaf && (ai.node == Node::Leaf || bi.node == Node::Leaf) => {
                c.modified.insert(p.clone());
            }
            Some(_) => {}
        }
    }
    c.removed = a.keys().filter(|p| !b.contains_key(*p)).cloned().collect();
    c
}

/// `live` with `config` merged in: maps and keyed lists merge, everything else is replaced.
pub(crate) fn merge(kind: Kind, live: &Value, config: &Value) -> Value {
    merge_at(kind, &mut Vec::new(), live, config)
}

fn merge_at(kind: Kind, names: &mut Vec<String>, live: &Value, config: &Value) -> Value {
    if schema::is_atomic(kind, names) {
        return config.clone();
    }
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (k, cv) in c {
                names.push(k.clone());
                let merged = match l.get(k) {
                    Some(lv) => merge_at(kind, names, lv, cv),
                    None => cv.clone(),
                };
                names.pop();
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => match schema::list_type(kind, names) {
            ListType::Atomic => config.clone(),
            lt => {
                let mut out = l.clone();
                for ci in c {
                    let key = item_key(lt, ci).ok();
                    let pos = out.iter().position(|li| item_key(lt, li).ok() == key);
                    match pos {
                        Some(pos) => out[pos] = merge_at(kind, names, &out[pos].clone(), ci),
                        None => out.push(ci.clone()),
                    }
                }
                Value::Array(out)
            }
        },
        _ => config.clone(),
    }
}

fn matches_item(item: &Value, pe: &str) -> bool {
    if let Some(k) = pe.strip_prefix("k:") {
        let keys: Map<String, Value> = serde_json::from_str(k).unwrap_or_default();
        keys.iter().all(|(f, want)| {
            item.get(f)
                .cloned()
                .or_else(|| schema::key_default(f))
                .as_ref()
                == Some(want)
        })
    } else {
        pe.strip_prefix("v:")
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
            .is_some_and(|v| &v == item)
    }
}

fn step_mut<'a>(v: &'a mut Value, pe: &str) -> Option<&'a mut Value> {
    match pe.strip_prefix("f:") {
        Some(f) => v.as_object_mut()?.get_mut(f),
        None => v.as_array_mut()?.iter_mut().find(|i| matches_item(i, pe)),
    }
}

/// Removes the field or list item at `path`; false when it was not there.
pub(crate) fn remove_path(obj: &mut Value, path: &[String]) -> bool {
    let Some((last, parent)) = path.split_last() else {
        return false;
    };
    let mut cur = obj;
    for pe in parent {
        match step_mut(cur, pe) {
            Some(next) => cur = next,
            None => return false,
        }
    }
    match last.strip_prefix("f:") {
        Some(f) => cur.as_object_mut().is_some_and(|m| m.remove(f).is_some()),
        None => cur.as_array_mut().is_some_and(|items| {
            let before = items.len();
            items.retain(|i| !matches_item(i, last));
            items.len() != before
        }),
    }
}

fn owns_at_or_below(set: &FieldSet, p: &Path) -> bool {
    set.range(p.clone()..)
        .next()
        .is_some_and(|q| q.starts_with(p))
}

/// A field owned by another manager, with a different value from the one applied.
pub(crate) type Conflicts = Vec<(String, String)>;

/// Why an apply was refused.
#[derive(Debug)]
pub(crate) enum ApplyError {
    /// The body does not fit the type (500 on the real server).
    Schema(String),
    /// Fields owned by others (409 unless forced); (manager as printed, path) pairs.
    Conflicts(Conflicts),
}

/// An apply by `manager` of `config` onto `live`: the merged, pruned object and new entries.
pub(crate) fn apply(
    kind: Kind,
    live: &Value,
    entries: &[Entry],
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<(Value, Vec<Entry>), ApplyError> {
    let set = applied_set(kind, config).map_err(ApplyError::Schema)?;
    let mut merged = merge(kind, live, config);
    let mut managers: Vec<Entry> = entries.to_vec();
    let (last_set, last_time) = match managers
        .iter()
        .position(|e| e.same_owner(manager, "Apply", None))
    {
        Some(i) => {
            let last = managers.remove(i);
            (last.set, last.time)
        }
        None => (FieldSet::new(), None),
    };
    managers.push(Entry {
        manager: manager.to_owned(),
        operation: "Apply",
        api_version: kind.api_version().to_owned(),
        time: last_time,
        subresource: None,
        set: set.clone(),
    });
    // Prune: what the manager applied last time and no longer does, unless someone still owns it.
    // Ancestors first: a removed list item takes its fields along while its key still matches.
    for p in last_set.difference(&set) {
        if !managers.iter().any(|e| owns_at_or_below(&e.set, p)) {
            remove_path(&mut merged, p);
        }
    }
    let cmp = compare(kind, live, &merged, false);
    let changed: FieldSet = cmp.modified.union(&cmp.added).cloned().collect();
    let mut conflicts = Vec::new();
    for e in managers.iter_mut() {
        if e.same_owner(manager, "Apply", None) {
            continue;
        }
        let taken: FieldSet = e.set.intersection(&changed).cloned().collect();
        conflicts.extend(taken.iter().map(|p| (e.printed(), display(p))));
        e.set = e.set.difference(&taken).cloned().collect();
        e.set = e.set.difference(&cmp.removed).cloned().collect();
    }
    if !conflicts.is_empty() && !force {
        conflicts.sort();
        return Err(ApplyError::Conflicts(conflicts));
    }
    // The entry's time says when the manager last changed the object: an apply that changes
    // nothing leaves it as it was, and a first one gets none (recording 47).
    if !(cmp.modified.is_empty() && cmp.added.is_empty() && cmp.removed.is_empty())
        && let Some(entry) = managers
            .iter_mut()
            .find(|e| e.same_owner(manager, "Apply", None))
    {
        entry.time = Some(clock::now_secs());
    }
    managers.retain(|e| !e.set.is_empty());
    Ok((merged, managers))
}

/// An Update (a PUT or PATCH that is not apply) by `manager` from `old` to `new`: the new entries.
pub(crate) fn update(
    kind: Kind,
    old: &Value,
    new: &Value,
    entries: &[Entry],
    manager: &str,
    subresource: Option<&str>,
) -> Vec<Entry> {
    let cmp = compare(kind, old, new, subresource == Some("status"));
    let mut managers: Vec<Entry> = entries.to_vec();
    let mine = match managers
        .iter()
        .position(|e| e.same_owner(manager, "Update", subresource))
    {
        Some(i) => managers.remove(i).set,
        None => FieldSet::new(),
    };
    for e in managers.iter_mut() {
        e.set
            .retain(|p| !cmp.modified.contains(p) && !cmp.added.contains(p));
        e.set.retain(|p| !cmp.removed.contains(p));
    }
    let set: FieldSet = mine
        .union(&cmp.modified)
        .cloned()
        .collect::<FieldSet>()
        .union(&cmp.added)
        .filter(|p| !cmp.removed.contains(*p))
        .cloned()
        .collect();
    managers.push(Entry {
        manager: manager.to_owned(),
        operation: "Update",
        api_version: kind.api_version().to_owned(),
        // Writes through `/scale` leave no time (recording 25).
        time: (subresource != Some("scale")).then(clock::now_secs),
        subresource: subresource.map(str::to_owned),
        set,
    });
    managers.retain(|e| !e.set.is_empty());
    managers
}
