//! Wire types shared by every area: the vocabularies' schemas, paging, the
//! page shape. Each area's own request and response bodies live in its
//! module under `api/`; this module imports no area.
//!
//! The domain crate stays free of web crates, so the wire types live in the
//! server: responses convert from domain records (the schema matches what is
//! sent by construction), create bodies convert into the domain's `New*`
//! inputs, and patch bodies are the domain's `*Patch` types themselves,
//! documented by `*PatchBody` mirrors.

use chrono::{DateTime, NaiveDate, Utc};
use neuracrm_domain as d;
use neuracrm_sentiment::Label;
use neuracrm_store::Page;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::error::{ApiError, ApiResult};

/// Schema-only copies of the domain's vocabularies (the domain has no
/// `ToSchema`); the words are the same.
pub mod vocab {
    use serde::Serialize;
    use utoipa::ToSchema;

    macro_rules! schema_enum {
        ($(#[$doc:meta])* $name:ident { $($v:ident),+ $(,)? }) => {
            $(#[$doc])*
            #[derive(Debug, Serialize, ToSchema)]
            #[serde(rename_all = "snake_case")]
            pub enum $name { $(#[allow(missing_docs)] $v),+ }
        };
    }

    schema_enum!(
        /// A user's role.
        Role { Admin, Manager, Rep }
    );
    schema_enum!(
        /// Lead qualification status.
        LeadStatus { New, Contacted, Qualified, Unqualified, Converted }
    );
    schema_enum!(
        /// How a lead reached us.
        LeadSource { Website, Referral, EmailCampaign, SocialMedia, Event, ColdCall, Partner, Advertising, Other }
    );
    schema_enum!(
        /// Deal pipeline stage.
        DealStage { Prospecting, Qualification, Proposal, Negotiation, ClosedWon, ClosedLost }
    );
    schema_enum!(
        /// Open, won or lost.
        DealStatus { Open, Won, Lost }
    );
    schema_enum!(
        /// Kind of activity.
        ActivityType { EmailOpen, EmailClick, WebsiteVisit, Call, Meeting, Note, EmailSent, EmailReceived }
    );
    schema_enum!(
        /// Where a campaign stands.
        CampaignStatus { Draft, Scheduled, Sending, Paused, Completed, Cancelled, Failed }
    );
    schema_enum!(
        /// Where one recipient of a campaign stands.
        RecipientStatus { Pending, Sending, Sent, Failed, Bounced, Skipped }
    );
    schema_enum!(
        /// What an AI voice call is for.
        Scenario { SalesOutbound, CustomerSupport }
    );
    schema_enum!(
        /// Where an AI voice call stands (Retell's words).
        CallStatus { Registered, NotConnected, Ongoing, Ended, Error }
    );
    schema_enum!(
        /// What a bounce webhook reports.
        BounceType { Hard, Soft, Complaint }
    );
    schema_enum!(
        /// Sort direction.
        SortOrder { Asc, Desc }
    );
    schema_enum!(
        /// Contact sort keys.
        ContactSortKey { CreatedAt, UpdatedAt, Name, Company }
    );
    schema_enum!(
        /// Lead sort keys.
        LeadSortKey { CreatedAt, UpdatedAt, Score, Title, Budget, ExpectedDecision }
    );
    schema_enum!(
        /// Deal sort keys.
        DealSortKey { CreatedAt, UpdatedAt, Value, ExpectedClose, ClosedAt, Title }
    );

    /// A score category, from the organization's thresholds (default: hot ≥ 80,
    /// warm ≥ 60, lukewarm ≥ 40, cold below).
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[allow(missing_docs)]
    pub enum ScoreCategory {
        Hot,
        Warm,
        Lukewarm,
        Cold,
    }

    /// A monthly series of the CRM.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ForecastMetric {
        /// Value of won deals by close month, in currency units.
        Revenue,
        /// Won deals by close month.
        DealsWon,
        /// Contacts whose first won deal closed in the month.
        NewCustomers,
    }

    /// The backtest-weighted ensemble or one model.
    #[derive(Debug, Serialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum ForecastAlgorithm {
        /// ETS, Theta, seasonal naive and auto-ARIMA weighted by backtests.
        Ensemble,
        /// Seasonal auto-ARIMA.
        AutoArima,
        /// Exponential smoothing.
        Ets,
        /// Theta.
        Theta,
        /// Prophet-style trend and seasonality.
        Prophet,
        /// Trend and month regression.
        Regression,
        /// Same month last year.
        SeasonalNaive,
    }
}

/// Negative, neutral or positive.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SentimentLabel {
    #[allow(missing_docs)]
    Negative,
    #[allow(missing_docs)]
    Neutral,
    #[allow(missing_docs)]
    Positive,
}

impl From<Label> for SentimentLabel {
    fn from(l: Label) -> Self {
        match l {
            Label::Negative => SentimentLabel::Negative,
            Label::Neutral => SentimentLabel::Neutral,
            Label::Positive => SentimentLabel::Positive,
        }
    }
}

/// Which engine decided: the organization's trained model, or VADER.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SentimentMethod {
    #[allow(missing_docs)]
    Vader,
    #[allow(missing_docs)]
    Model,
}

/// How a domain value is sent: a typed id as its number, an e-mail as its
/// text, an amount as its cents, anything else as it is. Response types
/// declared with `record_out!` convert their record field by field with it.
pub trait Wire {
    /// The value as sent.
    type Out;
    /// The value as sent.
    fn wire(self) -> Self::Out;
}

macro_rules! wire_impls {
    (ids: $($id:ty),*; as_is: $($t:ty),* $(,)?) => {
        $(impl Wire for $id {
            type Out = i64;
            fn wire(self) -> i64 {
                self.0
            }
        })*
        $(impl Wire for $t {
            type Out = $t;
            fn wire(self) -> $t {
                self
            }
        })*
    };
}

wire_impls!(
    ids: d::OrgId, d::UserId, d::ContactId, d::LeadId, d::DealId, d::ActivityId, d::ForecastModelId,
        d::RecipientId, d::CallId, d::EmailTemplateId, d::CampaignId;
    as_is: String, i64, f64, bool, DateTime<Utc>, NaiveDate, d::Role, d::LeadStatus,
    d::LeadSource, d::DealStage, d::DealStatus, d::ActivityType, d::ForecastMetric,
    d::ForecastAlgorithm, d::RecipientStatus, d::Scenario, d::CallStatus, d::CampaignStatus,
    d::CampaignTarget, serde_json::Value,
);

impl Wire for d::Email {
    type Out = String;
    fn wire(self) -> String {
        self.into()
    }
}

impl Wire for d::Cents {
    type Out = i64;
    fn wire(self) -> i64 {
        self.get()
    }
}

impl<T: Wire> Wire for Option<T> {
    type Out = Option<T::Out>;
    fn wire(self) -> Option<T::Out> {
        self.map(T::wire)
    }
}

/// Declares a response type made from a domain record (`$src`, named `$r`
/// in the conversion) field by field: each field is the record's field of
/// the same name as sent ([`Wire`]), unless it says `= expression`.
macro_rules! record_out {
    (
        $(#[$doc:meta])*
        $name:ident from $src:ty as $r:ident {
            $($(#[$fm:meta])* $f:ident: $t:ty $(= $conv:expr)?,)*
        }
    ) => {
        $(#[$doc])*
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            $($(#[$fm])* $f: $t,)*
        }

        impl From<$src> for $name {
            fn from($r: $src) -> Self {
                $name {
                    $($f: $crate::http::wire::record_out!(@field $r, $f $(= $conv)?),)*
                }
            }
        }
    };
    (@field $r:ident, $f:ident) => { $crate::http::wire::Wire::wire($r.$f) };
    (@field $r:ident, $f:ident = $conv:expr) => { $conv };
}
pub(crate) use record_out;

/// Declares a page of `$item`s (named for its schema) built from a store
/// page of `$view`s.
macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $item:ty, $view:ty) => {
        $(#[$doc])*
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            /// The rows of this page.
            items: Vec<$item>,
            /// The page size asked for.
            limit: u32,
            /// Rows skipped.
            offset: u64,
            /// Whether more rows follow.
            has_more: bool,
        }

        impl From<neuracrm_store::Paged<$view>> for $name {
            fn from(p: neuracrm_store::Paged<$view>) -> Self {
                $name {
                    items: p.items.into_iter().map(Into::into).collect(),
                    limit: p.limit,
                    offset: p.offset,
                    has_more: p.has_more,
                }
            }
        }
    };
}
pub(crate) use page_type;

/// Paging of a plain list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The page a list asks for, checked (1–200 rows, offset not negative).
pub fn page(limit: Option<i64>, offset: Option<i64>) -> ApiResult<Page> {
    Page::parse(limit, offset).map_err(ApiError::query)
}

/// A list's query string as the generic list handler reads it: the page
/// asked for (checked), and the store's filter and order.
pub trait ListQuery {
    /// The store's filter of the list.
    type Filter;
    /// The store's order of the list.
    type Sort;
    /// The page, filter and order asked for (400 on bad paging).
    fn into_parts(self) -> ApiResult<(Page, Self::Filter, Self::Sort)>;
}

/// A plain list: paging only.
impl ListQuery for PageQuery {
    type Filter = ();
    type Sort = ();

    fn into_parts(self) -> ApiResult<(Page, (), ())> {
        Ok((page(self.limit, self.offset)?, (), ()))
    }
}

/// A status vocabulary that a list can be filtered by ([`StatusQuery`]).
pub trait StatusWord: serde::de::DeserializeOwned {
    /// The name of its schema in [`vocab`].
    const SCHEMA: &'static str;
    /// The `status` parameter's description.
    const FILTERS: &'static str;
}

impl StatusWord for d::CampaignStatus {
    const SCHEMA: &'static str = "CampaignStatus";
    const FILTERS: &'static str = "Only campaigns in this status.";
}

impl StatusWord for d::RecipientStatus {
    const SCHEMA: &'static str = "RecipientStatus";
    const FILTERS: &'static str = "Only recipients in this status.";
}

/// Paging and one optional `status`: the query string of every list that
/// is filtered by a status only (campaigns, a campaign's send log), the
/// store's filter being that status.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound = "S: StatusWord")]
pub struct StatusQuery<S> {
    /// Rows per page, 1–200 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
    /// Only rows in this status.
    pub status: Option<S>,
}

impl<S> Default for StatusQuery<S> {
    fn default() -> Self {
        StatusQuery {
            limit: None,
            offset: None,
            status: None,
        }
    }
}

impl<S: StatusWord> IntoParams for StatusQuery<S> {
    fn into_params(
        parameter_in: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::ParameterBuilder;
        use utoipa::openapi::{ObjectBuilder, Ref, Required, Type};
        let param = |name: &str, doc: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(parameter_in().unwrap_or_default())
                .required(Required::False)
                .description(Some(doc))
        };
        let int = |min: i64, max: Option<i64>| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(min))
                .maximum(max)
        };
        vec![
            param("limit", "Rows per page, 1–200 (default 50).")
                .schema(Some(int(1, Some(200))))
                .build(),
            param("offset", "Rows to skip.")
                .schema(Some(int(0, None)))
                .build(),
            param("status", S::FILTERS)
                .schema(Some(Ref::from_schema_name(S::SCHEMA)))
                .build(),
        ]
    }
}

impl<S: StatusWord> ListQuery for StatusQuery<S> {
    type Filter = Option<S>;
    type Sort = ();

    fn into_parts(self) -> ApiResult<(Page, Option<S>, ())> {
        Ok((page(self.limit, self.offset)?, self.status, ()))
    }
}

/// Declares the query string of a list and how it becomes the store's
/// filter and order ([`ListQuery`]): paging (`limit`, `offset`); then, when a
/// sort key is named, `sort` (documented with the given words) and `order`
/// (a `Sort` of both), or, with `order:` alone, the direction only (a
/// `SortDir`), or nothing (`()`); then the list's own filters, written as
/// struct fields. Each filter field sets the store filter's field of the
/// same name, unless it says `=> other = expression` (the expression sees
/// the query's field under its own name); filter fields the query does not
/// name keep their defaults. Two shorthands state the filters every list
/// has alike on one line each: `id owner_id: UserId = "Owner's user id.",`
/// (a record id, a number on the wire) and `range created_from, created_to:
/// BoundedTime as DateTime<Utc> = "Created at or after (RFC 3339).",
/// "Created before (RFC 3339).",` (the two ends of a range, their schema
/// and their words).
macro_rules! list_query {
    (
        $(#[$doc:meta])*
        $name:ident => $filter:ty,
        sort: $sort_doc:literal, $sort_schema:ty => $sort:ty,
        { $($fields:tt)* }
    ) => {
        $crate::http::wire::list_query!(@fields (@query $(#[$doc])* $name => $filter,
            (neuracrm_store::Sort<$sort>, key),
            {
                #[doc = $sort_doc]
                #[param(value_type = Option<$sort_schema>)]
                pub sort: Option<$sort>,
                /// Sort direction (default desc).
                #[param(value_type = Option<$crate::http::wire::vocab::SortOrder>)]
                pub order: Option<neuracrm_store::SortDir>,
            },) [] $($fields)*);
    };
    (
        $(#[$doc:meta])*
        $name:ident => $filter:ty,
        order: $order_doc:literal,
        { $($fields:tt)* }
    ) => {
        $crate::http::wire::list_query!(@fields (@query $(#[$doc])* $name => $filter,
            (neuracrm_store::SortDir, direction),
            {
                #[doc = $order_doc]
                #[param(value_type = Option<$crate::http::wire::vocab::SortOrder>)]
                pub order: Option<neuracrm_store::SortDir>,
            },) [] $($fields)*);
    };
    (
        $(#[$doc:meta])*
        $name:ident => $filter:ty,
        { $($fields:tt)* }
    ) => {
        $crate::http::wire::list_query!(@fields (@query $(#[$doc])* $name => $filter, ((), none), {},)
            [] $($fields)*);
    };
    // The shorthands, rewritten one field at a time into struct fields.
    (@fields $head:tt [$($done:tt)*] id $f:ident: $t:ty = $fdoc:literal, $($rest:tt)*) => {
        $crate::http::wire::list_query!(@fields $head [$($done)*
            #[doc = $fdoc]
            #[param(value_type = Option<i64>)]
            pub $f: Option<$t>,
        ] $($rest)*);
    };
    (@fields $head:tt [$($done:tt)*]
        range $from:ident, $to:ident: $t:ty as $schema:ty = $from_doc:literal, $to_doc:literal, $($rest:tt)*
    ) => {
        $crate::http::wire::list_query!(@fields $head [$($done)*
            #[doc = $from_doc]
            #[param(value_type = Option<$schema>)]
            pub $from: Option<$t>,
            #[doc = $to_doc]
            #[param(value_type = Option<$schema>)]
            pub $to: Option<$t>,
        ] $($rest)*);
    };
    (@fields $head:tt [$($done:tt)*]
        $(#[$fm:meta])* pub $f:ident: $t:ty $(=> $to:ident = $conv:expr)?, $($rest:tt)*
    ) => {
        $crate::http::wire::list_query!(@fields $head [$($done)*
            $(#[$fm])* pub $f: $t $(=> $to = $conv)?,
        ] $($rest)*);
    };
    (@fields ($($head:tt)*) [$($done:tt)*]) => {
        $crate::http::wire::list_query!($($head)* { $($done)* });
    };
    (
        @query $(#[$doc:meta])* $name:ident => $filter:ty,
        ($sort_ty:ty, $sort_kind:ident),
        { $($sort_fields:tt)* },
        { $($(#[$fm:meta])* pub $f:ident: $t:ty $(=> $to:ident = $conv:expr)?,)* }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
        #[serde(deny_unknown_fields)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// Rows per page, 1–200 (default 50).
            #[param(minimum = 1, maximum = 200)]
            pub limit: Option<i64>,
            /// Rows to skip.
            #[param(minimum = 0)]
            pub offset: Option<i64>,
            $($sort_fields)*
            $($(#[$fm])* pub $f: $t,)*
        }

        impl $crate::http::wire::ListQuery for $name {
            type Filter = $filter;
            type Sort = $sort_ty;

            #[allow(clippy::field_reassign_with_default)]
            fn into_parts(
                self,
            ) -> $crate::http::error::ApiResult<(neuracrm_store::Page, $filter, $sort_ty)> {
                let q = self;
                let page = $crate::http::wire::page(q.limit, q.offset)?;
                let mut filter = <$filter>::default();
                $($crate::http::wire::list_query!(@set filter, q, $f $(=> $to = $conv)?);)*
                Ok((page, filter, $crate::http::wire::list_query!(@sort q, $sort_kind)))
            }
        }
    };
    (@sort $q:ident, key) => {
        neuracrm_store::Sort {
            by: $q.sort.unwrap_or_default(),
            dir: $q.order.unwrap_or_default(),
        }
    };
    (@sort $q:ident, direction) => { $q.order.unwrap_or_default() };
    (@sort $q:ident, none) => { () };
    (@set $filter:ident, $q:ident, $f:ident) => { $filter.$f = $q.$f; };
    (@set $filter:ident, $q:ident, $f:ident => $to:ident = $conv:expr) => {
        let $f = $q.$f;
        $filter.$to = $conv;
    };
}
pub(crate) use list_query;
