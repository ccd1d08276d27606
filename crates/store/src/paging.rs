//! Paging and sort direction shared by every list.

use neuracrm_domain::DomainError;
use serde::{Deserialize, Serialize};

/// A window of a list: at most `limit` rows after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// Rows per page, 1..=[`Page::MAX_LIMIT`].
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

impl Page {
    /// Largest page size.
    pub const MAX_LIMIT: u32 = 200;
    /// Page size when none is asked for.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// Largest offset accepted (deep offsets are slow; use filters instead).
    pub const MAX_OFFSET: u64 = 10_000_000;

    /// Parses optional client values.
    pub fn parse(limit: Option<i64>, offset: Option<i64>) -> Result<Page, DomainError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT as i64);
        if !(1..=Self::MAX_LIMIT as i64).contains(&limit) {
            return Err(DomainError::OutOfRange {
                field: "limit",
                min: 1.0,
                max: Self::MAX_LIMIT as f64,
            });
        }
        let offset = offset.unwrap_or(0);
        if !(0..=Self::MAX_OFFSET as i64).contains(&offset) {
            return Err(DomainError::OutOfRange {
                field: "offset",
                min: 0.0,
                max: Self::MAX_OFFSET as f64,
            });
        }
        Ok(Page {
            limit: limit as u32,
            offset: offset as u64,
        })
    }
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paged<T> {
    /// The rows.
    pub items: Vec<T>,
    /// The page size asked for.
    pub limit: u32,
    /// The offset asked for.
    pub offset: u64,
    /// Whether more rows follow.
    pub has_more: bool,
}

impl<T> Paged<T> {
    /// Builds a page from up to `limit + 1` fetched rows (the extra row only
    /// tells that more follow, so no COUNT over the whole table is needed).
    pub fn from_overfetch(mut items: Vec<T>, page: Page) -> Self {
        let has_more = items.len() > page.limit as usize;
        items.truncate(page.limit as usize);
        Paged {
            items,
            limit: page.limit,
            offset: page.offset,
            has_more,
        }
    }

    /// Converts every item (infallibly).
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Paged<U> {
        Paged {
            items: self.items.into_iter().map(f).collect(),
            limit: self.limit,
            offset: self.offset,
            has_more: self.has_more,
        }
    }

    /// Converts every item.
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<Paged<U>, E> {
        Ok(Paged {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            limit: self.limit,
            offset: self.offset,
            has_more: self.has_more,
        })
    }
}

/// How to order a list: a key (a per-resource enum) and a direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sort<S> {
    /// The key.
    pub by: S,
    /// The direction.
    pub dir: SortDir,
}

/// Sort direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortDir {
    /// Smallest first.
    Asc,
    /// Largest first.
    #[default]
    Desc,
}

impl SortDir {
    /// The SQL keyword.
    pub fn sql(self) -> &'static str {
        match self {
            SortDir::Asc => "ASC",
            SortDir::Desc => "DESC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_paging_is_rejected_naming_the_field() {
        assert_eq!(Page::parse(Some(0), None).unwrap_err().field(), "limit");
        assert_eq!(Page::parse(Some(201), None).unwrap_err().field(), "limit");
        assert_eq!(Page::parse(None, Some(-1)).unwrap_err().field(), "offset");
        assert_eq!(Page::parse(None, None).unwrap(), Page::default());
    }

    #[test]
    fn overfetch_tells_whether_more_follow() {
        let p = Page {
            limit: 2,
            offset: 0,
        };
        assert!(Paged::from_overfetch(vec![1, 2, 3], p).has_more);
        let last = Paged::from_overfetch(vec![1, 2], p);
        assert!(!last.has_more);
        assert_eq!(last.items, vec![1, 2]);
    }
}
