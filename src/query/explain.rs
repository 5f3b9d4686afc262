//! Reading `EXPLAIN (FORMAT JSON)` output into a plan tree for the plan view: node type, the
//! relation or index it works on, estimates, and with `ANALYZE` the actual time, rows and loops,
//! plus each node's own time (its total minus its children's, over all loops) — where the time
//! really went.

use serde_json::Value;

/// The EXPLAIN statement for `sql`: JSON format, with `ANALYZE` (runs the statement!) or not.
pub fn explain_sql(sql: &str, analyze: bool) -> String {
    let options = if analyze {
        "ANALYZE, BUFFERS, FORMAT JSON"
    } else {
        "FORMAT JSON"
    };
    format!("EXPLAIN ({options}) {}", sql.trim().trim_end_matches(';'))
}

/// One node of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanNode {
    /// `Seq Scan`, `Hash Join`…
    pub node_type: String,
    /// `on orders o`, `using orders_pkey`, the join type… (empty when none).
    pub detail: String,
    /// Estimated total cost.
    pub total_cost: f64,
    /// Estimated rows.
    pub plan_rows: f64,
    /// With ANALYZE: time of one loop to its last row (ms), rows per loop, loops.
    pub actual: Option<Actual>,
    /// Children in order.
    pub children: Vec<PlanNode>,
}

/// Measured figures of an analysed node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Actual {
    /// Milliseconds to the last row, per loop.
    pub total_millis: f64,
    /// Rows per loop.
    pub rows: f64,
    /// Loops.
    pub loops: f64,
}

impl PlanNode {
    /// Time over all loops, milliseconds.
    pub fn inclusive_millis(&self) -> Option<f64> {
        self.actual.map(|a| a.total_millis * a.loops)
    }

    /// Time spent in this node itself (inclusive minus children), never negative.
    pub fn exclusive_millis(&self) -> Option<f64> {
        let children: f64 = self
            .children
            .iter()
            .filter_map(PlanNode::inclusive_millis)
            .sum();
        self.inclusive_millis().map(|t| (t - children).max(0.0))
    }
}

/// A parsed plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// The root node.
    pub root: PlanNode,
    /// `Planning Time` (ms), with ANALYZE.
    pub planning_millis: Option<f64>,
    /// `Execution Time` (ms), with ANALYZE.
    pub execution_millis: Option<f64>,
}

/// Parses the single value `EXPLAIN (FORMAT JSON)` returns; `None` when it is not a plan.
pub fn parse_plan(json: &str) -> Option<Plan> {
    let value: Value = serde_json::from_str(json).ok()?;
    let top = value.as_array()?.first()?;
    Some(Plan {
        root: parse_node(top.get("Plan")?),
        planning_millis: top.get("Planning Time").and_then(Value::as_f64),
        execution_millis: top.get("Execution Time").and_then(Value::as_f64),
    })
}

fn parse_node(node: &Value) -> PlanNode {
    let text = |key: &str| node.get(key).and_then(Value::as_str);
    let number = |key: &str| node.get(key).and_then(Value::as_f64);
    let mut detail = Vec::new();
    if let Some(join) = text("Join Type") {
        detail.push(format!("{join} join"));
    }
    if let Some(relation) = text("Relation Name") {
        let alias = text("Alias").filter(|a| *a != relation);
        detail.push(match alias {
            Some(alias) => format!("on {relation} {alias}"),
            None => format!("on {relation}"),
        });
    }
    if let Some(index) = text("Index Name") {
        detail.push(format!("using {index}"));
    }
    for key in [
        "Index Cond",
        "Hash Cond",
        "Merge Cond",
        "Filter",
        "Sort Key",
        "Group Key",
    ] {
        match node.get(key) {
            Some(Value::String(condition)) => detail.push(format!("{key}: {condition}")),
            Some(Value::Array(keys)) => {
                let keys: Vec<&str> = keys.iter().filter_map(Value::as_str).collect();
                detail.push(format!("{key}: {}", keys.join(", ")));
            }
            _ => {}
        }
    }
    let actual = number("Actual Total Time").map(|total_millis| Actual {
        total_millis,
        rows: number("Actual Rows").unwrap_or(0.0),
        loops: number("Actual Loops").unwrap_or(1.0),
    });
    PlanNode {
        node_type: text("Node Type").unwrap_or("?").to_owned(),
        detail: detail.join(" · "),
        total_cost: number("Total Cost").unwrap_or(0.0),
        plan_rows: number("Plan Rows").unwrap_or(0.0),
        actual,
        children: node
            .get("Plans")
            .and_then(Value::as_array)
            .map(|plans| plans.iter().map(parse_node).collect())
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explain_wraps_the_statement() {
        assert_eq!(
            explain_sql(" select 1; ", false),
            "EXPLAIN (FORMAT JSON) select 1"
        );
        assert!(
            explain_sql("select 1", true).starts_with("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)")
        );
    }

    #[test]
    fn analysed_plans_give_each_node_its_own_time() {
        let json = r#"[{"Plan": {"Node Type": "Hash Join", "Join Type": "Inner",
            "Hash Cond": "(o.id = i.order_id)", "Total Cost": 10.5, "Plan Rows": 100,
            "Actual Total Time": 8.0, "Actual Rows": 90, "Actual Loops": 1,
            "Plans": [
              {"Node Type": "Seq Scan", "Relation Name": "orders", "Alias": "o",
               "Total Cost": 4, "Plan Rows": 50, "Actual Total Time": 3.0, "Actual Rows": 50, "Actual Loops": 1},
              {"Node Type": "Index Scan", "Relation Name": "items", "Alias": "items", "Index Name": "items_pkey",
               "Total Cost": 2, "Plan Rows": 2, "Actual Total Time": 0.5, "Actual Rows": 2, "Actual Loops": 6}
            ]},
            "Planning Time": 0.2, "Execution Time": 8.4}]"#;
        let plan = parse_plan(json).unwrap();
        assert_eq!(plan.execution_millis, Some(8.4));
        assert_eq!(
            plan.root.detail,
            "Inner join · Hash Cond: (o.id = i.order_id)"
        );
        assert_eq!(plan.root.children[0].detail, "on orders o");
        assert_eq!(plan.root.children[1].detail, "on items · using items_pkey");
        assert_eq!(plan.root.children[1].inclusive_millis(), Some(3.0));
        assert_eq!(plan.root.exclusive_millis(), Some(2.0));
        assert_eq!(parse_plan("[1]"), None);
        assert_eq!(parse_plan("not json"), None);
    }
}
