//! What the list pages share (`/leads`, `/contacts`): the list's state as
//! its URL carries it (filters, sort, order, page), the links that change one
//! of them and keep the others, the sortable column headers, the pager and
//! the options of a filter's select.
//!
//! A list page reads its query string as raw pairs into a [`Listing`]:
//! every key optional, unknown keys and values ignored (a bookmarked URL
//! with a stale filter still opens), so a page declares only which filter
//! keys and sort keys it knows.

use neuracrm_actions::records::{self, List, Record};
use neuracrm_actions::{ActionError, Caller, Crm};
use neuracrm_store::{Page, Paged, Sort, SortDir};

use super::format;

/// The raw query string of a list page.
pub type RawQuery = axum::extract::Query<Vec<(String, String)>>;

/// A select's option.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options of a select over `values`, `current` selected.
pub fn choices(values: &[&str], current: Option<&str>) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: (*v).into(),
            label: format::words(v),
            selected: current == Some(*v),
        })
        .collect()
}

/// The first `limit` records of kind `R` that `filter` keeps, in the order
/// `sort`.
pub async fn first<R: Record>(
    crm: &Crm,
    caller: &Caller,
    filter: R::Filter,
    sort: R::Sort,
    limit: i64,
) -> Result<Paged<R::View>, ActionError> {
    let page = Page::parse(Some(limit), None).map_err(ActionError::query)?;
    records::list::<R>(crm, caller, List { filter, sort, page }).await
}

/// Every record of kind `R` a select offers (up to a page's most).
pub async fn every<R: Record<Filter = (), Sort = ()>>(
    crm: &Crm,
    caller: &Caller,
) -> Result<Vec<R::View>, ActionError> {
    let most = Page::MAX_LIMIT as i64;
    Ok(first::<R>(crm, caller, (), (), most).await?.items)
}

/// A page of records as a page's rows, and whether more follow.
pub fn rows<T, R>(page: Paged<T>, row: impl FnMut(T) -> R) -> (Vec<R>, bool) {
    (page.items.into_iter().map(row).collect(), page.has_more)
}

/// `?page=N` (1 by default) of a page that lists one thing, numbered.
#[derive(Debug, Default, serde::Deserialize)]
pub struct PageNo {
    page: Option<u32>,
}

impl PageNo {
    /// The page's number, from 1.
    pub fn number(&self) -> u32 {
        self.page.unwrap_or(1).clamp(1, 1_000_000)
    }

    /// The store's page of `per_page` rows.
    pub fn page(&self, per_page: i64) -> Result<Page, ActionError> {
        Page::parse(Some(per_page), Some((self.number() as i64 - 1) * per_page))
            .map_err(ActionError::query)
    }

    /// The previous and next pages of `path`.
    pub fn pager(&self, path: &str, has_more: bool) -> Pager {
        let n = self.number();
        let at = |n: u32| format!("{path}?page={n}");
        Pager {
            page: n,
            here: at(n),
            prev: (n > 1).then(|| at(n - 1)),
            next: has_more.then(|| at(n + 1)),
        }
    }
}

/// A sortable column's header link.
pub struct SortLink {
    pub label: &'static str,
    pub href: String,
    /// `sorted` (descending) or `sorted asc` on the current sort's column.
    pub class: &'static str,
}

/// A field of a list's filter form.
pub struct Field {
    pub label: &'static str,
    pub name: &'static str,
    /// `search`, `select`, `number` or `date`.
    pub kind: &'static str,
    pub value: String,
    pub placeholder: &'static str,
    /// A select's options.
    pub options: Vec<Choice>,
}

/// Previous and next pages.
pub struct Pager {
    pub page: u32,
    /// This page's own URL (what a live refresh refetches).
    pub here: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

/// A list page's state: its path, the filters given, the sort and the page.
#[derive(Debug, Clone)]
pub struct Listing {
    path: &'static str,
    filters: Vec<(&'static str, String)>,
    sort: &'static str,
    dir: SortDir,
    page: u32,
}

impl Listing {
    /// Reads `query` for the list at `path`: the non-blank values of
    /// `filter_keys`, a sort among `orders`' keys (the first by default,
    /// descending unless `order=asc`) and the page (1 by default).
    pub fn parse<S>(
        path: &'static str,
        query: &[(String, String)],
        filter_keys: &[&'static str],
        orders: &[(&'static str, S)],
    ) -> Listing {
        let value = |k: &str| {
            query
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        Listing {
            path,
            filters: filter_keys
                .iter()
                .filter_map(|k| value(k).map(|v| (*k, v.to_string())))
                .collect(),
            sort: value("sort")
                .and_then(|s| orders.iter().find(|(k, _)| *k == s))
                .or(orders.first())
                .map(|(k, _)| *k)
                .unwrap_or(""),
            dir: match value("order") {
                Some("asc") => SortDir::Asc,
                _ => SortDir::Desc,
            },
            page: value("page")
                .and_then(|p| p.parse::<u32>().ok())
                .unwrap_or(1)
                .clamp(1, 1_000_000),
        }
    }

    /// The filter `key`, when given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.filters
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The filter `key` as a `T`, when given and valid.
    pub fn parsed<T: std::str::FromStr>(&self, key: &str) -> Option<T> {
        self.get(key).and_then(|v| v.parse().ok())
    }

    /// The sort key.
    pub fn sort(&self) -> &'static str {
        self.sort
    }

    /// The order.
    pub fn dir(&self) -> SortDir {
        self.dir
    }

    /// The store's order that `orders` names for the sort key, in the
    /// list's direction.
    pub fn order<S: Copy + Default>(&self, orders: &[(&'static str, S)]) -> Sort<S> {
        let by = orders
            .iter()
            .find(|(k, _)| *k == self.sort)
            .map(|(_, s)| *s)
            .unwrap_or_default();
        Sort { by, dir: self.dir }
    }

    /// The page of `R` the list shows: `per_page` of those `filter` keeps,
    /// in the store's order that `orders` names for the sort key.
    pub async fn fetch<R, S>(
        &self,
        crm: &Crm,
        caller: &Caller,
        filter: R::Filter,
        orders: &[(&'static str, S)],
        per_page: i64,
    ) -> Result<Paged<R::View>, ActionError>
    where
        R: Record<Sort = Sort<S>>,
        S: Copy + Default,
    {
        let page = Page::parse(Some(per_page), Some((self.page as i64 - 1) * per_page))
            .map_err(ActionError::query)?;
        let sort = self.order(orders);
        records::list::<R>(crm, caller, List { filter, sort, page }).await
    }

    fn field(&self, label: &'static str, name: &'static str, kind: &'static str) -> Field {
        Field {
            label,
            name,
            kind,
            value: self.get(name).unwrap_or_default().to_string(),
            placeholder: "",
            options: vec![],
        }
    }

    /// The search box, hinting at what it searches.
    pub fn search(&self, label: &'static str, name: &'static str, hint: &'static str) -> Field {
        Field {
            placeholder: hint,
            ..self.field(label, name, "search")
        }
    }

    /// A select over `values` ("any" first).
    pub fn select(&self, label: &'static str, name: &'static str, values: &[&str]) -> Field {
        Field {
            options: choices(values, self.get(name)),
            ..self.field(label, name, "select")
        }
    }

    /// The segment filter (`segment`, a segment's id): a select over the
    /// organization's segments by name (the newest 200).
    pub async fn segment(&self, crm: &Crm, caller: &Caller) -> Result<Field, ActionError> {
        use neuracrm_domain::Segment;
        let page = Page::parse(Some(200), None).map_err(ActionError::query)?;
        let list = List {
            filter: (),
            sort: (),
            page,
        };
        let segments = records::list::<Segment>(crm, caller, list).await?;
        let current = self.get("segment");
        Ok(Field {
            options: segments
                .items
                .iter()
                .map(|s| Choice {
                    value: s.id.0.to_string(),
                    label: s.name.clone(),
                    selected: current == Some(s.id.0.to_string().as_str()),
                })
                .collect(),
            ..self.field("Segment", "segment", "select")
        })
    }

    /// The segment filter's id, when given (a segment of another
    /// organization is a 404 of the list action).
    pub fn segment_id(&self) -> Option<neuracrm_domain::SegmentId> {
        self.parsed::<i64>("segment")
            .map(neuracrm_domain::SegmentId)
    }

    /// A number from 0 to 100.
    pub fn number(&self, label: &'static str, name: &'static str) -> Field {
        self.field(label, name, "number")
    }

    /// A date.
    pub fn date(&self, label: &'static str, name: &'static str) -> Field {
        self.field(label, name, "date")
    }

    /// The list's URL at `page`, sorted by `sort` when given.
    pub fn url(&self, page: u32, sort: Option<(&str, SortDir)>) -> String {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.filters {
            ser.append_pair(k, v);
        }
        let (s, d) = sort.unwrap_or((self.sort, self.dir));
        ser.append_pair("sort", s);
        ser.append_pair(
            "order",
            match d {
                SortDir::Asc => "asc",
                SortDir::Desc => "desc",
            },
        );
        if page > 1 {
            ser.append_pair("page", &page.to_string());
        }
        format!("{}?{}", self.path, ser.finish())
    }

    /// The header links of `columns` (label, sort key), in that order: each
    /// sorts by its column from page 1, descending first, and flips the
    /// order of the current one.
    pub fn sort_links(&self, columns: &[(&'static str, &'static str)]) -> Vec<SortLink> {
        columns
            .iter()
            .map(|(label, key)| {
                let active = self.sort == *key;
                let flip = if active && self.dir == SortDir::Desc {
                    SortDir::Asc
                } else {
                    SortDir::Desc
                };
                SortLink {
                    label,
                    href: self.url(1, Some((key, flip))),
                    class: match (active, self.dir) {
                        (false, _) => "",
                        (true, SortDir::Asc) => "sorted asc",
                        (true, SortDir::Desc) => "sorted",
                    },
                }
            })
            .collect()
    }

    /// The pager, given whether a next page exists.
    pub fn pager(&self, has_more: bool) -> Pager {
        Pager {
            page: self.page,
            here: self.url(self.page, None),
            prev: (self.page > 1).then(|| self.url(self.page - 1, None)),
            next: has_more.then(|| self.url(self.page + 1, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_listing_keeps_known_filters_and_falls_back_on_defaults() {
        let l = Listing::parse(
            "/contacts",
            &q(&[
                ("q", " ada "),
                ("industry", ""),
                ("nonsense", "x"),
                ("sort", "bogus"),
                ("page", "3"),
            ]),
            &["q", "industry"],
            &[("created", 1), ("name", 2)],
        );
        assert_eq!(l.get("q"), Some("ada"));
        assert_eq!(l.get("industry"), None, "blank is not a filter");
        assert_eq!(l.sort(), "created", "an unknown sort falls back");
        assert_eq!(l.dir(), SortDir::Desc);
        assert_eq!(
            l.url(3, None),
            "/contacts?q=ada&sort=created&order=desc&page=3"
        );
        let p = l.pager(false);
        assert_eq!(
            p.prev.as_deref(),
            Some("/contacts?q=ada&sort=created&order=desc&page=2")
        );
        assert!(p.next.is_none());
        let links = l.sort_links(&[("Created", "created"), ("Name", "name")]);
        assert_eq!(links[0].class, "sorted");
        assert_eq!(links[0].href, "/contacts?q=ada&sort=created&order=asc");
        assert_eq!(links[1].class, "");
        assert_eq!(links[1].href, "/contacts?q=ada&sort=name&order=desc");
        let bad_page = Listing::parse("/leads", &q(&[("page", "-2")]), &[], &[("score", 0)]);
        assert_eq!(bad_page.pager(true).page, 1);
    }
}
