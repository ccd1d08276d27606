//! The SQL of segments: per-contact metrics without fan-out, and rules
//! compiled to one parameterised statement.
//!
//! Each aggregate comes from its own grouped subquery joined to `contacts`
//! by contact id: leads (`ml`), deals (`md`), activities (`ma`) and the
//! sentiment of the latest analysed activity (`ms`). Nothing joins two
//! one-to-many tables before grouping, so no sum is multiplied by another
//! table's row count (the specification's single `LEFT JOIN` chain did
//! exactly that). A contact's activities are those naming it, its leads or
//! its deals, each pair (contact, activity) once: three `UNION ALL`
//! branches (`BRANCHES`), each excluding what an earlier branch already
//! gave, each grouped on its own (the first, by far the largest, straight
//! off the covering index `activities_org_contact_time` of migration 0016,
//! in contact order and with no sort) before the at most three rows of a
//! contact are added up.
//!
//! A rule compiles to `SELECT c.id FROM contacts c [subqueries it needs]
//! WHERE c.organization_id = $1 AND <conditions>`, every value bound. Lead and
//! deal fields are `EXISTS` over the contact's leads or deals ("any of").
//! Every condition is made two-valued (`COALESCE(..., FALSE)`), so `not`
//! and `is_not` include contacts whose field is empty instead of dropping
//! them with SQL's unknown.

use chrono::{DateTime, Duration, Utc};
use neuracrm_domain::segments::{
    Condition, Field, FieldScope, FieldType, Operand, Operands, Rule, Scalar,
};
use neuracrm_domain::{Cents, ContactId, OrgId, SegmentId};

use crate::db::{Backend, Sql};
use crate::tables::push_in;

/// Which contacts a metrics read or a rule covers.
#[derive(Debug, Clone, Copy)]
pub enum Scope<'a> {
    /// Every contact of the organization.
    All,
    /// The members of a segment.
    Segment(SegmentId),
    /// These contacts (at least one).
    Contacts(&'a [ContactId]),
    /// A systematic sample: the contacts whose `id % every = offset`
    /// (`every` at least 1). Filtered inside each subquery before
    /// grouping, so a sample of a large organization reads its rows once
    /// and groups only the sample's.
    Sample {
        /// One contact in how many.
        every: i64,
        /// Which residue (`0..every`).
        offset: i64,
    },
}

/// Which metric subqueries a statement joins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    leads: bool,
    deals: bool,
    activities: bool,
    sentiment: bool,
    rfm: bool,
}

impl Needs {
    pub(crate) const ALL: Needs = Needs {
        leads: true,
        deals: true,
        activities: true,
        sentiment: true,
        rfm: true,
    };

    fn or(self, o: Needs) -> Needs {
        Needs {
            leads: self.leads || o.leads,
            deals: self.deals || o.deals,
            activities: self.activities || o.activities,
            sentiment: self.sentiment || o.sentiment,
            rfm: self.rfm || o.rfm,
        }
    }

    fn of(rule: &Rule) -> Needs {
        let mut n = Needs::default();
        for f in rule.fields() {
            match (f.scope, f.name) {
                (FieldScope::LeadMetric, _) => n.leads = true,
                (FieldScope::DealMetric, _) => n.deals = true,
                (FieldScope::ActivityMetric, _) | (FieldScope::Derived, "activity_score") => {
                    n.activities = true
                }
                (FieldScope::SentimentMetric, _) => n.sentiment = true,
                (FieldScope::Rfm, _) => n.rfm = true,
                (FieldScope::Derived, _) => n.deals = true,
                _ => {}
            }
        }
        n
    }
}

/// Days per month in the activity score (the mean Gregorian month).
pub const DAYS_PER_MONTH: f64 = 30.4375;

fn real(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "REAL",
        Backend::Postgres => "DOUBLE PRECISION",
    }
}

/// ` AND <column> IN <scope>`.
fn push_scope(q: &mut Sql, org: OrgId, scope: Scope, column: &str) {
    match scope {
        Scope::All => {}
        Scope::Segment(s) => {
            q.push(" AND ")
                .push(column)
                .push(" IN (SELECT contact_id FROM segment_members WHERE organization_id = ")
                .bind(org)
                .push(" AND segment_id = ")
                .bind(s)
                .push(")");
        }
        Scope::Contacts(ids) => push_in(q, column, ids),
        Scope::Sample { every, offset } => {
            q.push(" AND ")
                .push(column)
                .push(" % ")
                .bind(every.max(1))
                .push(" = ")
                .bind(offset);
        }
    }
}

/// An amount capped at [`Cents::MAX`] (as the other sums of money are).
fn capped(column: &str) -> String {
    let max = Cents::MAX.get();
    format!("CASE WHEN {column} > {max} THEN {max} ELSE {column} END")
}

/// The sum of `amount` where `when` holds, in two exact integer halves
/// (`<name>_hi` in units of 10^8 cents, `<name>_lo` below): joined in Rust
/// as `i128`, no per-contact sum can overflow either backend.
fn money_sum(q: &mut Sql, name: &str, when: Option<&str>) {
    let v = capped("value_cents");
    for (half, op) in [("hi", "/"), ("lo", "%")] {
        let part = format!("({v}) {op} 100000000");
        let part = match when {
            Some(w) => format!("CASE WHEN {w} THEN {part} ELSE 0 END"),
            None => part,
        };
        q.push(&format!(", CAST(SUM({part}) AS BIGINT) AS {name}_{half}"));
    }
}

/// ` LEFT JOIN (SELECT contact_id, <aggregates> FROM <table> WHERE
/// organization_id = $n AND contact_id IS NOT NULL [scope] GROUP BY
/// contact_id) <alias> ON <alias>.contact_id = c.id`.
fn push_grouped(
    q: &mut Sql,
    org: OrgId,
    scope: Scope,
    table: &str,
    alias: &str,
    aggregates: impl FnOnce(&mut Sql),
) {
    q.push(" LEFT JOIN (SELECT contact_id, ");
    aggregates(q);
    q.push(" FROM ")
        .push(table)
        .push(" WHERE organization_id = ")
        .bind(org)
        .push(" AND contact_id IS NOT NULL");
    push_scope(q, org, scope, "contact_id");
    q.push(&format!(
        " GROUP BY contact_id) {alias} ON {alias}.contact_id = c.id"
    ));
}

/// The three ways an activity is a contact's, each (contact, activity)
/// pair once: the contact it names; its lead's contact when that is
/// another; its deal's contact when that is neither. (The contact's
/// column, the joins, the conditions.) For a read of some contacts: the
/// leads (deals) of those contacts first, then their activities.
const BRANCHES: [(&str, &str, &str); 3] = [
    ("a.contact_id", "", "a.contact_id IS NOT NULL"),
    (
        "l.contact_id",
        " JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "l.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> l.contact_id)",
    ),
    (
        "d.contact_id",
        " JOIN deals d ON d.organization_id = a.organization_id AND d.id = a.deal_id \
         LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "d.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> d.contact_id) \
         AND (l.contact_id IS NULL OR l.contact_id <> d.contact_id)",
    ),
];

/// [`BRANCHES`] for a read of every contact: the second and third read the
/// activities' index in lead (deal) order and look each activity's lead
/// (deal) up by key, in that order too (`CROSS JOIN` fixes the order on
/// SQLite; PostgreSQL plans it as any inner join). Driven from the leads,
/// as SQLite otherwise plans it, every lead is a random seek into the
/// activities' index: on 1,000,000 contacts and 10,000,000 activities the
/// second branch took 11.0 s that way and 6.7 s this way (`sqlite3`, the
/// branch alone).
const BRANCHES_ALL: [(&str, &str, &str); 3] = [
    BRANCHES[0],
    (
        "l.contact_id",
        " CROSS JOIN leads l",
        "a.lead_id IS NOT NULL AND l.organization_id = a.organization_id AND l.id = a.lead_id \
         AND l.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> l.contact_id)",
    ),
    (
        "d.contact_id",
        " CROSS JOIN deals d \
         LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "a.deal_id IS NOT NULL AND d.organization_id = a.organization_id AND d.id = a.deal_id \
         AND d.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> d.contact_id) \
         AND (l.contact_id IS NULL OR l.contact_id <> d.contact_id)",
    ),
];

/// Pushes `SELECT <columns> FROM contacts c LEFT JOIN ... WHERE
/// c.organization_id = $n [AND c.id IN scope]`.
pub(crate) fn base(
    q: &mut Sql,
    org: OrgId,
    scope: Scope,
    needs: Needs,
    columns: &str,
    now: DateTime<Utc>,
) {
    base_with(q, org, scope, needs, now, |q| {
        q.push(columns);
    });
}

/// [`base`] with columns that bind values of their own.
fn base_with(
    q: &mut Sql,
    org: OrgId,
    scope: Scope,
    needs: Needs,
    now: DateTime<Utc>,
    columns: impl FnOnce(&mut Sql),
) {
    q.push("SELECT ");
    columns(q);
    q.push(" FROM contacts c");
    if needs.leads {
        push_grouped(q, org, scope, "leads", "ml", |q| {
            q.push("COUNT(*) AS total_leads, AVG(score) AS avg_lead_score");
        });
    }
    if needs.deals {
        push_grouped(q, org, scope, "deals", "md", |q| {
            q.push(
                "COUNT(*) AS total_deals, \
                 SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS won_deals, \
                 SUM(CASE WHEN status = 'lost' THEN 1 ELSE 0 END) AS lost_deals, \
                 SUM(CASE WHEN status = 'open' THEN 1 ELSE 0 END) AS open_deals",
            );
            money_sum(q, "value", None);
            money_sum(q, "won", Some("status = 'won'"));
            money_sum(q, "open", Some("status = 'open'"));
            q.push(
                ", MIN(CASE WHEN status = 'won' THEN closed_at END) AS first_won_at, \
                 MAX(CASE WHEN status = 'won' THEN closed_at END) AS last_won_at",
            );
        });
    }
    if needs.activities {
        // Grouped per branch first (the first by a covering index, in
        // contact order, with no sort), then the at most three rows of a
        // contact added up.
        q.push(
            " LEFT JOIN (SELECT contact_id, CAST(SUM(n) AS BIGINT) AS total_activities, \
             MAX(last_at) AS last_activity_at, CAST(SUM(n30) AS BIGINT) AS activities_30d, \
             CAST(SUM(n90) AS BIGINT) AS activities_90d FROM (",
        );
        let branches = match scope {
            Scope::All => &BRANCHES_ALL,
            _ => &BRANCHES,
        };
        for (i, (contact, joins, conditions)) in branches.iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push(&format!(
                "SELECT {contact} AS contact_id, COUNT(*) AS n, MAX(a.occurred_at) AS last_at, \
                 SUM(CASE WHEN a.occurred_at >= "
            ))
            .bind(now - Duration::days(30))
            .push(" THEN 1 ELSE 0 END) AS n30, SUM(CASE WHEN a.occurred_at >= ")
            .bind(now - Duration::days(90))
            .push(&format!(
                " THEN 1 ELSE 0 END) AS n90 FROM activities a{joins} WHERE a.organization_id = "
            ))
            .bind(org)
            .push(&format!(" AND {conditions}"));
            push_scope(q, org, scope, contact);
            q.push(&format!(" GROUP BY {contact}"));
        }
        q.push(") x GROUP BY contact_id) ma ON ma.contact_id = c.id");
    }
    if needs.sentiment {
        // Only analysed activities, read from `activity_sentiment` first
        // (`CROSS JOIN` fixes that order on SQLite; PostgreSQL plans it as
        // any inner join), so an organization with few analysed activities
        // does not probe it once per activity. The outer `GROUP BY` changes
        // no row: as for RFM ([`push_rfm`]), it gets SQLite to index the
        // ranked rows instead of scanning them for every contact.
        q.push(
            " LEFT JOIN (SELECT contact_id, MAX(compound) AS latest_sentiment FROM \
             (SELECT contact_id, compound, ROW_NUMBER() OVER \
             (PARTITION BY contact_id ORDER BY occurred_at DESC, id DESC) AS rn FROM (",
        );
        for (i, (contact, joins, conditions)) in BRANCHES.iter().enumerate() {
            if i > 0 {
                q.push(" UNION ALL ");
            }
            q.push(&format!(
                "SELECT {contact} AS contact_id, a.id AS id, a.occurred_at AS occurred_at, \
                 s.compound AS compound FROM activity_sentiment s CROSS JOIN activities a{joins} \
                 WHERE s.organization_id = "
            ))
            .bind(org)
            .push(&format!(
                " AND a.organization_id = s.organization_id AND a.id = s.activity_id AND {conditions}"
            ));
            push_scope(q, org, scope, contact);
        }
        q.push(") k) r WHERE rn = 1 GROUP BY contact_id) ms ON ms.contact_id = c.id");
    }
    if needs.rfm {
        push_rfm(q, org);
    }
    q.push(" WHERE c.organization_id = ").bind(org);
    push_scope(q, org, scope, "c.id");
}

/// The RFM scores of the organization's customers (contacts with a won
/// deal), whatever the scope: quintiles (`NTILE(5)`) among all of them of
/// the last won time (recency: the most recent score 5), the won deals
/// and the won value, ties broken by contact id; and the segment named
/// from R and F ([`neuracrm_domain::segments::rfm_segment`]).
///
/// The outer `GROUP BY contact_id` changes no row (one per customer
/// already): it is there for SQLite's planner, which builds no automatic
/// index on a subquery of window functions and so scanned every customer
/// for every contact (100,000 contacts by 18,000 customers: minutes); over
/// a grouped subquery it builds one, as for the other metrics.
fn push_rfm(q: &mut Sql, org: OrgId) {
    q.push(
        " LEFT JOIN (SELECT contact_id, MAX(rfm_recency) AS rfm_recency, \
         MAX(rfm_frequency) AS rfm_frequency, MAX(rfm_monetary) AS rfm_monetary, \
         MAX(rfm_segment) AS rfm_segment FROM \
         (SELECT contact_id, CAST(r AS BIGINT) AS rfm_recency, \
         CAST(f AS BIGINT) AS rfm_frequency, CAST(m AS BIGINT) AS rfm_monetary, \
         CASE WHEN r = 5 AND f >= 4 THEN 'champions' \
         WHEN r >= 3 AND f >= 4 THEN 'loyal_customers' \
         WHEN r >= 4 AND f >= 2 THEN 'potential_loyalists' \
         WHEN r = 5 THEN 'new_customers' WHEN r = 4 THEN 'promising' \
         WHEN r = 3 AND f = 3 THEN 'need_attention' WHEN r = 3 THEN 'about_to_sleep' \
         WHEN f >= 5 THEN 'cant_lose' WHEN f >= 3 THEN 'at_risk' ELSE 'hibernating' END AS rfm_segment \
         FROM ",
    );
    push_rfm_scores(q, org);
    q.push(" s) z GROUP BY contact_id) mr ON mr.contact_id = c.id");
}

/// `(SELECT contact_id, r, f, m FROM ...)`: each customer's R, F and M
/// quintile (1–5) among the organization's customers, as [`push_rfm`]
/// joins them and [`rfm_grid`] counts them.
fn push_rfm_scores(q: &mut Sql, org: OrgId) {
    let v = capped("value_cents");
    q.push(&format!(
        "(SELECT contact_id, \
         NTILE(5) OVER (ORDER BY last_won_at ASC NULLS FIRST, contact_id) AS r, \
         NTILE(5) OVER (ORDER BY won, contact_id) AS f, \
         NTILE(5) OVER (ORDER BY won_hi, won_lo, contact_id) AS m \
         FROM (SELECT contact_id, MAX(closed_at) AS last_won_at, COUNT(*) AS won, \
         SUM(({v}) / 100000000) AS won_hi, SUM(({v}) % 100000000) AS won_lo \
         FROM deals WHERE organization_id = "
    ))
    .bind(org)
    .push(" AND status = 'won' AND contact_id IS NOT NULL GROUP BY contact_id) w)");
}

/// `(r, f, customers)` of every (recency, frequency) cell of the
/// organization's RFM grid that holds a customer, the scores being those
/// of the metrics ([`push_rfm`]).
pub(crate) fn rfm_grid(org: OrgId) -> Sql {
    let mut q = Sql::new("SELECT CAST(r AS BIGINT), CAST(f AS BIGINT), COUNT(*) FROM ");
    push_rfm_scores(&mut q, org);
    q.push(" s GROUP BY r, f ORDER BY r, f");
    q
}

/// The columns of a metrics read ([`super::MetricsRow`]).
pub(crate) const METRIC_COLUMNS: &str = "c.id AS contact_id, c.created_at AS created_at, \
     COALESCE(ml.total_leads, 0) AS total_leads, ml.avg_lead_score AS avg_lead_score, \
     COALESCE(md.total_deals, 0) AS total_deals, COALESCE(md.won_deals, 0) AS won_deals, \
     COALESCE(md.lost_deals, 0) AS lost_deals, COALESCE(md.open_deals, 0) AS open_deals, \
     COALESCE(md.value_hi, 0) AS value_hi, COALESCE(md.value_lo, 0) AS value_lo, \
     COALESCE(md.won_hi, 0) AS won_hi, COALESCE(md.won_lo, 0) AS won_lo, \
     COALESCE(md.open_hi, 0) AS open_hi, COALESCE(md.open_lo, 0) AS open_lo, \
     md.first_won_at AS first_won_at, md.last_won_at AS last_won_at, \
     COALESCE(ma.total_activities, 0) AS total_activities, ma.last_activity_at AS last_activity_at, \
     COALESCE(ma.activities_30d, 0) AS activities_30d, COALESCE(ma.activities_90d, 0) AS activities_90d, \
     ms.latest_sentiment AS latest_sentiment, mr.rfm_recency AS rfm_recency, \
     mr.rfm_frequency AS rfm_frequency, mr.rfm_monetary AS rfm_monetary, mr.rfm_segment AS rfm_segment";

/// The metrics of every contact in `scope`, in contact id order (without
/// the RFM scores when `rfm` is false: they rank every customer of the
/// organization, whatever the scope).
pub(crate) fn metrics(org: OrgId, scope: Scope, now: DateTime<Utc>, rfm: bool) -> Sql {
    let mut q = Sql::default();
    let needs = Needs { rfm, ..Needs::ALL };
    let columns = if rfm {
        METRIC_COLUMNS.to_string()
    } else {
        METRIC_COLUMNS.replace(
            "mr.rfm_recency AS rfm_recency, \
             mr.rfm_frequency AS rfm_frequency, mr.rfm_monetary AS rfm_monetary, mr.rfm_segment AS rfm_segment",
            "CAST(NULL AS BIGINT) AS rfm_recency, CAST(NULL AS BIGINT) AS rfm_frequency, \
             CAST(NULL AS BIGINT) AS rfm_monetary, CAST(NULL AS TEXT) AS rfm_segment",
        )
    };
    base(&mut q, org, scope, needs, &columns, now);
    q.push(" ORDER BY c.id");
    q
}

/// The ids of `org`'s contacts that `rule` selects, in id order: one
/// statement, every value bound.
pub fn compile(backend: Backend, org: OrgId, rule: &Rule, now: DateTime<Utc>) -> Sql {
    let mut q = Sql::default();
    base(&mut q, org, Scope::All, Needs::of(rule), "c.id", now);
    q.push(" AND ");
    push_rule(&mut q, backend, rule, now);
    q.push(" ORDER BY c.id");
    q
}

/// Most rules [`compile_many`] evaluates in one statement (one bit each of
/// a `BIGINT`).
pub const RULES_PER_STATEMENT: usize = 62;

/// `(contact id, mask)` of every contact of `org` that at least one of
/// `rules` (at most [`RULES_PER_STATEMENT`]) selects, in id order, bit `i`
/// of the mask set when `rules[i]` does: the metric subqueries any of them
/// needs are computed once for all of them, which is what makes a refresh
/// of many segments cost about one metrics pass instead of one per
/// segment. The conditions are those of [`compile`], every value bound.
pub fn compile_many(backend: Backend, org: OrgId, rules: &[&Rule], now: DateTime<Utc>) -> Sql {
    debug_assert!(rules.len() <= RULES_PER_STATEMENT);
    let needs = rules
        .iter()
        .fold(Needs::default(), |n, r| n.or(Needs::of(r)));
    let mut q = Sql::new("SELECT id, m FROM (");
    base_with(&mut q, org, Scope::All, needs, now, |q| {
        q.push("c.id AS id, CAST(0");
        for (i, rule) in rules.iter().enumerate() {
            q.push(" + CASE WHEN ");
            push_rule(q, backend, rule, now);
            q.push(&format!(" THEN {} ELSE 0 END", 1i64 << i));
        }
        q.push(" AS BIGINT) AS m");
    });
    q.push(") s WHERE m <> 0 ORDER BY id");
    q
}

fn push_rule(q: &mut Sql, b: Backend, rule: &Rule, now: DateTime<Utc>) {
    match rule {
        Rule::Group { op, children } => {
            use neuracrm_domain::segments::GroupOp;
            let joiner = match op {
                GroupOp::And | GroupOp::Not => " AND ",
                GroupOp::Or => " OR ",
            };
            if *op == GroupOp::Not {
                q.push("NOT ");
            }
            q.push("(");
            for (i, c) in children.iter().enumerate() {
                if i > 0 {
                    q.push(joiner);
                }
                push_rule(q, b, c, now);
            }
            q.push(")");
        }
        Rule::Condition(c) => push_condition(q, b, c, now),
    }
}

/// The SQL expression of a field (contact and metric fields, in the query
/// of [`base`]; lead and deal fields, inside their `EXISTS`).
fn push_field(q: &mut Sql, b: Backend, f: &Field, now: DateTime<Utc>) {
    let money = |name: &str| {
        format!(
            "(CAST(COALESCE(md.{name}_hi, 0) AS {r}) * 100000000 + COALESCE(md.{name}_lo, 0))",
            r = real(b)
        )
    };
    let conversion = format!(
        "(CASE WHEN COALESCE(md.won_deals, 0) + COALESCE(md.lost_deals, 0) > 0 \
         THEN CAST(md.won_deals AS {r}) / (md.won_deals + md.lost_deals) END)",
        r = real(b)
    );
    let text = match (f.scope, f.name) {
        (FieldScope::Contact, name) => format!("c.{name}"),
        (FieldScope::Lead, name) => format!("l.{}", &name["lead.".len()..]),
        (FieldScope::Deal, name) => format!("d.{}", &name["deal.".len()..]),
        (_, "total_leads") => "COALESCE(ml.total_leads, 0)".into(),
        (_, "avg_lead_score") => "ml.avg_lead_score".into(),
        (_, n @ ("total_deals" | "won_deals" | "lost_deals" | "open_deals")) => {
            format!("COALESCE(md.{n}, 0)")
        }
        (_, "total_deal_value_cents") => money("value"),
        (_, "avg_deal_value_cents") => format!(
            "(CASE WHEN COALESCE(md.total_deals, 0) > 0 THEN {} / md.total_deals END)",
            money("value")
        ),
        (_, "won_value_cents") => money("won"),
        (_, "open_value_cents") => money("open"),
        (_, n @ ("first_won_at" | "last_won_at")) => format!("md.{n}"),
        (_, n @ ("total_activities" | "activities_30d" | "activities_90d")) => {
            format!("COALESCE(ma.{n}, 0)")
        }
        (_, "last_activity_at") => "ma.last_activity_at".into(),
        (_, "latest_sentiment") => "ms.latest_sentiment".into(),
        (FieldScope::Rfm, name) => format!("mr.{name}"),
        (_, "conversion_rate") => conversion,
        (_, "customer_value_score") => format!(
            "({} + {} * COALESCE({conversion}, 0))",
            money("won"),
            money("open")
        ),
        (_, "activity_score") => {
            // Activities per month of relationship (at least one month).
            q.push(&format!(
                "(CAST(COALESCE(ma.total_activities, 0) AS {r}) / (CASE WHEN ",
                r = real(b)
            ));
            push_months_since_created(q, b, now);
            q.push(" > 1 THEN ");
            push_months_since_created(q, b, now);
            q.push(" ELSE 1 END))");
            return;
        }
        (_, other) => unreachable!("field {other} has no SQL"),
    };
    q.push(&text);
}

/// Months (of [`DAYS_PER_MONTH`] days) from the contact's creation to `now`.
fn push_months_since_created(q: &mut Sql, b: Backend, now: DateTime<Utc>) {
    match b {
        Backend::Sqlite => {
            q.push("((julianday(")
                .bind(now)
                .push(") - julianday(c.created_at)) / ");
        }
        Backend::Postgres => {
            q.push("(CAST(EXTRACT(EPOCH FROM (CAST(")
                .bind(now)
                .push(" AS TIMESTAMPTZ) - c.created_at)) / 86400 AS DOUBLE PRECISION) / ");
        }
    }
    q.push(&format!("{DAYS_PER_MONTH})"));
}

fn bind_scalar(q: &mut Sql, s: &Scalar) {
    match s {
        Scalar::Text(t) => q.bind(t.as_str()),
        Scalar::Int(i) => q.bind(*i),
        Scalar::Real(r) => q.bind(*r),
        Scalar::Time(t) => q.bind(*t),
    };
}

/// Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`.
fn like_escaped(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn push_condition(q: &mut Sql, b: Backend, c: &Condition, now: DateTime<Utc>) {
    let exists = match c.field.scope {
        FieldScope::Lead => Some("leads l"),
        FieldScope::Deal => Some("deals d"),
        _ => None,
    };
    if let Some(table) = exists {
        let alias = &table[table.len() - 1..];
        q.push(&format!(
            "EXISTS (SELECT 1 FROM {table} WHERE {alias}.organization_id = c.organization_id \
             AND {alias}.contact_id = c.id AND "
        ));
    }
    push_predicate(q, b, c, now);
    if exists.is_some() {
        q.push(")");
    }
}

fn push_predicate(q: &mut Sql, b: Backend, c: &Condition, now: DateTime<Utc>) {
    use Operand::*;
    let textual = matches!(c.field.ty, FieldType::Text | FieldType::Word(_));
    // The field's expression, lower-cased for text (comparisons ignore case).
    let field = |q: &mut Sql| {
        if textual {
            q.push("LOWER(");
        }
        push_field(q, b, c.field, now);
        if textual {
            q.push(")");
        }
    };
    let negated = matches!(c.operand, IsNot | NotContains | NotInLastDays | IsNotEmpty);
    if negated {
        q.push("NOT ");
    }
    if matches!(c.operand, IsEmpty | IsNotEmpty) {
        q.push("(");
        push_field(q, b, c.field, now);
        q.push(" IS NULL");
        if c.field.ty == FieldType::Text {
            q.push(" OR ");
            push_field(q, b, c.field, now);
            q.push(" = ''");
        }
        q.push(")");
        return;
    }
    q.push("COALESCE(");
    match (&c.operand, &c.value) {
        (Is | IsNot, Operands::One(v)) => {
            field(q);
            q.push(" = ");
            bind_scalar(q, v);
        }
        (In, Operands::Many(vs)) => {
            field(q);
            q.push(" IN (");
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    q.push(", ");
                }
                bind_scalar(q, v);
            }
            q.push(")");
        }
        (Contains | NotContains | StartsWith, Operands::One(Scalar::Text(t))) => {
            let pattern = match c.operand {
                StartsWith => format!("{}%", like_escaped(t)),
                _ => format!("%{}%", like_escaped(t)),
            };
            field(q);
            q.push(" LIKE ").bind(pattern).push(" ESCAPE '\\'");
        }
        (Gt | Gte | Lt | Lte | Before | After, Operands::One(v)) => {
            let op = match c.operand {
                Gt | After => " > ",
                Gte => " >= ",
                Lt | Before => " < ",
                _ => " <= ",
            };
            field(q);
            q.push(op);
            bind_scalar(q, v);
        }
        (Between, Operands::Range(lo, hi)) => {
            field(q);
            q.push(" >= ");
            bind_scalar(q, lo);
            q.push(" AND ");
            field(q);
            q.push(" <= ");
            bind_scalar(q, hi);
        }
        (InLastDays | NotInLastDays, Operands::Days(d)) => {
            field(q);
            q.push(" >= ").bind(now - Duration::days(*d));
        }
        // `Rule::parse` pairs every operand with its value's shape.
        (op, v) => unreachable!("operand {op:?} with value {v:?}"),
    }
    q.push(", FALSE)");
}
