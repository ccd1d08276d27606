//! The tenant-owned tables, with the helpers every repository shares:
//! org-scoped lookups, reference checks and deletes.

use neuracrm_domain::OrgId;

use crate::db::{Db, Row, Sql, Tx};
use crate::sqlite_read::FromSqlite;
use crate::{Result, StoreError};

/// A tenant-owned table that other rows may reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Table {
    Users,
    Contacts,
    Leads,
    Deals,
    Activities,
    ForecastingModels,
    EmailTemplates,
    Campaigns,
    Calls,
    Segments,
}

impl Table {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Table::Users => "users",
            Table::Contacts => "contacts",
            Table::Leads => "leads",
            Table::Deals => "deals",
            Table::Activities => "activities",
            Table::ForecastingModels => "forecasting_models",
            Table::EmailTemplates => "email_templates",
            Table::Campaigns => "campaigns",
            Table::Calls => "calls",
            Table::Segments => "segments",
        }
    }

    /// The record's name in messages.
    pub(crate) fn entity(self) -> &'static str {
        match self {
            Table::Users => "user",
            Table::Contacts => "contact",
            Table::Leads => "lead",
            Table::Deals => "deal",
            Table::Activities => "activity",
            Table::ForecastingModels => "forecasting_model",
            Table::EmailTemplates => "email_template",
            Table::Campaigns => "campaign",
            Table::Calls => "call",
            Table::Segments => "segment",
        }
    }

    fn select(self, columns: &str, org: OrgId, id: i64) -> Sql {
        let mut q = Sql::new("SELECT ");
        q.push(columns)
            .push(" FROM ")
            .push(self.name())
            .push(" WHERE organization_id = ")
            .bind(org)
            .push(" AND id = ")
            .bind(id);
        q
    }

    /// One row of the organization, or `NotFound`.
    pub(crate) async fn get<R: Row>(
        self,
        db: &Db,
        columns: &str,
        org: OrgId,
        id: i64,
    ) -> Result<R> {
        db.fetch_optional(self.select(columns, org, id))
            .await?
            .ok_or(self.not_found())
    }

    /// [`Table::get`] for the hot reads ([`Db::fetch_point`]).
    pub(crate) async fn get_fast<R: Row + FromSqlite>(
        self,
        db: &Db,
        columns: &str,
        org: OrgId,
        id: i64,
    ) -> Result<R> {
        db.fetch_point(self.select(columns, org, id))
            .await?
            .into_iter()
            .next()
            .ok_or(self.not_found())
    }

    /// The 404 of this table's rows.
    pub(crate) fn not_found(self) -> StoreError {
        StoreError::NotFound {
            entity: self.entity(),
        }
    }

    /// Like [`Table::get`], inside a transaction (and, on PostgreSQL, locking
    /// the row until the transaction ends).
    pub(crate) async fn get_for_update<R: Row>(
        self,
        tx: &mut Tx,
        columns: &str,
        org: OrgId,
        id: i64,
    ) -> Result<R> {
        let mut q = self.select(columns, org, id);
        if tx.backend() == crate::Backend::Postgres {
            q.push(" FOR UPDATE");
        }
        tx.fetch_optional(q).await?.ok_or(self.not_found())
    }

    /// Checks that `id`, when given, names a row of this organization; the
    /// error names the referencing `field`.
    pub(crate) async fn check_ref(
        self,
        tx: &mut Tx,
        org: OrgId,
        id: Option<i64>,
        field: &'static str,
    ) -> Result<()> {
        let Some(id) = id else { return Ok(()) };
        let found: Option<(i64,)> = tx.fetch_optional(self.select("id", org, id)).await?;
        match found {
            Some(_) => Ok(()),
            None => Err(StoreError::BadReference {
                field,
                entity: self.entity(),
            }),
        }
    }

    /// Deletes one row of the organization, or reports `NotFound`.
    pub(crate) async fn delete(self, tx: &mut Tx, org: OrgId, id: i64) -> Result<()> {
        let mut q = Sql::new("DELETE FROM ");
        q.push(self.name())
            .push(" WHERE organization_id = ")
            .bind(org)
            .push(" AND id = ")
            .bind(id);
        match tx.execute(q).await? {
            0 => Err(self.not_found()),
            _ => Ok(()),
        }
    }

    /// Clears `column` (a reference to a row being deleted) in this table, so
    /// that deleting a record never deletes the history attached to it.
    pub(crate) async fn detach(self, tx: &mut Tx, column: &str, org: OrgId, id: i64) -> Result<()> {
        let mut q = Sql::new("UPDATE ");
        q.push(self.name())
            .push(" SET ")
            .push(column)
            .push(" = NULL WHERE organization_id = ")
            .bind(org)
            .push(" AND ")
            .push(column)
            .push(" = ")
            .bind(id);
        tx.execute(q).await?;
        Ok(())
    }
}

/// Appends ` AND <column> = $n` when the filter value is set.
pub(crate) fn filter_eq(q: &mut Sql, column: &str, v: Option<impl Into<crate::Param>>) {
    if let Some(v) = v {
        q.push(" AND ").push(column).push(" = ").bind(v);
    }
}

/// Appends ` AND <column> IN ($a, $b, ...)`; `ids` must not be empty.
pub(crate) fn push_in<T: Into<crate::Param> + Copy>(q: &mut Sql, column: &str, ids: &[T]) {
    q.push(" AND ").push(column).push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.bind(*id);
    }
    q.push(")");
}

/// Appends a range filter on `column` for whichever bounds are set
/// (`from` inclusive, `to` exclusive).
pub(crate) fn filter_range<T: Into<crate::Param>>(
    q: &mut Sql,
    column: &str,
    from: Option<T>,
    to: Option<T>,
) {
    if let Some(v) = from {
        q.push(" AND ").push(column).push(" >= ").bind(v);
    }
    if let Some(v) = to {
        q.push(" AND ").push(column).push(" < ").bind(v);
    }
}

/// The LIKE pattern for a case-insensitive substring search, or `None` for a
/// blank search.
pub(crate) fn search_pattern(text: Option<&str>) -> Option<String> {
    let text = text.map(str::trim).filter(|t| !t.is_empty())?;
    Some(format!(
        "%{}%",
        text.to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    ))
}

/// Appends `(LOWER(c1) LIKE $n OR LOWER(c2) LIKE $n ...)`.
pub(crate) fn search_clause(q: &mut Sql, columns: &[&str], pattern: &str) {
    q.push("(");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            q.push(" OR ");
        }
        q.push("LOWER(")
            .push(c)
            .push(") LIKE ")
            .bind(pattern)
            .push(" ESCAPE '\\'");
    }
    q.push(")");
}

/// A table's text search (`q` of its list): the columns a text is looked
/// for in, case-insensitively, and on SQLite the table's trigram index
/// (FTS5, migration 0018).
pub(crate) struct TextSearch {
    table: &'static str,
    index: &'static str,
    columns: &'static [&'static str],
}

/// The leads' titles.
pub(crate) const LEAD_TEXT: TextSearch = TextSearch {
    table: "leads",
    index: "leads_search",
    columns: &["title"],
};

/// The contacts' names and companies (the lead list's search of their
/// contacts).
pub(crate) const CONTACT_NAME_TEXT: TextSearch = TextSearch {
    table: "contacts",
    index: "contacts_search",
    columns: &["first_name", "last_name", "company"],
};

/// The contacts' names, e-mail addresses and companies.
pub(crate) const CONTACT_TEXT: TextSearch = TextSearch {
    table: "contacts",
    index: "contacts_search",
    columns: &["first_name", "last_name", "email", "company"],
};

/// Rows found in the trigram indexes below which a search reads the rows
/// the index names (and sorts them); at or above it, few rows of the list's
/// order need be read before a page is full, so the list is read in its
/// order and each row checked.
const FEW: i64 = 500;

/// How a list runs a text search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SearchPlan {
    /// The rows the trigram indexes name (a rare text, on SQLite).
    Index,
    /// Each row of the list's order checked with `LIKE` until the page is
    /// full (a common or short text, and PostgreSQL).
    Scan,
}

/// The plan for searching `text` (trimmed, not blank) in `searches`: on
/// SQLite, for three characters or more, the indexes are asked how many
/// rows hold it (counting up to [`FEW`], a few milliseconds).
pub(crate) async fn search_plan(
    db: &Db,
    searches: &[&TextSearch],
    text: &str,
) -> Result<SearchPlan> {
    if db.backend() != crate::Backend::Sqlite || text.chars().count() < 3 {
        return Ok(SearchPlan::Scan);
    }
    let mut q = Sql::new("SELECT CAST(");
    for (i, s) in searches.iter().enumerate() {
        if i > 0 {
            q.push(" + ");
        }
        q.push("(SELECT COUNT(*) FROM (SELECT 1 FROM ")
            .push(s.index)
            .push(" WHERE ")
            .push(s.index)
            .push(" MATCH ")
            .bind(s.phrase(text))
            .push(" LIMIT ")
            .bind(FEW)
            .push("))");
    }
    q.push(" AS BIGINT)");
    let (found,): (i64,) = db.fetch_one(q).await?;
    Ok(if found < FEW {
        SearchPlan::Index
    } else {
        SearchPlan::Scan
    })
}

/// Appends the `FROM` of a list of `table` whose text search takes the
/// index plan: the ids `own`'s trigram index names, with (`via`) the rows of
/// `org` whose `column` names a row another index names, then each row by
/// its key. `CROSS JOIN` keeps that order on SQLite, which would otherwise
/// read the whole list in its order and probe the ids (1.4 s for a text no
/// lead holds, at a million leads).
pub(crate) fn push_matched_from(
    q: &mut Sql,
    table: &str,
    own: &TextSearch,
    via: Option<(&TextSearch, &str)>,
    org: OrgId,
    text: &str,
) {
    q.push(" FROM (SELECT rowid AS matched_id FROM ")
        .push(own.index)
        .push(" WHERE ")
        .push(own.index)
        .push(" MATCH ")
        .bind(own.phrase(text));
    if let Some((other, column)) = via {
        q.push(" UNION SELECT m.id FROM ")
            .push(table)
            .push(" m WHERE m.organization_id = ")
            .bind(org)
            .push(" AND m.")
            .push(column)
            .push(" IN (SELECT rowid FROM ")
            .push(other.index)
            .push(" WHERE ")
            .push(other.index)
            .push(" MATCH ")
            .bind(other.phrase(text))
            .push(")");
    }
    q.push(") AS matched CROSS JOIN ")
        .push(table)
        .push(" ON ")
        .push(table)
        .push(".id = matched.matched_id");
}

impl TextSearch {
    /// The FTS5 query of `text` in this search's columns: a phrase (the
    /// characters in a row, within one column), case-insensitive.
    fn phrase(&self, text: &str) -> String {
        format!(
            "{{{}}}: \"{}\"",
            self.columns.join(" "),
            text.replace('"', "\"\"")
        )
    }

    /// Appends the condition that `column` (the table's `id`, or a column
    /// naming one of its rows) names a row of `org` holding `text` (trimmed,
    /// not blank) in one of the columns, as `plan` says: through the trigram
    /// index, or as `LOWER(column) LIKE '%text%'` on the row (a reference
    /// looks its row up by key).
    pub(crate) fn push_match(
        &self,
        q: &mut Sql,
        plan: SearchPlan,
        org: OrgId,
        column: &str,
        text: &str,
    ) {
        if plan == SearchPlan::Index {
            q.push(column)
                .push(" IN (SELECT rowid FROM ")
                .push(self.index)
                .push(" WHERE ")
                .push(self.index)
                .push(" MATCH ")
                .bind(self.phrase(text))
                .push(")");
            return;
        }
        let pattern = search_pattern(Some(text)).unwrap_or_default();
        if column == "id" {
            search_clause(q, self.columns, &pattern);
        } else {
            q.push("EXISTS (SELECT 1 FROM ")
                .push(self.table)
                .push(" s WHERE s.organization_id = ")
                .bind(org)
                .push(" AND s.id = ")
                .push(column)
                .push(" AND ");
            let columns: Vec<String> = self.columns.iter().map(|c| format!("s.{c}")).collect();
            let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
            search_clause(q, &columns, &pattern);
            q.push(")");
        }
    }
}

/// A search text, trimmed; `None` when blank.
pub(crate) fn search_text(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// Appends a case-insensitive substring match over `columns`.
pub(crate) fn filter_search(q: &mut Sql, columns: &[&str], text: Option<&str>) {
    if let Some(pattern) = search_pattern(text) {
        q.push(" AND ");
        search_clause(q, columns, &pattern);
    }
}

/// Appends ORDER BY (with `id` as tie-breaker) and LIMIT/OFFSET fetching one
/// extra row (see [`crate::Paged::from_overfetch`]).
pub(crate) fn order_and_page(q: &mut Sql, column: &str, dir: crate::SortDir, page: crate::Page) {
    order_page(q, column, dir, "", page);
}

/// Like [`order_and_page`] for a nullable column: rows without a value come
/// last in either direction, on both backends (PostgreSQL would put them
/// first when descending, SQLite last). Only for nullable columns: on the
/// others it would keep an index from delivering the order.
pub(crate) fn order_nulls_last_and_page(
    q: &mut Sql,
    column: &str,
    dir: crate::SortDir,
    page: crate::Page,
) {
    order_page(q, column, dir, " NULLS LAST", page);
}

fn order_page(q: &mut Sql, column: &str, dir: crate::SortDir, nulls: &str, page: crate::Page) {
    q.push(" ORDER BY ")
        .push(column)
        .push(" ")
        .push(dir.sql())
        .push(nulls)
        .push(", id ")
        .push(dir.sql())
        .push(" LIMIT ")
        .bind(page.limit as i64 + 1)
        .push(" OFFSET ")
        .bind(page.offset as i64);
}

/// Reads a stored amount of money back. One above [`Cents::MAX`], written
/// before the maximum existed, reads as the maximum (and is logged): the
/// record still reads, and what is computed from it stays within bounds; the
/// next change of the record stores the maximum. A negative one, which the
/// schema forbids, is corrupt.
///
/// [`Cents::MAX`]: neuracrm_domain::Cents::MAX
pub(crate) fn stored_cents(
    entity: &'static str,
    id: i64,
    field: &'static str,
    cents: i64,
) -> Result<neuracrm_domain::Cents> {
    use neuracrm_domain::Cents;
    if cents > Cents::MAX.get() {
        tracing::warn!(
            entity,
            id,
            field,
            stored = cents,
            "stored amount above the maximum; read as the maximum"
        );
        return Ok(Cents::MAX);
    }
    Cents::for_field(cents, field).map_err(|e| StoreError::Corrupt {
        entity,
        message: e.to_string(),
    })
}

/// Reads a stored vocabulary word back.
pub(crate) fn word<T: std::str::FromStr>(entity: &'static str, s: &str) -> Result<T> {
    s.parse().map_err(|_| StoreError::Corrupt {
        entity,
        message: format!("unknown stored value '{s}'"),
    })
}
