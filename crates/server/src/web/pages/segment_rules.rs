//! The rule builder's form: a rule tree as a flat list of rows in preorder,
//! each with its depth, posted as indexed fields (`c[3][depth]`,
//! `c[3][op]`, `c[3][field]`, `c[3][operand]`, `c[3][value]`).
//!
//! Indexed fields rather than the rule as one JSON hidden field: every part
//! of the rule is then an ordinary control the person edits, so the page
//! works without JavaScript (a JSON field would need a script to follow the
//! inputs), and a 422's path in the tree (`rule.children[1].value`) maps
//! back to the row that holds it. Adding, grouping, negating and removing
//! are edits of the list ([`Rows::edit`]) that re-render the page; the tree
//! the actions receive is rebuilt from it ([`Rows::to_rule`]).

use neuracrm_domain::segments::{FIELDS, FieldType, MAX_DEPTH, MAX_NODES, Rule};
use serde_json::Value;

/// One row: a group (`op` is `and`, `or` or `not`) or a condition (`op`
/// is `cond`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 0 for the root group; a child is one deeper than its group.
    pub depth: usize,
    /// `and`, `or`, `not`, or `cond`.
    pub op: String,
    /// A condition's field.
    pub field: String,
    /// A condition's operand.
    pub operand: String,
    /// A condition's value as typed (`in` and `between`: comma-separated).
    pub value: String,
}

impl Row {
    /// A group row.
    pub fn group(depth: usize, op: &str) -> Row {
        Row {
            depth,
            op: op.into(),
            field: String::new(),
            operand: String::new(),
            value: String::new(),
        }
    }

    /// The condition a new row starts with.
    pub fn condition(depth: usize) -> Row {
        Row {
            depth,
            op: "cond".into(),
            field: "won_deals".into(),
            operand: "gte".into(),
            value: "1".into(),
        }
    }

    /// Whether the row is a group.
    pub fn is_group(&self) -> bool {
        self.op != "cond"
    }
}

/// The rows of a rule, root group first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows(pub Vec<Row>);

/// Most rows a form may post (a rule has at most [`MAX_NODES`] nodes; the
/// root added by [`Rows::normalized`] is one more).
pub const MAX_ROWS: usize = MAX_NODES + 1;

/// An edit a button of the builder asks for, on row `usize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// A condition as the group's last child.
    AddCondition(usize),
    /// An `and` group (with one condition) as the group's last child.
    AddGroup(usize),
    /// Wraps the row in a `not` group, or unwraps a `not` group.
    Negate(usize),
    /// Removes the row and what it holds (not the root).
    Remove(usize),
}

impl Edit {
    /// `add:3`, `group:3`, `not:3`, `remove:3`.
    pub fn parse(s: &str) -> Option<Edit> {
        let (what, at) = s.split_once(':')?;
        let at: usize = at.parse().ok()?;
        Some(match what {
            "add" => Edit::AddCondition(at),
            "group" => Edit::AddGroup(at),
            "not" => Edit::Negate(at),
            "remove" => Edit::Remove(at),
            _ => return None,
        })
    }
}

impl Rows {
    /// The rows of the posted fields `c[i][key]` (other fields ignored), in
    /// index order; `None` when more than [`MAX_ROWS`] rows are posted.
    pub fn from_pairs(pairs: &[(String, String)]) -> Option<Rows> {
        let mut by_index = std::collections::BTreeMap::<usize, Row>::new();
        for (k, v) in pairs {
            let Some(rest) = k.strip_prefix("c[") else {
                continue;
            };
            let Some((i, key)) = rest.split_once("][") else {
                continue;
            };
            let (Ok(i), Some(key)) = (i.parse::<usize>(), key.strip_suffix(']')) else {
                continue;
            };
            if !by_index.contains_key(&i) && by_index.len() >= MAX_ROWS {
                return None;
            }
            let row = by_index.entry(i).or_insert_with(|| Row {
                op: "cond".into(),
                ..Row::group(1, "")
            });
            match key {
                "depth" => row.depth = v.trim().parse().unwrap_or(1),
                "op" => row.op = v.clone(),
                "field" => row.field = v.clone(),
                "operand" => row.operand = v.clone(),
                "value" => row.value = v.clone(),
                _ => {}
            }
        }
        Some(Rows(by_index.into_values().collect()).normalized())
    }

    /// A root group (`and` if the first row is not a group), and depths
    /// that make a tree: every row below the root at least 1 deep, at most
    /// one deeper than the row before when that is a group (else as deep),
    /// and never deeper than [`MAX_DEPTH`] groups allow.
    pub fn normalized(mut self) -> Rows {
        if self.0.first().is_none_or(|r| !r.is_group()) {
            for r in &mut self.0 {
                r.depth += 1;
            }
            self.0.insert(0, Row::group(0, "and"));
        }
        for r in &mut self.0 {
            if r.is_group() && !matches!(r.op.as_str(), "and" | "or" | "not") {
                r.op = "and".into();
            }
        }
        self.0[0].depth = 0;
        for i in 1..self.0.len() {
            let prev = &self.0[i - 1];
            let deepest = if prev.is_group() {
                prev.depth + 1
            } else {
                prev.depth
            };
            let d = self.0[i].depth.clamp(1, deepest.min(MAX_DEPTH));
            self.0[i].depth = d;
        }
        self
    }

    /// One past the last row of row `i`'s subtree.
    fn end_of(&self, i: usize) -> usize {
        let d = self.0[i].depth;
        let mut j = i + 1;
        while j < self.0.len() && self.0[j].depth > d {
            j += 1;
        }
        j
    }

    /// Applies an edit (an edit of a row that is not there, or that does
    /// not apply to it, changes nothing).
    pub fn edit(&mut self, e: Edit) {
        let rows = &mut self.0;
        match e {
            Edit::AddCondition(i) | Edit::AddGroup(i)
                if i < rows.len() && rows[i].is_group() && rows.len() + 2 <= MAX_ROWS =>
            {
                let at = self.end_of(i);
                let d = self.0[i].depth + 1;
                if e == Edit::AddGroup(i) {
                    self.0.insert(at, Row::group(d, "and"));
                    self.0.insert(at + 1, Row::condition(d + 1));
                } else {
                    self.0.insert(at, Row::condition(d));
                }
            }
            Edit::Negate(i) if i < rows.len() => {
                let end = self.end_of(i);
                let is_not = self.0[i].op == "not";
                // A `not` of one child is unwrapped; anything else wrapped.
                let children = (i + 1..end)
                    .filter(|&j| self.0[j].depth == self.0[i].depth + 1)
                    .count();
                if is_not && children == 1 && i > 0 {
                    self.0.remove(i);
                    for r in &mut self.0[i..end - 1] {
                        r.depth -= 1;
                    }
                } else if self.0.len() < MAX_ROWS {
                    let d = self.0[i].depth;
                    for r in &mut self.0[i..end] {
                        r.depth += 1;
                    }
                    self.0.insert(i, Row::group(d, "not"));
                    if i == 0 {
                        // The root stays an and/or group over the not.
                        for r in &mut self.0 {
                            r.depth += 1;
                        }
                        self.0.insert(0, Row::group(0, "and"));
                    }
                }
            }
            Edit::Remove(i) if i > 0 && i < rows.len() => {
                let end = self.end_of(i);
                self.0.drain(i..end);
            }
            _ => {}
        }
    }

    /// The rule as the API takes it, and the path in the tree of each row
    /// (`rule`, `rule.children[1]`, ...).
    pub fn to_rule(&self) -> (Value, Vec<String>) {
        let mut paths = vec![String::new(); self.0.len()];
        let (v, _) = self.node(0, "rule".into(), &mut paths);
        (v, paths)
    }

    /// Row `i` and its subtree as JSON; the index after it.
    fn node(&self, i: usize, path: String, paths: &mut [String]) -> (Value, usize) {
        let row = &self.0[i];
        paths[i] = path.clone();
        if !row.is_group() {
            return (condition_json(row), i + 1);
        }
        let mut children = Vec::new();
        let mut j = i + 1;
        while j < self.0.len() && self.0[j].depth > row.depth {
            let (child, next) = self.node(j, format!("{path}.children[{}]", children.len()), paths);
            children.push(child);
            j = next;
        }
        (serde_json::json!({"op": row.op, "children": children}), j)
    }

    /// The rows of a saved rule (a root condition under an `and`).
    pub fn of_rule(rule: &Rule) -> Rows {
        let mut rows = Vec::new();
        flatten(&rule.to_json(), 0, &mut rows);
        Rows(rows).normalized()
    }

    /// The row an error at `path` (`rule.children[1].value`) belongs to:
    /// the deepest row whose path leads to it.
    pub fn row_of(paths: &[String], path: &str) -> Option<usize> {
        paths
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                path.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
            .max_by_key(|(_, p)| p.len())
            .map(|(i, _)| i)
    }
}

fn flatten(v: &Value, depth: usize, rows: &mut Vec<Row>) {
    if let Some(children) = v.get("children").and_then(Value::as_array) {
        let op = v.get("op").and_then(Value::as_str).unwrap_or("and");
        rows.push(Row::group(depth, op));
        for c in children {
            flatten(c, depth + 1, rows);
        }
        return;
    }
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let value = match v.get("value") {
        Some(Value::Array(items)) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Some(v) => text(v),
        None => String::new(),
    };
    rows.push(Row {
        depth,
        op: "cond".into(),
        field: v.get("field").map(text).unwrap_or_default(),
        operand: v.get("operand").map(text).unwrap_or_default(),
        value,
    });
}

/// A condition row as JSON: the value typed by the field (a number for a
/// number field when it reads as one; otherwise the text as typed, which
/// the rule's check then refuses naming the place).
fn condition_json(row: &Row) -> Value {
    let ty = FIELDS.iter().find(|f| f.name == row.field).map(|f| f.ty);
    let scalar = |s: &str| -> Value {
        let s = s.trim();
        match ty {
            Some(FieldType::Integer | FieldType::Id) => s
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::String(s.into())),
            Some(FieldType::Number) => s
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Value::from)
                .unwrap_or_else(|| Value::String(s.into())),
            _ => Value::String(s.into()),
        }
    };
    let mut m = serde_json::Map::new();
    m.insert("field".into(), Value::String(row.field.clone()));
    m.insert("operand".into(), Value::String(row.operand.clone()));
    let list = || -> Value {
        row.value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(scalar)
            .collect()
    };
    match row.operand.as_str() {
        "is_empty" | "is_not_empty" => {}
        "in_last_days" | "not_in_last_days" => {
            let v = row.value.trim();
            m.insert(
                "value".into(),
                v.parse::<i64>()
                    .map(Value::from)
                    .unwrap_or_else(|_| Value::String(v.into())),
            );
        }
        "in" | "between" => {
            m.insert("value".into(), list());
        }
        _ => {
            m.insert("value".into(), scalar(&row.value));
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn indexed_fields_make_the_tree_with_typed_values_and_paths() {
        let rows = Rows::from_pairs(&pairs(&[
            ("csrf", "x"),
            ("c[0][depth]", "0"),
            ("c[0][op]", "and"),
            ("c[1][depth]", "1"),
            ("c[1][op]", "cond"),
            ("c[1][field]", "industry"),
            ("c[1][operand]", "in"),
            ("c[1][value]", "technology, finance"),
            ("c[2][depth]", "1"),
            ("c[2][op]", "not"),
            ("c[3][depth]", "2"),
            ("c[3][op]", "cond"),
            ("c[3][field]", "last_activity_at"),
            ("c[3][operand]", "in_last_days"),
            ("c[3][value]", "60"),
            ("c[10][depth]", "1"),
            ("c[10][op]", "cond"),
            ("c[10][field]", "won_value_cents"),
            ("c[10][operand]", "between"),
            ("c[10][value]", "5000000, 9000000"),
        ]))
        .unwrap();
        let (rule, paths) = rows.to_rule();
        assert_eq!(
            rule,
            json!({"op": "and", "children": [
                {"field": "industry", "operand": "in", "value": ["technology", "finance"]},
                {"op": "not", "children": [{"field": "last_activity_at", "operand": "in_last_days", "value": 60}]},
                {"field": "won_value_cents", "operand": "between", "value": [5000000, 9000000]},
            ]})
        );
        assert_eq!(
            paths,
            [
                "rule",
                "rule.children[0]",
                "rule.children[1]",
                "rule.children[1].children[0]",
                "rule.children[2]"
            ]
        );
        assert!(Rule::parse(&rule).is_ok());
        assert_eq!(Rows::of_rule(&Rule::parse(&rule).unwrap()), rows);
        assert_eq!(
            Rows::row_of(&paths, "rule.children[1].children[0].value"),
            Some(3)
        );
        assert_eq!(Rows::row_of(&paths, "rule.children[1]"), Some(2));
        assert_eq!(Rows::row_of(&paths, "name"), None);
    }

    #[test]
    fn a_value_that_is_not_a_number_goes_as_typed_for_the_check_to_refuse() {
        let mut rows = Rows(vec![Row::group(0, "or"), Row::condition(1)]);
        rows.0[1].value = "many".into();
        let (rule, paths) = rows.to_rule();
        let e = Rule::parse(&rule).unwrap_err();
        assert_eq!(e.path, "rule.children[0].value");
        assert_eq!(Rows::row_of(&paths, &e.path), Some(1));
    }

    #[test]
    fn edits_add_group_negate_and_remove() {
        let mut rows = Rows(vec![Row::group(0, "and"), Row::condition(1)]);
        rows.edit(Edit::AddGroup(0));
        rows.edit(Edit::AddCondition(2));
        let depths: Vec<_> = rows.0.iter().map(|r| (r.depth, r.op.as_str())).collect();
        assert_eq!(
            depths,
            [
                (0, "and"),
                (1, "cond"),
                (1, "and"),
                (2, "cond"),
                (2, "cond")
            ]
        );
        rows.edit(Edit::Negate(1));
        let (rule, _) = rows.to_rule();
        assert_eq!(rule["children"][0]["op"], "not");
        assert_eq!(rule["children"][0]["children"][0]["field"], "won_deals");
        assert_eq!(rule["children"][1]["children"].as_array().unwrap().len(), 2);
        rows.edit(Edit::Negate(1));
        assert_eq!(rows.0[1], Row::condition(1), "negating a not unwraps it");
        rows.edit(Edit::Remove(2));
        assert_eq!(rows.0.len(), 2);
        rows.edit(Edit::Remove(0));
        assert_eq!(rows.0.len(), 2, "the root stays");
        rows.edit(Edit::Negate(0));
        let (rule, _) = rows.to_rule();
        assert_eq!(
            rule,
            json!({"op": "and", "children": [{"op": "not", "children": [{"op": "and", "children": [
                {"field": "won_deals", "operand": "gte", "value": 1}]}]}]})
        );
        // Out of range or not a group: nothing changes.
        let before = rows.clone();
        rows.edit(Edit::AddCondition(99));
        rows.edit(Edit::AddCondition(3));
        rows.edit(Edit::Remove(99));
        assert_eq!(rows, before);
        assert_eq!(Edit::parse("group:2"), Some(Edit::AddGroup(2)));
        assert_eq!(Edit::parse("group:x"), None);
        assert_eq!(Edit::parse("save"), None);
    }

    #[test]
    fn broken_depths_and_too_many_rows_are_contained() {
        let rows = Rows::from_pairs(&pairs(&[
            ("c[0][op]", "cond"),
            ("c[0][field]", "industry"),
            ("c[0][operand]", "is"),
            ("c[1][depth]", "9"),
            ("c[1][op]", "xor"),
        ]))
        .unwrap();
        let shape: Vec<_> = rows.0.iter().map(|r| (r.depth, r.op.as_str())).collect();
        assert_eq!(shape, [(0, "and"), (1, "cond"), (1, "and")]);
        let many: Vec<_> = (0..=MAX_ROWS)
            .map(|i| (format!("c[{i}][op]"), "cond".to_string()))
            .collect();
        assert!(Rows::from_pairs(&many).is_none());
    }
}
