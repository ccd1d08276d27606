//! Sign-in sessions: what a login opens and what every authenticated request
//! checks.
//!
//! A login opens a session *family*; each refresh replaces the family's
//! current session with a new one (a new id and a new refresh secret) and
//! marks the old one rotated. A session is live while neither it nor its
//! family was revoked and it has not expired. Front ends decide how a client
//! proves its session (a signed access token naming it, a cookie carrying its
//! secret); the sessions themselves are the same.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{OrgId, UserId};

/// A session's opaque id: 128 random bits, written as 32 lowercase hex
/// digits. Random, so it names a session without saying anything about it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub u128);

impl SessionId {
    /// The id from its 16 random bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        SessionId(u128::from_be_bytes(b))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// The text is not 32 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a session id is 32 lowercase hexadecimal digits")]
pub struct BadSessionId;

impl FromStr for SessionId {
    type Err = BadSessionId;

    /// Exactly the form [`SessionId`] is written in (one spelling per id).
    fn from_str(s: &str) -> Result<Self, BadSessionId> {
        if s.len() != 32 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(BadSessionId);
        }
        u128::from_str_radix(s, 16)
            .map(SessionId)
            .map_err(|_| BadSessionId)
    }
}

impl Serialize for SessionId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for SessionId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One session of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Its id (an access token names it as `sid`).
    pub id: SessionId,
    /// The organization of its user.
    pub organization_id: OrgId,
    /// Whose session it is.
    pub user_id: UserId,
    /// The family: the id of the first session of the login this one
    /// descends from by refreshes. Revocation revokes a whole family.
    pub family_id: SessionId,
    /// When the family's login happened.
    pub signed_in_at: DateTime<Utc>,
    /// When this session was opened (the login, or the refresh that made it).
    pub created_at: DateTime<Utc>,
    /// When a request last used it (moved forward at most once a minute).
    pub last_used_at: DateTime<Utc>,
    /// When it expires unless refreshed before.
    pub expires_at: DateTime<Utc>,
    /// When a refresh replaced it by the next session of its family; its
    /// refresh secret presented after that is a reuse.
    pub rotated_at: Option<DateTime<Utc>>,
    /// When it was revoked (logout, an admin, a password change, a reused
    /// refresh secret).
    pub revoked_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether it may still authenticate requests at `now` (a rotated
    /// session may: access tokens issued before the refresh stay valid until
    /// they expire).
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_one_spelling() {
        let id = SessionId(0x0123_4567_89ab_cdef_0011_2233_4455_6677);
        let text = id.to_string();
        assert_eq!(text, "0123456789abcdef0011223344556677");
        assert_eq!(text.parse::<SessionId>().unwrap(), id);
        assert_eq!(SessionId(1).to_string().len(), 32, "zero-padded");
        for bad in [
            "",
            "0123456789ABCDEF0011223344556677",
            "0123456789abcdef001122334455667",
            "0123456789abcdef00112233445566778",
            "+123456789abcdef0011223344556677",
            "0123456789abcdef001122334455667g",
        ] {
            assert!(bad.parse::<SessionId>().is_err(), "{bad}");
        }
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{text}\""));
        assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
    }
}
