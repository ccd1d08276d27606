//! The SQL of segments: per-contact metrics without fan-out, stored and
//! kept up to date, and rules compiled to one parameterised statement.
//!
//! `compute` computes the stored metrics (`contact_metrics`) of some or
//! all contacts: each aggregate comes from its own grouped subquery joined
//! to `contacts` by contact id: deals (`md`), activities (`ma`) and the
//! sentiment of the latest analysed activity (`ms`). Nothing joins two
//! one-to-many tables before grouping, so no sum is multiplied by another
//! table's row count (the specification's single `LEFT JOIN` chain did
//! exactly that). A contact's activities are those naming it, its leads or
//! its deals, each pair (contact, activity) once: three `UNION ALL`
//! branches (`BRANCHES` and its orders), each excluding what an earlier branch already
//! gave, each grouped on its own (the first, by far the largest, straight
//! off the covering index `activities_org_contact_time` of migration 0016,
//! in contact order and with no sort) before the at most three rows of a
//! contact are added up. `rank_rfm` ranks the customers' RFM scores from
//! them (`contact_rfm`) and counts the grid's cells (`contact_rfm_cells`).
//!
//! Reads join the stored rows (`m`, `mr`) and the contact's leads grouped
//! live (`ml`, off an index: a lead's score changes often and counts for
//! nothing else). A rule compiles to `SELECT c.id FROM contacts c [what it
//! needs] WHERE c.organization_id = $1 AND <conditions>`, every value
//! bound. Lead and deal fields are "any of the contact's leads (deals)"
//! (`Flags`): on PostgreSQL one grouped pass over the leads and one over
//! the deals that meet any of the statement's lead (deal) conditions, with
//! a 0/1 column per condition, joined to the contacts by id like the
//! metrics; on SQLite `c.id IN` the contacts of the leads (deals) that
//! meet the condition, a set computed once per statement. Every condition
//! is made two-valued (`COALESCE(..., FALSE)`), so `not` and `is_not`
//! include contacts whose field is empty instead of dropping them with
//! SQL's unknown.

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

/// What a read of the metrics joins to `contacts`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Needs {
    /// The contact's leads, grouped live off their index (`ml`): scoring
    /// a lead changes its score and nothing stored.
    leads: bool,
    /// The stored deals, activities and sentiment metrics (`m`).
    stored: bool,
    /// The stored RFM scores (`mr`).
    rfm: bool,
}

impl Needs {
    pub(crate) const ALL: Needs = Needs {
        leads: true,
        stored: true,
        rfm: true,
    };

    fn or(self, o: Needs) -> Needs {
        Needs {
            leads: self.leads || o.leads,
            stored: self.stored || o.stored,
            rfm: self.rfm || o.rfm,
        }
    }

    pub(crate) fn of(rule: &Rule) -> Needs {
        let mut n = Needs::default();
        for f in rule.fields() {
            match f.scope {
                FieldScope::LeadMetric => n.leads = true,
                FieldScope::DealMetric
                | FieldScope::ActivityMetric
                | FieldScope::SentimentMetric
                | FieldScope::Derived => n.stored = true,
                FieldScope::Rfm => n.rfm = true,
                _ => {}
            }
        }
        n
    }

    /// Whether the read needs the RFM scores brought up to date.
    pub(crate) fn rfm(self) -> bool {
        self.rfm
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
            super::push_member_of(q, org, s, column);
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

/// One of the three ways an activity is a contact's: the contact's column,
/// the tables (`activities a` among them) and the conditions that make each
/// (contact, activity) pair come from one branch only.
type Branch = (&'static str, &'static str, &'static str);

/// The three ways an activity is a contact's, each (contact, activity)
/// pair once: the contact it names; its lead's contact when that is
/// another; its deal's contact when that is neither. Activities first:
/// for a range of activities ([`crossed`]).
const BRANCHES: [Branch; 3] = [
    ("a.contact_id", "activities a", "a.contact_id IS NOT NULL"),
    (
        "l.contact_id",
        "activities a JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "l.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> l.contact_id)",
    ),
    (
        "d.contact_id",
        "activities a JOIN deals d ON d.organization_id = a.organization_id AND d.id = a.deal_id \
         LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "d.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> d.contact_id) \
         AND (l.contact_id IS NULL OR l.contact_id <> d.contact_id)",
    ),
];

/// [`BRANCHES`] for some contacts: the contacts' leads (deals) first, then
/// their activities (`CROSS JOIN` fixes the order on SQLite; PostgreSQL
/// plans it as any inner join), so the work is that of those contacts.
/// Left to itself, SQLite read every deal-linked activity of the
/// organization for the third branch.
const BRANCHES_OF_SOME: [Branch; 3] = [
    BRANCHES[0],
    (
        "l.contact_id",
        "leads l CROSS JOIN activities a",
        "a.organization_id = l.organization_id AND a.lead_id = l.id AND l.contact_id IS NOT NULL \
         AND (a.contact_id IS NULL OR a.contact_id <> l.contact_id)",
    ),
    (
        "d.contact_id",
        "deals d CROSS JOIN activities a \
         LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "a.organization_id = d.organization_id AND a.deal_id = d.id AND d.contact_id IS NOT NULL \
         AND (a.contact_id IS NULL OR a.contact_id <> d.contact_id) \
         AND (l.contact_id IS NULL OR l.contact_id <> d.contact_id)",
    ),
];

/// [`BRANCHES`] for every contact: the second and third read the
/// activities' index in lead (deal) order and look each activity's lead
/// (deal) up by key, in that order too. Driven from the leads, as SQLite
/// otherwise plans it, every lead is a random seek into the activities'
/// index: on 1,000,000 contacts and 10,000,000 activities the second
/// branch took 11.0 s that way and 6.7 s this way (`sqlite3`, the branch
/// alone).
const BRANCHES_OF_ALL: [Branch; 3] = [
    BRANCHES[0],
    (
        "l.contact_id",
        "activities a CROSS JOIN leads l",
        "a.lead_id IS NOT NULL AND l.organization_id = a.organization_id AND l.id = a.lead_id \
         AND l.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> l.contact_id)",
    ),
    (
        "d.contact_id",
        "activities a CROSS JOIN deals d \
         LEFT JOIN leads l ON l.organization_id = a.organization_id AND l.id = a.lead_id",
        "a.deal_id IS NOT NULL AND d.organization_id = a.organization_id AND d.id = a.deal_id \
         AND d.contact_id IS NOT NULL AND (a.contact_id IS NULL OR a.contact_id <> d.contact_id) \
         AND (l.contact_id IS NULL OR l.contact_id <> d.contact_id)",
    ),
];

/// Pushes `SELECT <columns> FROM contacts c LEFT JOIN ... WHERE
/// c.organization_id = $n [AND c.id IN scope]`: a read of the stored
/// metrics (which [`super::Segments::sync`] brings up to date first).
pub(crate) fn base(q: &mut Sql, org: OrgId, scope: Scope, needs: Needs, columns: &str) {
    base_with(q, &Flags::none(org), scope, needs, |q| {
        q.push(columns);
    });
}

/// [`base`] for the organization of `flags`, with columns that bind values
/// of their own, and the grouped passes over the leads and deals that
/// `flags` asks for.
fn base_with(
    q: &mut Sql,
    flags: &Flags,
    scope: Scope,
    needs: Needs,
    columns: impl FnOnce(&mut Sql),
) {
    let org = flags.org;
    q.push("SELECT ");
    columns(q);
    q.push(" FROM contacts c");
    flags.push_passes(q, scope);
    if needs.leads {
        push_grouped(q, org, scope, "leads", "ml", |q| {
            q.push("COUNT(*) AS total_leads, AVG(score) AS avg_lead_score");
        });
    }
    if needs.stored {
        q.push(
            " LEFT JOIN contact_metrics m ON m.organization_id = c.organization_id \
             AND m.contact_id = c.id",
        );
    }
    if needs.rfm {
        q.push(
            " LEFT JOIN contact_rfm mr ON mr.organization_id = c.organization_id \
             AND mr.contact_id = c.id",
        );
    }
    q.push(" WHERE c.organization_id = ").bind(org);
    push_scope(q, org, scope, "c.id");
}

/// The columns of `contact_metrics` after the organization and contact, in
/// the order [`compute`] selects them.
const STORED_COLUMNS: &str = "total_deals, won_deals, lost_deals, open_deals, value_hi, value_lo, \
     won_hi, won_lo, open_hi, open_lo, first_won_at, last_won_at, total_activities, \
     last_activity_at, activities_30d, activities_90d, latest_sentiment";

/// `INSERT INTO contact_metrics ... SELECT`: the stored metrics of the
/// contacts in `scope` (`All` or `Contacts`) computed from the deals,
/// activities and sentiment as of `now`, each aggregate in its own grouped
/// subquery (`md`, `ma`, `ms`: nothing joins two one-to-many tables before
/// grouping).
pub(crate) fn compute(org: OrgId, scope: Scope, now: DateTime<Utc>) -> Sql {
    let mut q = Sql::new("INSERT INTO contact_metrics (organization_id, contact_id, ");
    q.push(STORED_COLUMNS).push(
        ") SELECT c.organization_id, c.id, \
         COALESCE(md.total_deals, 0), COALESCE(md.won_deals, 0), COALESCE(md.lost_deals, 0), \
         COALESCE(md.open_deals, 0), COALESCE(md.value_hi, 0), COALESCE(md.value_lo, 0), \
         COALESCE(md.won_hi, 0), COALESCE(md.won_lo, 0), COALESCE(md.open_hi, 0), \
         COALESCE(md.open_lo, 0), md.first_won_at, md.last_won_at, \
         COALESCE(ma.total_activities, 0), ma.last_activity_at, COALESCE(ma.activities_30d, 0), \
         COALESCE(ma.activities_90d, 0), ms.latest_sentiment FROM contacts c",
    );
    push_grouped(&mut q, org, scope, "deals", "md", |q| {
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
    // Grouped per branch first (the first by a covering index, in contact
    // order, with no sort), then the at most three rows of a contact added
    // up.
    q.push(
        " LEFT JOIN (SELECT contact_id, CAST(SUM(n) AS BIGINT) AS total_activities, \
         MAX(last_at) AS last_activity_at, CAST(SUM(n30) AS BIGINT) AS activities_30d, \
         CAST(SUM(n90) AS BIGINT) AS activities_90d FROM (",
    );
    let branches = match scope {
        Scope::All => &BRANCHES_OF_ALL,
        _ => &BRANCHES_OF_SOME,
    };
    for (i, (contact, from, conditions)) in branches.iter().enumerate() {
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
            " THEN 1 ELSE 0 END) AS n90 FROM {from} WHERE a.organization_id = "
        ))
        .bind(org)
        .push(&format!(" AND {conditions}"));
        push_scope(&mut q, org, scope, contact);
        q.push(&format!(" GROUP BY {contact}"));
    }
    q.push(") x GROUP BY contact_id) ma ON ma.contact_id = c.id");
    // Only analysed activities, read from `activity_sentiment` first
    // (`CROSS JOIN` fixes that order on SQLite; PostgreSQL plans it as any
    // inner join), so an organization with few analysed activities does not
    // probe it once per activity. The outer `GROUP BY` changes no row: it
    // gets SQLite to index the ranked rows (an automatic index, which it
    // builds for a grouped subquery and not for one of window functions)
    // instead of scanning them for every contact.
    q.push(
        " LEFT JOIN (SELECT contact_id, MAX(compound) AS latest_sentiment FROM \
         (SELECT contact_id, compound, ROW_NUMBER() OVER \
         (PARTITION BY contact_id ORDER BY occurred_at DESC, id DESC) AS rn FROM (",
    );
    for (i, branch) in BRANCHES.iter().zip(BRANCHES_OF_SOME).enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        let columns = "a.id AS id, a.occurred_at AS occurred_at, s.compound AS compound";
        match (scope, branch) {
            // Every contact: the analysed activities first.
            (Scope::All, ((contact, from, conditions), _)) => {
                q.push(&format!(
                    "SELECT {contact} AS contact_id, {columns} FROM activity_sentiment s \
                     CROSS JOIN {from} WHERE s.organization_id = "
                ))
                .bind(org)
                .push(&format!(
                    " AND a.organization_id = s.organization_id AND a.id = s.activity_id \
                     AND {conditions}"
                ));
            }
            // Some contacts: their activities first, then each one's result
            // (`CROSS JOIN` again: with a plain join SQLite read every
            // analysed activity of the organization and looked its activity
            // up, 1.9 million at 200,000 contacts: 0.97 s to recompute two
            // contacts, 2 ms this way).
            (_, (_, (contact, from, conditions))) => {
                q.push(&format!(
                    "SELECT {contact} AS contact_id, {columns} FROM {from} \
                     CROSS JOIN activity_sentiment s WHERE s.organization_id = a.organization_id \
                     AND s.activity_id = a.id AND a.organization_id = "
                ))
                .bind(org)
                .push(&format!(" AND {conditions}"));
                push_scope(&mut q, org, scope, contact);
            }
        }
    }
    q.push(") k) r WHERE rn = 1 GROUP BY contact_id) ms ON ms.contact_id = c.id");
    q.push(" WHERE c.organization_id = ").bind(org);
    push_scope(&mut q, org, scope, "c.id");
    q
}

/// The contacts whose 30- or 90-day counts differ between `from` and `to`:
/// those of the activities (naming them, their leads or their deals) that
/// lie between the two times' window edges. One statement per window.
pub(crate) fn crossed(org: OrgId, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Sql> {
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    [30, 90]
        .into_iter()
        .map(|days| {
            let mut q = Sql::default();
            for (i, (contact, from, conditions)) in BRANCHES.iter().enumerate() {
                if i > 0 {
                    q.push(" UNION ");
                }
                q.push(&format!(
                    "SELECT {contact} FROM {from} WHERE a.organization_id = "
                ))
                .bind(org)
                .push(" AND a.occurred_at >= ")
                .bind(lo - Duration::days(days))
                .push(" AND a.occurred_at < ")
                .bind(hi - Duration::days(days))
                .push(&format!(" AND {conditions}"));
            }
            q
        })
        .collect()
}

/// Whether any activity of `org` lies between the window edges of `from`
/// and `to` (what [`crossed`] would look for): one index probe per window.
pub(crate) fn any_crossed(org: OrgId, from: DateTime<Utc>, to: DateTime<Utc>) -> Sql {
    let (lo, hi) = if from <= to { (from, to) } else { (to, from) };
    let mut q = Sql::new("SELECT CAST(CASE WHEN ");
    for (i, days) in [30, 90].into_iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("EXISTS (SELECT 1 FROM activities WHERE organization_id = ")
            .bind(org)
            .push(" AND occurred_at >= ")
            .bind(lo - Duration::days(days))
            .push(" AND occurred_at < ")
            .bind(hi - Duration::days(days))
            .push(")");
    }
    q.push(" THEN 1 ELSE 0 END AS BIGINT)");
    q
}

/// The statements that rank the organization's customers (contacts with a
/// won deal, from the stored metrics) into RFM quintiles and store them in
/// `contact_rfm`: `NTILE(5)` among all of them of the last won time
/// (recency: the most recent score 5), the won deals and the won value
/// (its two halves normalised, so the order is the value's), ties broken
/// by contact id; and the segment named from R and F by one `CASE` that
/// mirrors [`neuracrm_domain::segments::rfm_segment`].
/// The grid's counts (`contact_rfm_cells`, migration 0026) are counted
/// again in the same transaction, so the RFM page reads at most 25 rows.
pub(crate) fn rank_rfm(org: OrgId) -> [Sql; 4] {
    // Those no longer customers leave; the others' scores are written only
    // where they changed (one customer's new deal moves few others across a
    // quintile's edge).
    let gone = Sql::new(
        "DELETE FROM contact_rfm WHERE organization_id = $1 AND contact_id NOT IN \
         (SELECT contact_id FROM contact_metrics WHERE organization_id = $1 AND won_deals > 0)",
    )
    .arg(org);
    let mut q = Sql::new(
        "INSERT INTO contact_rfm (organization_id, contact_id, rfm_recency, rfm_frequency, \
         rfm_monetary, rfm_segment) SELECT organization_id, contact_id, r, f, m, \
         CASE WHEN r = 5 AND f >= 4 THEN 'champions' \
         WHEN r >= 3 AND f >= 4 THEN 'loyal_customers' \
         WHEN r >= 4 AND f >= 2 THEN 'potential_loyalists' \
         WHEN r = 5 THEN 'new_customers' WHEN r = 4 THEN 'promising' \
         WHEN r = 3 AND f = 3 THEN 'need_attention' WHEN r = 3 THEN 'about_to_sleep' \
         WHEN f >= 5 THEN 'cant_lose' WHEN f >= 3 THEN 'at_risk' ELSE 'hibernating' END \
         FROM (SELECT organization_id, contact_id, \
         CAST(NTILE(5) OVER (ORDER BY last_won_at ASC NULLS FIRST, contact_id) AS BIGINT) AS r, \
         CAST(NTILE(5) OVER (ORDER BY won_deals, contact_id) AS BIGINT) AS f, \
         CAST(NTILE(5) OVER (ORDER BY won_hi + won_lo / 100000000, won_lo % 100000000, \
         contact_id) AS BIGINT) AS m \
         FROM contact_metrics WHERE organization_id = ",
    );
    // `WHERE true`: SQLite would read the `ON` of `ON CONFLICT` as a join's.
    q.bind(org).push(
        " AND won_deals > 0) s WHERE true ON CONFLICT (organization_id, contact_id) DO UPDATE \
         SET rfm_recency = excluded.rfm_recency, rfm_frequency = excluded.rfm_frequency, \
         rfm_monetary = excluded.rfm_monetary, rfm_segment = excluded.rfm_segment \
         WHERE contact_rfm.rfm_recency <> excluded.rfm_recency \
         OR contact_rfm.rfm_frequency <> excluded.rfm_frequency \
         OR contact_rfm.rfm_monetary <> excluded.rfm_monetary",
    );
    let cells_gone = Sql::new("DELETE FROM contact_rfm_cells WHERE organization_id = $1").arg(org);
    let cells = Sql::new(
        "INSERT INTO contact_rfm_cells (organization_id, rfm_recency, rfm_frequency, customers) \
         SELECT organization_id, rfm_recency, rfm_frequency, COUNT(*) FROM contact_rfm \
         WHERE organization_id = $1 GROUP BY organization_id, rfm_recency, rfm_frequency",
    )
    .arg(org);
    [gone, q, cells_gone, cells]
}

/// `(r, f, customers)` of every (recency, frequency) cell of the
/// organization's RFM grid that holds a customer, as counted when they
/// were ranked ([`rank_rfm`]).
pub(crate) fn rfm_grid(org: OrgId) -> Sql {
    Sql::new(
        "SELECT rfm_recency, rfm_frequency, customers FROM contact_rfm_cells \
         WHERE organization_id = $1 ORDER BY rfm_recency, rfm_frequency",
    )
    .arg(org)
}

/// The columns of a metrics read ([`super::MetricsRow`]).
pub(crate) const METRIC_COLUMNS: &str = "c.id AS contact_id, c.created_at AS created_at, \
     COALESCE(ml.total_leads, 0) AS total_leads, ml.avg_lead_score AS avg_lead_score, \
     COALESCE(m.total_deals, 0) AS total_deals, COALESCE(m.won_deals, 0) AS won_deals, \
     COALESCE(m.lost_deals, 0) AS lost_deals, COALESCE(m.open_deals, 0) AS open_deals, \
     COALESCE(m.value_hi, 0) AS value_hi, COALESCE(m.value_lo, 0) AS value_lo, \
     COALESCE(m.won_hi, 0) AS won_hi, COALESCE(m.won_lo, 0) AS won_lo, \
     COALESCE(m.open_hi, 0) AS open_hi, COALESCE(m.open_lo, 0) AS open_lo, \
     m.first_won_at AS first_won_at, m.last_won_at AS last_won_at, \
     COALESCE(m.total_activities, 0) AS total_activities, m.last_activity_at AS last_activity_at, \
     COALESCE(m.activities_30d, 0) AS activities_30d, COALESCE(m.activities_90d, 0) AS activities_90d, \
     m.latest_sentiment AS latest_sentiment";

/// The RFM columns of a metrics read: stored, or none.
const RFM_COLUMNS: [&str; 2] = [
    ", mr.rfm_recency AS rfm_recency, mr.rfm_frequency AS rfm_frequency, \
     mr.rfm_monetary AS rfm_monetary, mr.rfm_segment AS rfm_segment",
    ", CAST(NULL AS BIGINT) AS rfm_recency, CAST(NULL AS BIGINT) AS rfm_frequency, \
     CAST(NULL AS BIGINT) AS rfm_monetary, CAST(NULL AS TEXT) AS rfm_segment",
];

/// The stored metrics of every contact in `scope`, in contact id order
/// (without the RFM scores when `rfm` is false).
pub(crate) fn metrics(org: OrgId, scope: Scope, rfm: bool) -> Sql {
    let mut q = Sql::default();
    let needs = Needs { rfm, ..Needs::ALL };
    let columns = format!("{METRIC_COLUMNS}{}", RFM_COLUMNS[usize::from(!rfm)]);
    base(&mut q, org, scope, needs, &columns);
    q.push(" ORDER BY c.id");
    q
}

/// The ids of `org`'s contacts that `rule` selects, in id order: one
/// statement, every value bound.
pub fn compile(backend: Backend, org: OrgId, rule: &Rule, now: DateTime<Utc>) -> Sql {
    let mut q = Sql::default();
    let flags = Flags::of([rule], backend, org, now);
    base_with(&mut q, &flags, Scope::All, Needs::of(rule), |q| {
        q.push("c.id AS id");
    });
    q.push(" AND ");
    push_rule(&mut q, &flags, rule);
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
    let flags = Flags::of(rules.iter().copied(), backend, org, now);
    let mut q = Sql::new("SELECT id, mask FROM (");
    base_with(&mut q, &flags, Scope::All, needs, |q| {
        q.push("c.id AS id, CAST(0");
        for (i, rule) in rules.iter().enumerate() {
            q.push(" + CASE WHEN ");
            push_rule(q, &flags, rule);
            q.push(&format!(" THEN {} ELSE 0 END", 1i64 << i));
        }
        q.push(" AS BIGINT) AS mask");
    });
    q.push(") s WHERE mask <> 0 ORDER BY id");
    q
}

fn push_rule(q: &mut Sql, flags: &Flags, rule: &Rule) {
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
                push_rule(q, flags, c);
            }
            q.push(")");
        }
        Rule::Condition(c) => match (flags.column(c), c.field.scope) {
            // "Any of the contact's leads (deals)", PostgreSQL: its flag of
            // the pass.
            (Some(column), _) => {
                q.push(&format!("COALESCE({column}, 0) = 1"));
            }
            // SQLite: the contacts of the leads (deals) that meet it, a set
            // the statement computes once (`IN` an uncorrelated subquery
            // gets an index of its own).
            (None, scope @ (FieldScope::Lead | FieldScope::Deal)) => {
                let (table, t) = match scope {
                    FieldScope::Lead => ("leads", "l"),
                    _ => ("deals", "d"),
                };
                q.push(&format!(
                    "c.id IN (SELECT {t}.contact_id FROM {table} {t} WHERE {t}.organization_id = "
                ))
                .bind(flags.org)
                .push(&format!(" AND {t}.contact_id IS NOT NULL AND "));
                push_predicate(q, flags.backend, c, flags.now);
                q.push(")");
            }
            (None, _) => push_predicate(q, flags.backend, c, flags.now),
        },
    }
}

/// How one statement evaluates the lead and deal conditions of its rules
/// ("any of the contact's leads (deals)"), with what the conditions bind.
///
/// PostgreSQL: each condition once (equal conditions of several rules
/// share one), computed by one grouped pass over the organization's leads
/// (`lf`) and one over its deals (`df`), joined to the contacts by id like
/// the metrics, with a 0/1 column per condition that says whether any of
/// the contact's leads (deals) meets it; each pass reads only the rows
/// that meet at least one of its conditions. They were `EXISTS` per
/// contact (PostgreSQL hashes an `IN` set only when it fits in
/// `work_mem`, and otherwise scans it again for every contact), which
/// inside a refresh's one statement of twenty rules (`CASE WHEN` per rule)
/// ran as ten subplans per contact: at 1M contacts the statement took
/// 42.8 s, the same rules one statement each 26.9 s; with the passes,
/// 15.8 s.
///
/// SQLite: no pass; each condition is `c.id IN` the contacts of the leads
/// (deals) that meet it, which SQLite computes once per statement. The
/// passes measured slower there (the twenty rules in one statement 13.5 s
/// against 9.6 s, one statement each 15.6 s against 7.3 s).
pub(crate) struct Flags {
    backend: Backend,
    org: OrgId,
    now: DateTime<Utc>,
    leads: Vec<Condition>,
    deals: Vec<Condition>,
}

impl Flags {
    /// A statement of `org` without lead or deal conditions (a metrics
    /// read): no pass, and no condition to compile, so the backend and the
    /// time are never read.
    fn none(org: OrgId) -> Flags {
        Flags {
            backend: Backend::Sqlite,
            org,
            now: DateTime::<Utc>::UNIX_EPOCH,
            leads: Vec::new(),
            deals: Vec::new(),
        }
    }

    fn of<'r>(
        rules: impl IntoIterator<Item = &'r Rule>,
        backend: Backend,
        org: OrgId,
        now: DateTime<Utc>,
    ) -> Flags {
        let mut f = Flags {
            backend,
            now,
            ..Flags::none(org)
        };
        if backend == Backend::Sqlite {
            return f;
        }
        for rule in rules {
            rule.walk(&mut |c| {
                let list = match c.field.scope {
                    FieldScope::Lead => &mut f.leads,
                    FieldScope::Deal => &mut f.deals,
                    _ => return,
                };
                if !list.contains(c) {
                    list.push(c.clone());
                }
            });
        }
        f
    }

    /// The column of a lead or deal condition (`None` for the others).
    fn column(&self, c: &Condition) -> Option<String> {
        let (list, alias) = match c.field.scope {
            FieldScope::Lead => (&self.leads, "lf"),
            FieldScope::Deal => (&self.deals, "df"),
            _ => return None,
        };
        let i = list.iter().position(|x| x == c)?;
        Some(format!("{alias}.f{i}"))
    }

    /// ` LEFT JOIN (SELECT contact_id, MAX(CASE WHEN <condition> THEN 1
    /// ELSE 0 END) AS f0, ... FROM leads l WHERE ... AND (<any condition>)
    /// GROUP BY contact_id) lf ON lf.contact_id = c.id`, and the same over
    /// the deals.
    fn push_passes(&self, q: &mut Sql, scope: Scope) {
        let org = self.org;
        for (conditions, table, alias) in
            [(&self.leads, "leads", "lf"), (&self.deals, "deals", "df")]
        {
            if conditions.is_empty() {
                continue;
            }
            // `l` or `d`: what the fields of `push_field` name.
            let t = &table[..1];
            q.push(&format!(" LEFT JOIN (SELECT {t}.contact_id AS contact_id"));
            for (i, c) in conditions.iter().enumerate() {
                q.push(", MAX(CASE WHEN ");
                push_predicate(q, self.backend, c, self.now);
                q.push(&format!(" THEN 1 ELSE 0 END) AS f{i}"));
            }
            q.push(&format!(" FROM {table} {t} WHERE {t}.organization_id = "))
                .bind(org)
                .push(&format!(" AND {t}.contact_id IS NOT NULL"));
            push_scope(q, org, scope, &format!("{t}.contact_id"));
            q.push(" AND (");
            for (i, c) in conditions.iter().enumerate() {
                if i > 0 {
                    q.push(" OR ");
                }
                push_predicate(q, self.backend, c, self.now);
            }
            q.push(&format!(
                ") GROUP BY {t}.contact_id) {alias} ON {alias}.contact_id = c.id"
            ));
        }
    }
}

/// The SQL expression of a field (contact and metric fields, in the query
/// of [`base`]; lead and deal fields, inside their pass of [`Flags`]).
fn push_field(q: &mut Sql, b: Backend, f: &Field, now: DateTime<Utc>) {
    let money = |name: &str| {
        format!(
            "(CAST(COALESCE(m.{name}_hi, 0) AS {r}) * 100000000 + COALESCE(m.{name}_lo, 0))",
            r = real(b)
        )
    };
    let conversion = format!(
        "(CASE WHEN COALESCE(m.won_deals, 0) + COALESCE(m.lost_deals, 0) > 0 \
         THEN CAST(m.won_deals AS {r}) / (m.won_deals + m.lost_deals) END)",
        r = real(b)
    );
    let text = match (f.scope, f.name) {
        (FieldScope::Contact, name) => format!("c.{name}"),
        (FieldScope::Lead, name) => format!("l.{}", &name["lead.".len()..]),
        (FieldScope::Deal, name) => format!("d.{}", &name["deal.".len()..]),
        (_, "total_leads") => "COALESCE(ml.total_leads, 0)".into(),
        (_, "avg_lead_score") => "ml.avg_lead_score".into(),
        (_, n @ ("total_deals" | "won_deals" | "lost_deals" | "open_deals")) => {
            format!("COALESCE(m.{n}, 0)")
        }
        (_, "total_deal_value_cents") => money("value"),
        (_, "avg_deal_value_cents") => format!(
            "(CASE WHEN COALESCE(m.total_deals, 0) > 0 THEN {} / m.total_deals END)",
            money("value")
        ),
        (_, "won_value_cents") => money("won"),
        (_, "open_value_cents") => money("open"),
        (_, n @ ("first_won_at" | "last_won_at")) => format!("m.{n}"),
        (_, n @ ("total_activities" | "activities_30d" | "activities_90d")) => {
            format!("COALESCE(m.{n}, 0)")
        }
        (_, "last_activity_at") => "m.last_activity_at".into(),
        (_, "latest_sentiment") => "m.latest_sentiment".into(),
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
                "(CAST(COALESCE(m.total_activities, 0) AS {r}) / (CASE WHEN ",
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
