//! How a partial update (`*Patch`) is declared and applied, once for every
//! record.
//!
//! A patch has one field per changeable field of its record. Each field is
//! declared with its *kind*, which fixes both its Rust type and what `null`
//! means in the JSON body:
//!
//! | kind             | patch field type    | absent | `null`                   | value |
//! |------------------|---------------------|--------|--------------------------|-------|
//! | `nullable`       | `Option<Option<T>>` | `None` | `Some(None)`: clears     | `Some(Some(v))` |
//! | `non_null`       | `Option<T>`         | `None` | refused ([`non_null`])   | `Some(v)` |
//! | `null_as_absent` | `Option<T>`         | `None` | `None`: keeps, as absent | `Some(v)` |
//!
//! `T` is the record field's type, or an input type that converts into it
//! (`Into`): a deal's `expected_close` is a `NaiveDate` in the record (a date
//! stored before the date range existed still reads) and a
//! [`BoundedDate`](crate::BoundedDate) in the patch (what is written now
//! falls in the range).
//!
//! [`declare_patch!`] takes that field list once and generates
//!
//! - the patch struct (`Debug, Clone, Default, PartialEq, Serialize,
//!   Deserialize`, `deny_unknown_fields`, each field with its serde attributes);
//! - an implementation of [`Patch`], whose [`Patch::write_to`] copies every
//!   present field onto the record field of the same name. A field declared
//!   `=> by_hand` is left out: the record's `apply` derives it itself (the close
//!   time of a deal follows its stage);
//! - optionally `as_new()`, the `New*` input that would create the record as it
//!   is now, for records whose input has exactly the patch's fields.
//!
//! Validation stays with each record, because what makes a record valid is
//! its own business: `apply` calls [`Patch::apply_to`], which writes the patch
//! onto a copy, runs the record's check on the copy (which may also normalise
//! it, e.g. trim a name) and only then replaces the record. A patch that fails
//! its check therefore leaves the record unchanged.
//!
//! ```text
//! declare_patch! {
//!     /// A partial update of a contact.
//!     pub struct ContactPatch for Contact {
//!         /// New first name.
//!         first_name: non_null String,
//!         /// New family name, or `null` to clear.
//!         last_name: nullable String,
//!     }
//!     /// The input that would create this contact as it is now.
//!     fn as_new -> NewContact;
//! }
//! ```

use serde::{Deserialize, Deserializer};

use crate::DomainError;

/// Deserialises a present field, `null` included, as `Some(..)`, so that with
/// `#[serde(default)]` an absent field stays `None`.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Deserializes a field of a patch that cannot be cleared: absent (with
/// `#[serde(default)]`) leaves it unchanged, a value sets it, and `null` is
/// refused, naming the field, instead of being taken for "absent".
pub fn non_null<'de, T, D>(de: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    match Option::<T>::deserialize(de)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom(
            "must not be null: this field cannot be cleared (leave it out to keep it)",
        )),
    }
}

/// A partial update of a [`Patch::Record`], implemented by [`declare_patch!`].
pub(crate) trait Patch {
    /// The record the patch changes.
    type Record: Clone;

    /// Overwrites each record field whose patch field is present (`Some`);
    /// fields declared `=> by_hand` are not touched. Does not validate.
    fn write_to(&self, record: &mut Self::Record);

    /// Writes the patch onto a copy of `record`, lets `check` validate (and
    /// normalise) the copy, given the record as it was, and only if it passes
    /// replaces `record` with the copy; on error `record` is unchanged.
    fn apply_to(
        &self,
        record: &mut Self::Record,
        check: impl FnOnce(&Self::Record, &mut Self::Record) -> Result<(), DomainError>,
    ) -> Result<(), DomainError> {
        let mut next = record.clone();
        self.write_to(&mut next);
        check(record, &mut next)?;
        *record = next;
        Ok(())
    }
}

/// Declares a `*Patch` struct from one field list and implements [`Patch`]
/// (and optionally `as_new`) for it; the syntax and the field kinds are
/// described in the [module documentation](self).
macro_rules! declare_patch {
    // Internal: the struct, once every field has been turned into its
    // declaration in `[$($done)*]`.
    (@struct [$(#[$meta:meta])* $Patch:ident] [$($done:tt)*]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $Patch {
            $($done)*
        }
    };
    // Internal: one field per step, its serde attributes chosen by its kind.
    (@struct $head:tt [$($done:tt)*]
        [$(#[$m:meta])*] $field:ident nullable ($ty:ty) $($rest:tt)*) => {
        $crate::patch::declare_patch!(@struct $head [$($done)*
            $(#[$m])*
            #[serde(default, deserialize_with = "crate::patch::double_option")]
            pub $field: ::std::option::Option<::std::option::Option<$ty>>,
        ] $($rest)*);
    };
    (@struct $head:tt [$($done:tt)*]
        [$(#[$m:meta])*] $field:ident non_null ($ty:ty) $($rest:tt)*) => {
        $crate::patch::declare_patch!(@struct $head [$($done)*
            $(#[$m])*
            #[serde(default, deserialize_with = "crate::patch::non_null")]
            pub $field: ::std::option::Option<$ty>,
        ] $($rest)*);
    };
    (@struct $head:tt [$($done:tt)*]
        [$(#[$m:meta])*] $field:ident null_as_absent ($ty:ty) $($rest:tt)*) => {
        $crate::patch::declare_patch!(@struct $head [$($done)*
            $(#[$m])*
            #[serde(default)]
            pub $field: ::std::option::Option<$ty>,
        ] $($rest)*);
    };
    (@struct $head:tt [$($done:tt)*]
        [$(#[$m:meta])*] $field:ident $kind:ident ($ty:ty) $($rest:tt)*) => {
        compile_error!(concat!(
            "patch field `", stringify!($field), "`: unknown kind `", stringify!($kind),
            "` (expected nullable, non_null or null_as_absent)"
        ));
    };
    // Internal: one statement of `write_to` (the patch's value converted
    // into the record's type, e.g. a `BoundedDate` into a `NaiveDate`).
    (@write $patch:ident $record:ident nullable $field:ident) => {
        if let ::std::option::Option::Some(v) = &$patch.$field {
            $record.$field = ::std::clone::Clone::clone(v).map(::std::convert::Into::into);
        }
    };
    (@write $patch:ident $record:ident $kind:ident $field:ident) => {
        if let ::std::option::Option::Some(v) = &$patch.$field {
            $record.$field = ::std::convert::Into::into(::std::clone::Clone::clone(v));
        }
    };
    (@write $patch:ident $record:ident $kind:ident $field:ident by_hand) => {};
    // Internal: `as_new`, when asked for.
    (@as_new $Record:ident [$($field:ident)*]) => {};
    (@as_new $Record:ident [$($field:ident)*] [$(#[$m:meta])*] $New:ident) => {
        impl $Record {
            $(#[$m])*
            pub fn as_new(&self) -> $New {
                $New {
                    $($field: ::std::clone::Clone::clone(&self.$field),)*
                }
            }
        }
    };
    (
        $(#[$meta:meta])*
        pub struct $Patch:ident for $Record:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $kind:ident $ty:ty $(=> $by_hand:ident)?
            ),* $(,)?
        }
        $(
            $(#[$new_meta:meta])*
            fn as_new -> $New:ident;
        )?
    ) => {
        $crate::patch::declare_patch!(@struct [$(#[$meta])* $Patch] []
            $([$(#[$fmeta])*] $field $kind ($ty))*);

        impl $crate::patch::Patch for $Patch {
            type Record = $Record;

            fn write_to(&self, record: &mut $Record) {
                $($crate::patch::declare_patch!(@write self record $kind $field $($by_hand)?);)*
            }
        }

        $crate::patch::declare_patch!(@as_new $Record [$($field)*]
            $([$(#[$new_meta])*] $New)?);
    };
}

pub(crate) use declare_patch;

#[cfg(test)]
mod tests {
    use super::Patch;
    use crate::DomainError;

    /// A record with one field of each kind, plus one left to `apply`.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Item {
        name: String,
        note: Option<String>,
        size: i64,
        stamp: Option<i64>,
    }

    /// What would create an [`Item`]: the fields `as_new` copies.
    #[derive(Debug, PartialEq)]
    pub struct NewItem {
        name: String,
        note: Option<String>,
        size: i64,
        stamp: Option<i64>,
    }

    declare_patch! {
        /// A partial update of an [`Item`].
        pub struct ItemPatch for Item {
            /// Required name.
            name: non_null String,
            /// Optional note.
            note: nullable String,
            /// Size, where `null` means "keep".
            size: null_as_absent i64,
            /// Set by `apply` itself, never copied.
            stamp: non_null i64 => by_hand,
        }
        /// The input for the item as it is.
        fn as_new -> NewItem;
    }

    impl Item {
        fn apply(&mut self, p: &ItemPatch) -> Result<(), DomainError> {
            p.apply_to(self, |old, next| {
                if next.name.trim().is_empty() {
                    return Err(DomainError::Empty { field: "name" });
                }
                next.name = next.name.trim().to_string();
                next.stamp = p.stamp.or(old.stamp);
                Ok(())
            })
        }
    }

    fn item() -> Item {
        Item {
            name: "Ada".into(),
            note: Some("first".into()),
            size: 3,
            stamp: Some(1),
        }
    }

    fn patch(json: &str) -> Result<ItemPatch, String> {
        let mut de = serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(&mut de).map_err(|e| e.to_string())
    }

    #[test]
    fn an_absent_field_keeps_the_value() {
        let mut i = item();
        i.apply(&patch("{}").unwrap()).unwrap();
        assert_eq!(i, item());
        i.apply(&patch(r#"{"size": 5}"#).unwrap()).unwrap();
        assert_eq!(i, Item { size: 5, ..item() });
    }

    #[test]
    fn null_clears_a_nullable_field_and_a_value_sets_it() {
        let p = patch(r#"{"note": null}"#).unwrap();
        assert_eq!(p.note, Some(None));
        let mut i = item();
        i.apply(&p).unwrap();
        assert_eq!(
            i,
            Item {
                note: None,
                ..item()
            }
        );
        i.apply(&patch(r#"{"note": "second"}"#).unwrap()).unwrap();
        assert_eq!(i.note.as_deref(), Some("second"));
    }

    #[test]
    fn null_on_a_non_clearable_field_is_refused_naming_it() {
        let err = patch(r#"{"note": "x", "name": null}"#).unwrap_err();
        assert!(err.starts_with("name: must not be null"), "{err}");
        let err = patch(r#"{"stamp": null}"#).unwrap_err();
        assert!(err.starts_with("stamp: must not be null"), "{err}");
    }

    #[test]
    fn null_as_absent_keeps_the_value() {
        let p = patch(r#"{"size": null}"#).unwrap();
        assert_eq!(p, ItemPatch::default());
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = patch(r#"{"nickname": "x"}"#).unwrap_err();
        assert!(err.contains("unknown field `nickname`"), "{err}");
    }

    #[test]
    fn a_patch_that_fails_its_check_changes_nothing() {
        let mut i = item();
        let bad = patch(r#"{"name": " ", "note": null, "size": 9, "stamp": 7}"#).unwrap();
        assert_eq!(i.apply(&bad), Err(DomainError::Empty { field: "name" }));
        assert_eq!(i, item());
    }

    #[test]
    fn by_hand_fields_are_left_to_apply_and_the_check_may_normalise() {
        let p = patch(r#"{"name": "  Grace ", "stamp": 7}"#).unwrap();
        let mut written = item();
        p.write_to(&mut written);
        assert_eq!(written.stamp, Some(1), "write_to skips a by_hand field");
        let mut i = item();
        i.apply(&p).unwrap();
        assert_eq!((i.name.as_str(), i.stamp), ("Grace", Some(7)));
    }

    #[test]
    fn as_new_copies_every_patch_field() {
        assert_eq!(
            item().as_new(),
            NewItem {
                name: "Ada".into(),
                note: Some("first".into()),
                size: 3,
                stamp: Some(1),
            }
        );
    }
}
