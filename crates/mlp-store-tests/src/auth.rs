//! Auth store conformance: users, grants and tokens behave the same on every back-end. Its own
//! macro, [`auth_conformance_suite!`], so a back-end opts in with the fixture it already has.

use mlp_core::ErrorCode;
use mlp_core::auth::*;

#[macro_export]
macro_rules! auth_conformance_suite {
    ($fixture:ty) => {
        $crate::store_conformance_suite!(@tests $fixture;
            auth::users_create_get_update_delete,
            auth::grants_are_unique_replaceable_and_follow_their_resource,
            auth::tokens_are_found_by_hash_and_owned,
            auth::deleting_a_user_removes_grants_and_tokens,
            auth::job_tokens_are_found_by_hash_and_revoked_with_their_job,
            auth::roles_hold_permissions_and_are_assigned,
        );
    };
}

pub async fn users_create_get_update_delete<S: AuthStore>(s: &S) {
    let a = s.create_user("alice", "$argon2id$h1", false).await.unwrap();
    assert_eq!((a.username.as_str(), a.is_admin), ("alice", false));
    let b = s.create_user("bob", "$argon2id$h2", true).await.unwrap();
    assert_ne!(a.id, b.id);
    let dup = s.create_user("alice", "x", false).await.unwrap_err();
    assert_eq!(dup.code, ErrorCode::ResourceAlreadyExists);
    // Usernames are case-sensitive, as MLflow's are.
    s.create_user("Alice", "x", false).await.unwrap();
    assert_eq!(s.get_user("alice").await.unwrap(), a);
    assert_eq!(s.get_user_by_id(b.id).await.unwrap(), b);
    assert_eq!(
        s.get_user("carol").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    s.update_user("alice", Some("$argon2id$h3"), None).await.unwrap();
    s.update_user("alice", None, Some(true)).await.unwrap();
    let a2 = s.get_user("alice").await.unwrap();
    assert_eq!((a2.password_hash.as_str(), a2.is_admin), ("$argon2id$h3", true));
    assert_eq!(
        s.update_user("carol", None, Some(true)).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    let names: Vec<String> = s.list_users().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["alice", "bob", "Alice"]);
    s.delete_user("bob").await.unwrap();
    assert_eq!(
        s.delete_user("bob").await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert_eq!(s.list_users().await.unwrap().len(), 2);
}

fn grant(user_id: i64, kind: ResourceKind, id: &str, p: Permission) -> Grant {
    Grant {
        user_id,
        kind,
        resource_id: id.into(),
        permission: p,
    }
}

pub async fn grants_are_unique_replaceable_and_follow_their_resource<S: AuthStore>(s: &S) {
    use Permission::*;
    use ResourceKind::*;
    let u = s.create_user("u", "h", false).await.unwrap().id;
    let v = s.create_user("v", "h", false).await.unwrap().id;
    s.put_grant(&grant(u, Experiment, "1", Read), false).await.unwrap();
    let dup = s.put_grant(&grant(u, Experiment, "1", Edit), false).await.unwrap_err();
    assert_eq!(dup.code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(s.get_grant(u, Experiment, "1").await.unwrap(), Some(Read));
    s.put_grant(&grant(u, Experiment, "1", Manage), true).await.unwrap();
    assert_eq!(s.get_grant(u, Experiment, "1").await.unwrap(), Some(Manage));
    // The same id on another kind, or for another user, is another grant.
    assert_eq!(s.get_grant(u, RegisteredModel, "1").await.unwrap(), None);
    assert_eq!(s.get_grant(v, Experiment, "1").await.unwrap(), None);
    s.put_grant(&grant(u, RegisteredModel, "m", Deny), false).await.unwrap();
    s.put_grant(&grant(v, RegisteredModel, "m", Edit), false).await.unwrap();
    s.put_grant(&grant(v, RegisteredModel, "n", Read), false).await.unwrap();
    let missing = s
        .put_grant(&grant(9999, Experiment, "1", Read), false)
        .await
        .unwrap_err();
    assert_eq!(missing.code, ErrorCode::ResourceDoesNotExist);
    assert_eq!(
        s.list_grants(u).await.unwrap(),
        [grant(u, Experiment, "1", Manage), grant(u, RegisteredModel, "m", Deny)]
    );
    // Renaming m to n: v's stale grant on the old n goes, the grants on m move.
    s.rename_resource(RegisteredModel, "m", "n").await.unwrap();
    assert_eq!(s.get_grant(u, RegisteredModel, "m").await.unwrap(), None);
    assert_eq!(s.get_grant(u, RegisteredModel, "n").await.unwrap(), Some(Deny));
    assert_eq!(s.get_grant(v, RegisteredModel, "n").await.unwrap(), Some(Edit));
    s.delete_resource_grants(RegisteredModel, "n").await.unwrap();
    assert_eq!(s.get_grant(v, RegisteredModel, "n").await.unwrap(), None);
    s.delete_grant(u, Experiment, "1").await.unwrap();
    let gone = s.delete_grant(u, Experiment, "1").await.unwrap_err();
    assert_eq!(gone.code, ErrorCode::ResourceDoesNotExist);
    assert!(s.list_grants(u).await.unwrap().is_empty());
}

pub async fn tokens_are_found_by_hash_and_owned<S: AuthStore>(s: &S) {
    let u = s.create_user("u", "h", false).await.unwrap();
    let v = s.create_user("v", "h", false).await.unwrap();
    let t1 = Token {
        id: "t1".into(),
        user_id: u.id,
        name: "laptop".into(),
        created_at: 1000,
        expires_at: None,
    };
    let t2 = Token {
        id: "t2".into(),
        user_id: u.id,
        name: "ci".into(),
        created_at: 2000,
        expires_at: Some(5000),
    };
    s.create_token(&t1, "hash1").await.unwrap();
    s.create_token(&t2, "hash2").await.unwrap();
    assert_eq!(s.list_tokens(u.id).await.unwrap(), [t1.clone(), t2.clone()]);
    assert!(s.list_tokens(v.id).await.unwrap().is_empty());
    assert_eq!(s.find_token("hash2").await.unwrap(), Some((t2.clone(), u.clone())));
    assert_eq!(s.find_token("nope").await.unwrap(), None);
    // Only the owner revokes.
    let other = s.delete_token(v.id, "t1").await.unwrap_err();
    assert_eq!(other.code, ErrorCode::ResourceDoesNotExist);
    s.delete_token(u.id, "t1").await.unwrap();
    assert_eq!(s.find_token("hash1").await.unwrap(), None);
    assert_eq!(s.list_tokens(u.id).await.unwrap(), [t2]);
}

pub async fn deleting_a_user_removes_grants_and_tokens<S: AuthStore>(s: &S) {
    let u = s.create_user("u", "h", false).await.unwrap();
    s.put_grant(&grant(u.id, ResourceKind::Experiment, "1", Permission::Edit), false)
        .await
        .unwrap();
    let t = Token {
        id: "t".into(),
        user_id: u.id,
        name: "n".into(),
        created_at: 1,
        expires_at: None,
    };
    s.create_token(&t, "hash").await.unwrap();
    s.delete_user("u").await.unwrap();
    assert_eq!(s.find_token("hash").await.unwrap(), None);
    // A new user of the same name starts with nothing.
    let u2 = s.create_user("u", "h", false).await.unwrap();
    assert!(s.list_grants(u2.id).await.unwrap().is_empty());
    assert!(s.list_grants(u.id).await.unwrap().is_empty());
}

pub async fn job_tokens_are_found_by_hash_and_revoked_with_their_job<S: AuthStore>(s: &S) {
    let t = |job: &str, expires_at| JobToken {
        job_id: job.into(),
        run_id: format!("run-{job}"),
        experiment_id: "7".into(),
        expires_at,
        owner: (job == "a").then(|| "alice".to_string()),
    };
    s.create_job_token(&t("a", 10_000), "ha").await.unwrap();
    s.create_job_token(&t("b", 10_000), "hb").await.unwrap();
    s.create_job_token(&t("old", 1_000), "hold").await.unwrap();
    assert_eq!(s.find_job_token("ha").await.unwrap(), Some(t("a", 10_000)));
    assert_eq!(s.find_job_token("nope").await.unwrap(), None);
    // Revoking a's drops a's and every expired one, and leaves b's.
    s.delete_job_tokens("a", 5_000).await.unwrap();
    assert_eq!(s.find_job_token("ha").await.unwrap(), None);
    assert_eq!(s.find_job_token("hold").await.unwrap(), None);
    assert_eq!(s.find_job_token("hb").await.unwrap(), Some(t("b", 10_000)));
}

pub async fn roles_hold_permissions_and_are_assigned<S: AuthStore>(s: &S) {
    let u = s.create_user("u", "h", false).await.unwrap();
    let r = s.create_role("writers", "default", Some("w")).await.unwrap();
    let dup = s.create_role("writers", "default", None).await.unwrap_err();
    assert_eq!(dup.code, ErrorCode::ResourceAlreadyExists);
    let p1 = s
        .add_role_permission(r.id, "experiment", "7", Permission::Edit)
        .await
        .unwrap();
    let p2 = s
        .add_role_permission(r.id, "registered_model", "*", Permission::Deny)
        .await
        .unwrap();
    let again = s
        .add_role_permission(r.id, "experiment", "7", Permission::Read)
        .await
        .unwrap_err();
    assert_eq!(again.code, ErrorCode::ResourceAlreadyExists);
    assert_eq!(s.get_role(r.id).await.unwrap().permissions, [p1.clone(), p2.clone()]);
    let p1 = s.update_role_permission(p1.id, Permission::Manage).await.unwrap();
    assert_eq!(p1.permission, Permission::Manage);
    let a = s.assign_role(u.id, r.id).await.unwrap();
    assert_eq!(
        s.assign_role(u.id, r.id).await.unwrap_err().code,
        ErrorCode::ResourceAlreadyExists
    );
    assert_eq!(s.list_role_users(r.id).await.unwrap(), [a]);
    let roles = s.list_user_roles(u.id).await.unwrap();
    assert_eq!(roles.len(), 1);
    assert_eq!(roles[0].permissions, [p1, p2.clone()]);
    let renamed = s.update_role(r.id, Some("editors"), None).await.unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.description.as_deref()),
        ("editors", Some("w"))
    );
    s.remove_role_permission(p2.id).await.unwrap();
    assert_eq!(
        s.remove_role_permission(p2.id).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    s.unassign_role(u.id, r.id).await.unwrap();
    assert!(s.list_user_roles(u.id).await.unwrap().is_empty());
    s.assign_role(u.id, r.id).await.unwrap();
    // Deleting the role takes its permissions and assignments with it.
    s.delete_role(r.id).await.unwrap();
    assert_eq!(
        s.get_role(r.id).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
    assert!(s.list_user_roles(u.id).await.unwrap().is_empty());
    assert_eq!(
        s.assign_role(u.id, r.id).await.unwrap_err().code,
        ErrorCode::ResourceDoesNotExist
    );
}
