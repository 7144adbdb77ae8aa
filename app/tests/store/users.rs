use app::server::{
    Backend, CoreError,
    audit::Actor,
    db, password,
    testing::{Arg::*, TestDb},
    users::{self, NewUser},
};
use app::types::Role;
use secrecy::SecretString;

use crate::on_both_backends;

on_both_backends!(
    users_are_unique_case_insensitively_and_passwords_are_argon2id,
    the_first_admin_is_created_once_even_when_replicas_race,
    a_password_reset_ends_every_session,
    listing_searches_and_pages,
);

fn new_user(name: &str, password: Option<&str>) -> NewUser {
    NewUser {
        username: name.to_owned(),
        email: None,
        role: Role::User,
        password: password.map(|p| SecretString::from(p.to_owned())),
        must_change_password: false,
    }
}

async fn users_are_unique_case_insensitively_and_passwords_are_argon2id(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (alice, generated) = users::create(
        &t.db,
        Actor::Console,
        new_user("Alice", Some("a long enough password")),
    )
    .await
    .unwrap();
    assert!(generated.is_none());
    assert_eq!(alice.username, "Alice");
    assert_eq!(alice.role, Role::User);

    let found = db::users::find_by_username(&t.db, "aLiCe")
        .await
        .unwrap()
        .expect("found");
    assert_eq!(found.user_id, alice.user_id);
    let hash = found.password_hash.expect("hash stored");
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("a long enough password"));
    assert!(
        password::verify(SecretString::from("a long enough password"), hash.clone())
            .await
            .unwrap()
    );

    let dup = users::create(
        &t.db,
        Actor::Console,
        new_user("ALICE", Some("another long password")),
    )
    .await;
    assert!(matches!(dup, Err(CoreError::Conflict(_))), "{dup:?}");

    let short = users::create(&t.db, Actor::Console, new_user("bob", Some("short"))).await;
    assert!(
        matches!(
            short,
            Err(CoreError::Invalid {
                field: "password",
                ..
            })
        ),
        "{short:?}"
    );
    assert!(
        db::users::find_by_username(&t.db, "bob")
            .await
            .unwrap()
            .is_none(),
        "nothing half-written"
    );

    let (_, generated) = users::create(&t.db, Actor::Console, new_user("carol", None))
        .await
        .unwrap();
    let generated = generated.expect("a password was generated");
    let carol = db::users::find_by_username(&t.db, "carol")
        .await
        .unwrap()
        .unwrap();
    assert!(
        password::verify(generated, carol.password_hash.unwrap())
            .await
            .unwrap()
    );
    t.drop_db().await;
}

async fn the_first_admin_is_created_once_even_when_replicas_race(backend: Backend) {
    let t = TestDb::new(backend).await;
    let attempts = (0..4).map(|_| {
        let db = t.db.clone();
        tokio::spawn(async move { users::ensure_initial_admin(&db).await })
    });
    let mut created = 0;
    for a in attempts {
        if a.await.unwrap().unwrap().is_some() {
            created += 1;
        }
    }
    assert_eq!(created, 1, "exactly one start creates the admin");
    assert!(users::ensure_initial_admin(&t.db).await.unwrap().is_none());
    let admin = db::users::find_by_username(&t.db, "admin")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(admin.role, "admin");
    assert!(admin.must_change_password);
    assert_eq!(t.scalar("select count(*) from app_user", &[]).await, 1);
    t.drop_db().await;
}

async fn a_password_reset_ends_every_session(backend: Backend) {
    let t = TestDb::new(backend).await;
    let (dave, _) = users::create(
        &t.db,
        Actor::Console,
        new_user("dave", Some("the first password")),
    )
    .await
    .unwrap();
    let uid: &'static str = Box::leak(dave.user_id.clone().into_boxed_str());
    for family in ["f1", "f2"] {
        t.exec(
            "insert into refresh_family (family_id, user_id, created_at, last_used_at, expires_at) values ($1, $2, $3, $3, $3)",
            &[Text(family), Text(uid), Now],
        )
        .await
        .unwrap();
    }
    let before = db::users::find_by_id(&t.db, uid).await.unwrap().unwrap();

    let (after, generated) = users::reset_password(&t.db, Actor::Console, "DAVE", None)
        .await
        .unwrap();
    assert!(after.must_change_password);
    let row = db::users::find_by_id(&t.db, uid).await.unwrap().unwrap();
    assert_eq!(
        row.token_version,
        before.token_version + 1,
        "old access tokens stop working"
    );
    assert!(
        password::verify(generated.unwrap(), row.password_hash.clone().unwrap())
            .await
            .unwrap()
    );
    assert!(
        !password::verify(
            SecretString::from("the first password"),
            row.password_hash.unwrap()
        )
        .await
        .unwrap()
    );
    let open = t
        .scalar(
            "select count(*) from refresh_family where user_id = $1 and revoked_at is null",
            &[Text(uid)],
        )
        .await;
    assert_eq!(open, 0);

    let missing = users::reset_password(&t.db, Actor::Console, "nobody", None).await;
    assert!(
        matches!(missing, Err(CoreError::NotFound("user"))),
        "{missing:?}"
    );
    t.drop_db().await;
}

async fn listing_searches_and_pages(backend: Backend) {
    let t = TestDb::new(backend).await;
    for name in ["erin", "frank", "Fiona", "george_x", "george%"] {
        let mut u = new_user(name, Some("a long enough password"));
        u.email = (name == "erin").then(|| "erin@example.org".to_owned());
        if name.contains('%') {
            // Refused by the username rules, so `%` can only ever arrive in a search.
            assert!(users::create(&t.db, Actor::Console, u).await.is_err());
            continue;
        }
        users::create(&t.db, Actor::Console, u).await.unwrap();
    }
    let names =
        |v: Vec<app::types::UserInfo>| v.into_iter().map(|u| u.username).collect::<Vec<_>>();
    assert_eq!(
        names(users::list(&t.db, None, 100, 0).await.unwrap()),
        ["erin", "Fiona", "frank", "george_x"]
    );
    assert_eq!(
        names(users::list(&t.db, Some("F"), 100, 0).await.unwrap()),
        ["Fiona", "frank"]
    );
    assert_eq!(
        names(
            users::list(&t.db, Some("example.org"), 100, 0)
                .await
                .unwrap()
        ),
        ["erin"]
    );
    // LIKE wildcards in a search are taken literally.
    assert_eq!(
        names(users::list(&t.db, Some("_"), 100, 0).await.unwrap()),
        ["george_x"]
    );
    assert!(
        users::list(&t.db, Some("%"), 100, 0)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        names(users::list(&t.db, None, 2, 1).await.unwrap()),
        ["Fiona", "frank"]
    );
    t.drop_db().await;
}
