use app::server::{
    Backend,
    audit::{self, Actor, Event},
    db,
    testing::TestDb,
};
use serde_json::json;

use crate::on_both_backends;

on_both_backends!(audit_entries_are_kept_newest_first_and_filtered_by_action);

async fn audit_entries_are_kept_newest_first_and_filtered_by_action(backend: Backend) {
    let t = TestDb::new(backend).await;
    let admin = Actor::User {
        user_id: "u-admin".into(),
        username: "root".into(),
    };
    audit::record(
        &t.db,
        &Event::new(admin.clone(), "user.create").target("user", "u1"),
    )
    .await
    .unwrap();
    let mut failed = Event::new(Actor::Console, "auth.login").details(json!({ "username": "x" }));
    failed.success = false;
    failed.client_addr = Some("192.0.2.7".into());
    audit::record(&t.db, &failed).await.unwrap();
    audit::record(
        &t.db,
        &Event::new(admin, "user.delete").target("user", "u1"),
    )
    .await
    .unwrap();

    let all = db::audit::list(&t.db, None, 10, 0).await.unwrap();
    let actions: Vec<_> = all.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(actions, ["user.delete", "auth.login", "user.create"]);
    let login = &all[1];
    assert!(!login.success);
    assert_eq!(login.actor_username.as_deref(), Some("console"));
    assert_eq!(login.client_addr.as_deref(), Some("192.0.2.7"));
    let details: serde_json::Value =
        serde_json::from_str(login.details.as_deref().unwrap()).unwrap();
    assert_eq!(details, json!({ "username": "x" }));

    let creates = db::audit::list(&t.db, Some("user.create"), 10, 0)
        .await
        .unwrap();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0].actor_user_id.as_deref(), Some("u-admin"));
    assert_eq!(creates[0].target_id.as_deref(), Some("u1"));
    assert_eq!(
        db::audit::list(&t.db, None, 1, 1).await.unwrap()[0].action,
        "auth.login"
    );
    t.drop_db().await;
}
