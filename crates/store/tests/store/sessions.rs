//! Sessions: scoped to their organization and user, rotated once, revoked
//! by family or by user, gone with their user.

use chrono::{Duration, Utc};
use neuracrm_domain::*;
use neuracrm_store::sessions::NewSession;
use neuracrm_store::users::UserPatch;
use neuracrm_store::{Store, StoreError};

use crate::harness::store;

async fn user(s: &Store, org: OrgId, email: &str, role: Role) -> User {
    s.users()
        .create(
            org,
            None,
            &NewUser {
                email: Email::parse(email).unwrap(),
                name: "U".into(),
                role,
            },
            "h",
        )
        .await
        .unwrap()
}

fn new_session(n: u128, family: u128) -> NewSession {
    NewSession {
        id: SessionId(n),
        family_id: SessionId(family),
        signed_in_at: Utc::now(),
        refresh_hash: format!("{n:064x}"),
        expires_at: Utc::now() + Duration::days(7),
    }
}

#[tokio::test]
async fn sessions_belong_to_their_organization_rotate_once_and_go_with_their_user() {
    let t = store().await;
    let s = &t.store;
    let a = s.organizations().create("A").await.unwrap().id;
    let b = s.organizations().create("B").await.unwrap().id;
    let ua = user(s, a, "u@a.io", Role::Admin).await;
    let ub = user(s, b, "u@b.io", Role::Rep).await;
    let now = Utc::now();
    let sessions = s.sessions();

    // A session of B's user cannot be opened in A.
    let err = sessions
        .open(a, ub.id, &new_session(9, 9), now)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound { .. }), "{err:?}");

    let first = sessions
        .open(a, ua.id, &new_session(1, 1), now)
        .await
        .unwrap();
    assert_eq!((first.organization_id, first.user_id), (a, ua.id));
    assert!(first.is_live(now) && first.rotated_at.is_none());
    let access = sessions
        .access(a, ua.id, first.id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.role, Role::Admin);
    // Another organization, another user, a wrong secret: nothing.
    assert!(
        sessions
            .access(b, ua.id, first.id, None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        sessions
            .access(a, ub.id, first.id, None)
            .await
            .unwrap()
            .is_none()
    );
    let hash = format!("{:064x}", 1);
    assert!(
        sessions
            .access(a, ua.id, first.id, Some(&hash))
            .await
            .unwrap()
            .is_some()
    );
    let wrong = format!("{:064x}", 2);
    assert!(
        sessions
            .access(a, ua.id, first.id, Some(&wrong))
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        sessions.get(b, ua.id, first.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(
        sessions
            .by_refresh(first.id, &hash)
            .await
            .unwrap()
            .unwrap()
            .id,
        first.id
    );
    assert!(
        sessions
            .by_refresh(first.id, &wrong)
            .await
            .unwrap()
            .is_none()
    );

    // The role is read as it is now.
    s.users()
        .update(
            a,
            None,
            ua.id,
            &UserPatch {
                role: Some(Role::Rep),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let access = sessions
        .access(a, ua.id, first.id, None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.role, Role::Rep);

    // One rotation only: the second with the same session changes nothing.
    let second = sessions
        .rotate(a, ua.id, first.id, &new_session(2, 1), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.family_id, first.id);
    assert!(
        sessions
            .rotate(a, ua.id, first.id, &new_session(3, 1), now)
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        sessions.get(a, ua.id, SessionId(3)).await,
        Err(StoreError::NotFound { .. })
    ));
    // The rotated one still authenticates by signature, not by its secret.
    assert!(
        sessions
            .access(a, ua.id, first.id, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        sessions
            .access(a, ua.id, first.id, Some(&hash))
            .await
            .unwrap()
            .is_none()
    );
    let live: Vec<SessionId> = sessions
        .live(a, ua.id, now)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(live, [second.id], "one per family: its current session");

    // A second family; a password change keeps the family of the one given.
    let other = sessions
        .open(a, ua.id, &new_session(4, 4), now)
        .await
        .unwrap();
    s.users()
        .update(
            a,
            None,
            ua.id,
            &UserPatch {
                password_hash: Some("h2".into()),
                keep_session: Some(first.id),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert!(
        sessions
            .access(a, ua.id, second.id, None)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        sessions
            .access(a, ua.id, other.id, None)
            .await
            .unwrap()
            .is_none()
    );
    // Revoking a family revokes its rotated sessions too.
    assert_eq!(sessions.revoke_family(a, first.id, now).await.unwrap(), 2);
    assert!(
        sessions
            .access(a, ua.id, first.id, None)
            .await
            .unwrap()
            .is_none()
    );
    assert!(sessions.live(a, ua.id, now).await.unwrap().is_empty());
    // B's revocations reach nothing of A's.
    let third = sessions
        .open(a, ua.id, &new_session(5, 5), now)
        .await
        .unwrap();
    assert_eq!(sessions.revoke_family(b, third.id, now).await.unwrap(), 0);
    assert_eq!(sessions.revoke_user(b, ua.id, None, now).await.unwrap(), 0);
    assert!(
        sessions
            .access(a, ua.id, third.id, None)
            .await
            .unwrap()
            .is_some()
    );

    // Deleting the user deletes their sessions.
    s.users().delete(a, None, ua.id).await.unwrap();
    assert!(
        sessions
            .by_refresh(third.id, &format!("{:064x}", 5))
            .await
            .unwrap()
            .is_none()
    );
    // Expired sessions are pruned at the user's next sign-in.
    let mut old = new_session(6, 6);
    old.expires_at = now - Duration::seconds(1);
    sessions
        .open(b, ub.id, &old, now - Duration::days(8))
        .await
        .unwrap();
    sessions
        .open(b, ub.id, &new_session(7, 7), now)
        .await
        .unwrap();
    assert!(matches!(
        sessions.get(b, ub.id, SessionId(6)).await,
        Err(StoreError::NotFound { .. })
    ));

    // And by the hourly clean-up, of every organization, without a sign-in;
    // live ones stay.
    for (org, user, id) in [(a, ua2(s, a).await, 8), (b, ub.id, 9)] {
        let mut old = new_session(id, id);
        old.expires_at = now - Duration::seconds(1);
        sessions
            .open(org, user, &old, now - Duration::days(8))
            .await
            .unwrap();
    }
    assert_eq!(sessions.delete_expired_of_all(now).await.unwrap(), 2);
    assert_eq!(sessions.delete_expired_of_all(now).await.unwrap(), 0);
    assert!(sessions.get(b, ub.id, SessionId(7)).await.is_ok(), "live");
}

/// A second user of `org` (the first was deleted above).
async fn ua2(s: &Store, org: OrgId) -> UserId {
    user(s, org, "second@a.io", Role::Rep).await.id
}
