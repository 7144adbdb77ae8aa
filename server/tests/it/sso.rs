//! Signing in through an OpenID Connect provider (the mock in `mock_idp`), end to end through
//! the real router: the flow, every check on what comes back, and the registration rules.

use app::server::{Backend, testing::count_db_uses};
use app::types::{Registration, Role};
use axum::http::StatusCode;
use serde_json::json;

use crate::{
    mock_idp::{MockIdp, Person, Tamper},
    on_both_backends,
    sso_support::{
        app_with, arrive, at_provider, bearer_on_v1, begin, hand_off, last_failure, provider,
        provider_with_kind, settings, sign_in,
    },
};

on_both_backends!(
    an_external_sign_in_ends_in_our_own_session,
    each_registration_mode_admits_whom_it_should,
    an_invite_works_once,
    an_invite_for_an_account_links_it,
    two_sign_ins_racing_with_one_invite_make_one_account,
);

async fn an_external_sign_in_ends_in_our_own_session(backend: Backend) {
    let idp = MockIdp::start().await;
    let app = app_with(
        backend,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let a = begin(&app, "mock", "?next=/keys").await;
    assert!(
        a.authorize
            .starts_with(&format!("{}/authorize?", idp.issuer))
    );
    for p in [
        "state=",
        "nonce=",
        "code_challenge=",
        "code_challenge_method=S256",
        "scope=openid",
    ] {
        assert!(a.authorize.contains(p), "{p} missing from {}", a.authorize);
    }
    let callback = at_provider(&a.authorize).await;
    let location = arrive(&app, &callback, Some(&a.cookie)).await;
    assert!(location.starts_with("/login/sso#code="), "{location}");
    let r = hand_off(&app, &location).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["next"], "/keys");
    let session = &r.body["session"];
    assert_eq!(session["user"]["username"], "alice");
    assert_eq!(session["user"]["email"], "alice@example.com");
    assert_eq!(session["user"]["has_password"], false);
    assert_eq!(session["user"]["role"], "user");
    let access = session["access_token"].as_str().unwrap();
    let me = app.call("/api/auth/me", json!({}), Some(access)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(
        session["refresh_token"]
            .as_str()
            .unwrap()
            .starts_with("pcr_")
    );

    // The hand-off code worked once.
    hand_off(&app, &location)
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
    // The same person again is the same account, matched by subject.
    let again = sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(
        again["session"]["user"]["user_id"],
        session["user"]["user_id"]
    );
    assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 1);
    let logins = app
        .db
        .scalar(
            "select count(*) from audit_log where action = 'auth.login' and success \
             and details like '%\"sso\"%'",
            &[],
        )
        .await;
    assert_eq!(logins, 2);
    // A password change is refused with a reason: there is no password.
    let r = app
        .call(
            "/api/auth/change_password",
            json!({ "current_password": "x", "new_password": "a new long password" }),
            Some(access),
        )
        .await;
    r.assert_error(StatusCode::CONFLICT, "refused");
}

#[tokio::test]
async fn a_wrong_replayed_or_foreign_state_is_refused() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;

    let a = begin(&app, "mock", "").await;
    let callback = at_provider(&a.authorize).await;
    let forged = callback.replace("state=", "state=x");
    assert_eq!(
        arrive(&app, &forged, Some(&a.cookie)).await,
        "/login?sso_error=state"
    );

    // Another browser (no cookie) cannot finish someone else's attempt: login CSRF.
    let b = begin(&app, "mock", "").await;
    let callback = at_provider(&b.authorize).await;
    assert_eq!(
        arrive(&app, &callback, None).await,
        "/login?sso_error=state"
    );
    // The attempt is gone after one try, even with the right cookie.
    assert_eq!(
        arrive(&app, &callback, Some(&b.cookie)).await,
        "/login?sso_error=state"
    );

    // A good attempt, then its callback replayed.
    let c = begin(&app, "mock", "").await;
    let callback = at_provider(&c.authorize).await;
    assert!(
        arrive(&app, &callback, Some(&c.cookie))
            .await
            .starts_with("/login/sso#code=")
    );
    assert_eq!(
        arrive(&app, &callback, Some(&c.cookie)).await,
        "/login?sso_error=state"
    );

    // The cookie of one attempt does not open another.
    let d = begin(&app, "mock", "").await;
    let e = begin(&app, "mock", "").await;
    let callback = at_provider(&e.authorize).await;
    let d_value = d.cookie.split_once('=').unwrap().1;
    let e_name = e.cookie.split_once('=').unwrap().0;
    assert_eq!(
        arrive(&app, &callback, Some(&format!("{e_name}={d_value}"))).await,
        "/login?sso_error=state"
    );
    assert!(last_failure(&app).await.contains("another browser"));
    assert_eq!(
        idp.token_requests(),
        1,
        "only the good attempt reached the token endpoint"
    );
    assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 1);
}

#[tokio::test]
async fn a_replayed_code_is_refused_by_the_provider() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let a = begin(&app, "mock", "").await;
    let first = at_provider(&a.authorize).await;
    assert!(
        arrive(&app, &first, Some(&a.cookie))
            .await
            .starts_with("/login/sso#code=")
    );
    let code = first
        .split("code=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_owned();

    // A fresh attempt carrying the used code.
    let b = begin(&app, "mock", "").await;
    let second = at_provider(&b.authorize).await;
    let state = second.split("state=").nth(1).unwrap();
    let replay = format!("/auth/sso/mock/callback?code={code}&state={state}");
    assert_eq!(
        arrive(&app, &replay, Some(&b.cookie)).await,
        "/login?sso_error=provider"
    );
    assert!(last_failure(&app).await.contains("invalid_grant"));
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    for (tamper, reason) in [
        (Tamper::WrongNonce, "nonce"),
        (Tamper::WrongIssuer, "Issuer"),
        (Tamper::WrongAudience, "Audience"),
        (Tamper::Expired, "Expired"),
        (Tamper::UnknownKey, "does not publish"),
        (Tamper::ForgedSignature, "Signature"),
    ] {
        idp.tamper(tamper);
        assert_eq!(
            sign_in(&app, "mock", "").await.unwrap_err(),
            "token",
            "{tamper:?}"
        );
        let why = last_failure(&app).await;
        assert!(
            why.to_lowercase().contains(&reason.to_lowercase()),
            "{tamper:?}: {why}"
        );
    }
    assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 0);
    idp.tamper(Tamper::None);
    sign_in(&app, "mock", "").await.unwrap();
}

#[tokio::test]
async fn rotated_keys_are_fetched_but_unknown_key_ids_do_not_flood_the_provider() {
    let idp = MockIdp::start().await;
    let mut s = settings(Registration::Open, vec![provider(&idp, "mock")]);
    s.jwks_min_refresh = std::time::Duration::from_secs(3600);
    let app = app_with(Backend::Sqlite, s).await;
    sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(idp.jwks_fetches(), 1);
    idp.tamper(Tamper::UnknownKey);
    for _ in 0..3 {
        assert_eq!(sign_in(&app, "mock", "").await.unwrap_err(), "token");
    }
    assert_eq!(idp.jwks_fetches(), 1, "refetches wait for the floor");

    // With the floor passed, a new key id refetches once and the rotated key verifies.
    let mut s = settings(Registration::Open, vec![provider(&idp, "mock")]);
    s.jwks_min_refresh = std::time::Duration::ZERO;
    let app = app_with(Backend::Sqlite, s).await;
    idp.tamper(Tamper::None);
    sign_in(&app, "mock", "").await.unwrap();
    let before = idp.jwks_fetches();
    idp.publish_second_key();
    idp.tamper(Tamper::UnknownKey);
    sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(idp.jwks_fetches(), before + 1);
}

async fn each_registration_mode_admits_whom_it_should(backend: Backend) {
    let idp = MockIdp::start().await;
    let closed = app_with(
        backend,
        settings(Registration::Closed, vec![provider(&idp, "mock")]),
    )
    .await;
    assert_eq!(
        sign_in(&closed, "mock", "").await.unwrap_err(),
        "registration_closed"
    );
    let invite = app_with(
        backend,
        settings(Registration::Invite, vec![provider(&idp, "mock")]),
    )
    .await;
    assert_eq!(
        sign_in(&invite, "mock", "").await.unwrap_err(),
        "invite_required"
    );
    for app in [&closed, &invite] {
        assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 0);
    }

    let mut open = settings(Registration::Open, vec![provider(&idp, "mock")]);
    open.allowed_email_domains = vec!["example.com".into()];
    let open = app_with(backend, open).await;
    idp.person(Person::new("sub-mallory", "mallory@elsewhere.org"));
    assert_eq!(sign_in(&open, "mock", "").await.unwrap_err(), "domain");
    let mut unverified = Person::new("sub-ursula", "ursula@example.com");
    unverified.email_verified = false;
    idp.person(unverified);
    assert_eq!(
        sign_in(&open, "mock", "").await.unwrap_err(),
        "email_unverified"
    );
    idp.person(Person::new("sub-olga", "olga@example.com"));
    sign_in(&open, "mock", "").await.unwrap();

    let approval = app_with(
        backend,
        settings(Registration::Approval, vec![provider(&idp, "mock")]),
    )
    .await;
    idp.person(Person::new("sub-pat", "pat@example.com"));
    assert_eq!(sign_in(&approval, "mock", "").await.unwrap_err(), "pending");
    assert_eq!(sign_in(&approval, "mock", "").await.unwrap_err(), "pending");
    let (_, admin) = approval.admin().await;
    let users = approval
        .call("/api/users/list", json!({}), Some(&admin))
        .await;
    let pat = users.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "pat")
        .unwrap()
        .clone();
    assert_eq!(
        (pat["enabled"].clone(), pat["awaiting_approval"].clone()),
        (json!(false), json!(true))
    );
    let r = approval
        .call(
            "/api/users/approve",
            json!({ "user_id": pat["user_id"] }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["enabled"], true);
    sign_in(&approval, "mock", "").await.unwrap();
    approval
        .call(
            "/api/users/approve",
            json!({ "user_id": pat["user_id"] }),
            Some(&admin),
        )
        .await
        .assert_error(StatusCode::CONFLICT, "refused");
    // Enabling by hand approves as well.
    idp.person(Person::new("sub-quinn", "quinn@example.com"));
    assert_eq!(sign_in(&approval, "mock", "").await.unwrap_err(), "pending");
    let quinn = approval
        .db
        .text("select user_id from app_user where username = 'quinn'", &[])
        .await
        .unwrap();
    let r = approval
        .call(
            "/api/users/update",
            json!({ "user_id": quinn, "enabled": true }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.body["awaiting_approval"], false, "{}", r.body);
    sign_in(&approval, "mock", "").await.unwrap();
    let approved = approval
        .db
        .scalar(
            "select count(*) from audit_log where action = 'user.approve'",
            &[],
        )
        .await;
    assert_eq!(approved, 1);
}

async fn an_invite_works_once(backend: Backend) {
    let idp = MockIdp::start().await;
    let app = app_with(
        backend,
        settings(Registration::Invite, vec![provider(&idp, "mock")]),
    )
    .await;
    let (_, admin) = app.admin().await;
    let r = app
        .call(
            "/api/invites/create",
            json!({ "invite": { "role": "admin", "note": "new ops", "expires_in_hours": 24 } }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = r.str("link");
    let token = link.rsplit('/').next().unwrap().to_owned();
    assert!(token.starts_with("pci_") && link.starts_with("http://127.0.0.1:8080/invite/"));
    let preview = app
        .call("/api/invites/preview", json!({ "token": token }), None)
        .await;
    assert_eq!(preview.body["usable"], true, "{}", preview.body);

    idp.person(Person::new("sub-ines", "ines@example.com"));
    let s = sign_in(&app, "mock", &format!("?invite={token}"))
        .await
        .unwrap();
    assert_eq!(s["session"]["user"]["role"], "admin");
    idp.person(Person::new("sub-jack", "jack@example.com"));
    assert_eq!(
        sign_in(&app, "mock", &format!("?invite={token}"))
            .await
            .unwrap_err(),
        "invite_invalid"
    );
    let preview = app
        .call("/api/invites/preview", json!({ "token": token }), None)
        .await;
    assert_eq!(preview.body["usable"], false);
    let list = app.call("/api/invites/list", json!({}), Some(&admin)).await;
    assert_eq!(list.body[0]["status"], "used", "{}", list.body);
    assert_eq!(list.body[0]["used_by"], "ines");
    let id = list.body[0]["invite_id"].as_str().unwrap().to_owned();
    app.call(
        "/api/invites/revoke",
        json!({ "invite_id": id }),
        Some(&admin),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");

    // A revoked invite, and one for another email, do not work either.
    let r = app
        .call(
            "/api/invites/create",
            json!({ "invite": { "role": "user" } }),
            Some(&admin),
        )
        .await;
    let token = r.str("link").rsplit('/').next().unwrap().to_owned();
    let id = r.body["invite"]["invite_id"].clone();
    let ok = app
        .call(
            "/api/invites/revoke",
            json!({ "invite_id": id }),
            Some(&admin),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(
        sign_in(&app, "mock", &format!("?invite={token}"))
            .await
            .unwrap_err(),
        "invite_invalid"
    );
    let r = app
        .call(
            "/api/invites/create",
            json!({ "invite": { "role": "user", "email": "kim@example.com" } }),
            Some(&admin),
        )
        .await;
    let token = r.str("link").rsplit('/').next().unwrap().to_owned();
    assert_eq!(
        sign_in(&app, "mock", &format!("?invite={token}"))
            .await
            .unwrap_err(),
        "invite_invalid"
    );
    idp.person(Person::new("sub-kim", "KIM@example.com"));
    sign_in(&app, "mock", &format!("?invite={token}"))
        .await
        .unwrap();

    // Only administrators manage invites.
    app.user("plain", Role::User, "plain user password", false)
        .await;
    let (plain, _) = app.login("plain", "plain user password").await;
    app.call("/api/invites/list", json!({}), Some(&plain))
        .await
        .assert_error(StatusCode::FORBIDDEN, "forbidden");
}

async fn an_invite_for_an_account_links_it(backend: Backend) {
    let idp = MockIdp::start().await;
    let mut p = provider(&idp, "mock");
    p.link_verified_email = false;
    let app = app_with(backend, settings(Registration::Closed, vec![p])).await;
    let (_, admin) = app.admin().await;
    let bob = app
        .user("bob", Role::User, "bob's long password", false)
        .await;
    let r = app
        .call(
            "/api/invites/create",
            json!({ "invite": { "role": "user", "user_id": bob } }),
            Some(&admin),
        )
        .await;
    let token = r.str("link").rsplit('/').next().unwrap().to_owned();
    idp.person(Person::new("sub-robert", "robert@corp.example"));
    let s = sign_in(&app, "mock", &format!("?invite={token}"))
        .await
        .unwrap();
    assert_eq!(s["session"]["user"]["user_id"], bob.as_str());
    // From now on the identity signs in to bob without an invite.
    let s = sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(s["session"]["user"]["username"], "bob");
    let ids = app
        .call(
            "/api/users/identities",
            json!({ "user_id": bob }),
            Some(&admin),
        )
        .await;
    assert_eq!(ids.body[0]["subject"], "sub-robert", "{}", ids.body);
    let r = app
        .call(
            "/api/users/unlink_identity",
            json!({ "user_id": bob, "provider": "mock", "subject": "sub-robert" }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        sign_in(&app, "mock", "").await.unwrap_err(),
        "registration_closed"
    );
}

#[tokio::test]
async fn an_existing_email_is_linked_only_by_the_explicit_rule() {
    let idp = MockIdp::start().await;
    let strict = provider(&idp, "strict");
    let mut trusting = provider(&idp, "trusting");
    trusting.link_verified_email = true;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![strict, trusting]),
    )
    .await;
    let (_, admin) = app.admin().await;
    let carol = app
        .user("carol", Role::User, "carol's long password", false)
        .await;
    let r = app
        .call(
            "/api/users/update",
            json!({ "user_id": carol, "email": "carol@example.com" }),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Someone at the provider named `carol` with carol's email, unverified: not carol.
    let mut p = Person::new("sub-c1", "carol@example.com");
    p.preferred_username = Some("carol".into());
    p.email_verified = false;
    idp.person(p.clone());
    assert_eq!(
        sign_in(&app, "trusting", "").await.unwrap_err(),
        "email_unverified"
    );
    // Verified, but through a provider not trusted to link: refused, not merged.
    p.email_verified = true;
    idp.person(p);
    assert_eq!(
        sign_in(&app, "strict", "").await.unwrap_err(),
        "email_taken"
    );
    let s = sign_in(&app, "trusting", "").await.unwrap();
    assert_eq!(s["session"]["user"]["user_id"], carol.as_str());
    let linked = app
        .db
        .scalar(
            "select count(*) from audit_log where action = 'user.link_identity'",
            &[],
        )
        .await;
    assert_eq!(linked, 1);
}

#[tokio::test]
async fn claims_grant_the_admin_role_and_the_models() {
    let idp = MockIdp::start().await;
    let mut p = provider(&idp, "mock");
    p.admin_groups = vec!["ops".into()];
    p.allowed_groups = vec!["ops".into(), "staff".into()];
    p.models_claim = Some("portcullis.models".into());
    let mut s = settings(Registration::Open, vec![p]);
    s.admin_emails = vec!["boss@example.com".into()];
    let app = app_with(Backend::Sqlite, s).await;
    app.admin().await;

    let mut dana = Person::new("sub-dana", "dana@example.com");
    dana.groups = vec!["ops".into()];
    dana.extra = json!({ "portcullis": { "models": ["llama", "qwen"] } });
    idp.person(dana.clone());
    let s = sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(s["session"]["user"]["role"], "admin");
    assert_eq!(s["session"]["user"]["all_models"], false);
    let access = s["session"]["access_token"].as_str().unwrap();
    let me = app.call("/api/auth/me", json!({}), Some(access)).await;
    assert_eq!(me.body["models"], json!(["llama", "qwen"]));

    // Out of the admin group: the role follows; the models claim changed: so do they.
    dana.groups = vec!["staff".into()];
    dana.extra = json!({ "portcullis": { "models": ["qwen"] } });
    idp.person(dana.clone());
    let s = sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(s["session"]["user"]["role"], "user");
    let access = s["session"]["access_token"].as_str().unwrap();
    let me = app.call("/api/auth/me", json!({}), Some(access)).await;
    assert_eq!(me.body["models"], json!(["qwen"]));

    dana.groups = vec![];
    idp.person(dana);
    assert_eq!(sign_in(&app, "mock", "").await.unwrap_err(), "not_allowed");

    let mut boss = Person::new("sub-boss", "boss@example.com");
    boss.groups = vec!["staff".into()];
    idp.person(boss);
    let s = sign_in(&app, "mock", "").await.unwrap();
    assert_eq!(s["session"]["user"]["role"], "admin");
}

#[tokio::test]
async fn the_sign_in_page_learns_its_options_and_passwords_can_be_turned_off() {
    let idp = MockIdp::start().await;
    let mut s = settings(Registration::Invite, vec![provider(&idp, "mock")]);
    s.password_login = false;
    let app = app_with(Backend::Sqlite, s).await;
    app.user("eve", Role::User, "eve's long password", false)
        .await;
    let r = app.call("/api/auth/sign_in_methods", json!({}), None).await;
    assert_eq!(
        r.body,
        json!({
            "password_login": false,
            "providers": [{ "name": "mock", "display_name": "Mock mock" }],
            "registration": "invite",
        })
    );
    app.call(
        "/api/auth/login",
        json!({ "username": "eve", "password": "eve's long password" }),
        None,
    )
    .await
    .assert_error(StatusCode::CONFLICT, "refused");
    // An unknown provider lands on the sign-in page with a reason.
    let req = axum::http::Request::get("/auth/sso/nope/start")
        .body(axum::body::Body::empty())
        .unwrap();
    let r = app.send(req, "127.0.0.1:40000").await;
    assert_eq!(r.headers["location"], "/login?sso_error=unknown_provider");
}

#[tokio::test]
async fn github_sign_in_matches_by_account_id_and_maps_organisations() {
    use crate::mock_github::{CLIENT_ID, CLIENT_SECRET, GithubUser, MockGithub};
    use app::server::sso::ProviderKind;
    let octo = GithubUser {
        id: 583231,
        login: "octocat".into(),
        email: "octo@example.com".into(),
        verified: true,
        orgs: vec!["acme".into()],
    };
    let gh = MockGithub::start(octo.clone()).await;
    let mut p = provider_with_kind(
        "github",
        ProviderKind::Github {
            authorize_url: format!("{}/login/oauth/authorize", gh.url),
            token_url: format!("{}/login/oauth/access_token", gh.url),
            api_url: format!("{}/api", gh.url),
        },
    );
    p.client_id = CLIENT_ID.into();
    p.client_secret = Some(secrecy::SecretString::from(CLIENT_SECRET));
    p.admin_groups = vec!["acme".into()];
    let app = app_with(Backend::Sqlite, settings(Registration::Open, vec![p])).await;
    // Another administrator: the last one keeps the role whatever a provider says.
    app.admin().await;
    let s = sign_in(&app, "github", "").await.unwrap();
    assert_eq!(s["session"]["user"]["username"], "octocat");
    assert_eq!(s["session"]["user"]["role"], "admin");
    let subject = app
        .db
        .text(
            "select subject from user_identity where provider = 'github'",
            &[],
        )
        .await;
    assert_eq!(subject.as_deref(), Some("583231"));

    // A renamed login is still the same account: the id decides.
    gh.user(GithubUser {
        login: "octo-renamed".into(),
        orgs: vec![],
        ..octo.clone()
    });
    let again = sign_in(&app, "github", "").await.unwrap();
    assert_eq!(
        again["session"]["user"]["user_id"],
        s["session"]["user"]["user_id"]
    );
    assert_eq!(again["session"]["user"]["role"], "user");

    // Someone else whose primary email GitHub has not verified gets no new account.
    gh.user(GithubUser {
        id: 1,
        login: "newbie".into(),
        email: "newbie@example.com".into(),
        verified: false,
        orgs: vec![],
    });
    assert_eq!(
        sign_in(&app, "github", "").await.unwrap_err(),
        "email_unverified"
    );
}

#[tokio::test]
async fn a_providers_own_jwts_are_accepted_as_bearer_tokens_where_configured() {
    use app::server::sso::settings::BearerSpec;
    let idp = MockIdp::start().await;
    let mut p = provider(&idp, "mock");
    p.bearer = Some(BearerSpec {
        audience: "portcullis-api".into(),
        on_v1: false,
    });
    let mut s = settings(Registration::Open, vec![p]);
    s.jwks_min_refresh = std::time::Duration::from_secs(3600);
    let app = app_with(Backend::Sqlite, s).await;
    app.models(&["llama"]).await;

    let token = idp.bearer("svc-bot", "portcullis-api", 300, Tamper::None);
    let me = app.call("/api/auth/me", json!({}), Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert_eq!(me.body["user"]["username"], "svc-bot");
    // The same subject is the same user at every call.
    let again = app.call("/api/auth/me", json!({}), Some(&token)).await;
    assert_eq!(again.body["user"]["user_id"], me.body["user"]["user_id"]);
    assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 1);

    for (bad, code) in [
        (
            idp.bearer("svc-bot", "another-api", 300, Tamper::None),
            "unauthenticated",
        ),
        (
            idp.bearer("svc-bot", "portcullis-api", -600, Tamper::None),
            "token_expired",
        ),
        (
            idp.bearer("svc-bot", "portcullis-api", 300, Tamper::UnknownKey),
            "unauthenticated",
        ),
    ] {
        app.call("/api/auth/me", json!({}), Some(&bad))
            .await
            .assert_error(StatusCode::UNAUTHORIZED, code);
    }
    assert_eq!(
        idp.jwks_fetches(),
        1,
        "an unknown key id within the floor fetches nothing"
    );
    // Not on /v1 unless the deployment says so.
    app.v1_get("/v1/models", &token, "127.0.0.1:40000")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");

    let app = bearer_on_v1(&idp, Registration::Open).await;
    let (r, first) = count_db_uses(app.v1_get("/v1/models", &token, "127.0.0.1:40000")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.model_ids(), vec!["llama"]);
    assert!(first > 0, "the first call names its user in the database");
    // Then the token costs what an API key costs: nothing from the database…
    let (r, warm) = count_db_uses(app.v1_get("/v1/models", &token, "127.0.0.1:40000")).await;
    assert_eq!((r.status, warm), (StatusCode::OK, 0), "{}", r.body);
    // …until access changes: a disabled user's token stops at once.
    let (_, admin) = app.admin().await;
    let bot = app
        .db
        .text(
            "select user_id from app_user where username = 'svc-bot'",
            &[],
        )
        .await
        .unwrap();
    let off = app
        .call(
            "/api/users/update",
            json!({ "user_id": bot, "enabled": false }),
            Some(&admin),
        )
        .await;
    assert_eq!(off.status, StatusCode::OK, "{}", off.body);
    app.v1_get("/v1/models", &token, "127.0.0.1:40000")
        .await
        .assert_openai_error(StatusCode::UNAUTHORIZED, "invalid_api_key");
    // Closed registration: a token for nobody known opens nothing.
    let closed = bearer_on_v1(&idp, Registration::Closed).await;
    closed
        .call("/api/auth/me", json!({}), Some(&token))
        .await
        .assert_error(StatusCode::UNAUTHORIZED, "unauthenticated");
}

async fn two_sign_ins_racing_with_one_invite_make_one_account(backend: Backend) {
    let idp = MockIdp::start().await;
    let app = app_with(
        backend,
        settings(Registration::Invite, vec![provider(&idp, "mock")]),
    )
    .await;
    let (_, admin) = app.admin().await;
    let r = app
        .call(
            "/api/invites/create",
            json!({ "invite": { "role": "user" } }),
            Some(&admin),
        )
        .await;
    let token = r.str("link").rsplit('/').next().unwrap().to_owned();
    let query = format!("?invite={token}");
    idp.person(Person::new("sub-first", "first@example.com"));
    let a = begin(&app, "mock", &query).await;
    let a_back = at_provider(&a.authorize).await;
    idp.person(Person::new("sub-second", "second@example.com"));
    let b = begin(&app, "mock", &query).await;
    let b_back = at_provider(&b.authorize).await;
    let (x, y) = tokio::join!(
        arrive(&app, &a_back, Some(&a.cookie)),
        arrive(&app, &b_back, Some(&b.cookie))
    );
    let won = [&x, &y]
        .iter()
        .filter(|l| l.starts_with("/login/sso#code="))
        .count();
    assert_eq!(won, 1, "{x} / {y}");
    assert!(x == "/login?sso_error=invite_invalid" || y == "/login?sso_error=invite_invalid");
    // The administrator and the one who won.
    assert_eq!(app.db.scalar("select count(*) from app_user", &[]).await, 2);
}

#[tokio::test]
async fn one_address_cannot_flood_sign_in_starts() {
    let idp = MockIdp::start().await;
    let app = app_with(
        Backend::Sqlite,
        settings(Registration::Open, vec![provider(&idp, "mock")]),
    )
    .await;
    let start = |addr: &'static str| {
        let app = &app;
        async move {
            let req = axum::http::Request::get("/auth/sso/mock/start")
                .body(axum::body::Body::empty())
                .unwrap();
            let r = app.send(req, addr).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER);
            r.headers[axum::http::header::LOCATION]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    let allowed = server::routes::sso_start_limit::STARTS_PER_MINUTE.get();
    for _ in 0..allowed {
        assert!(start("203.0.113.7:5000").await.starts_with(&idp.issuer));
    }
    assert_eq!(
        start("203.0.113.7:5001").await,
        "/login?sso_error=too_many",
        "the same address, another port"
    );
    let rows = app.db.scalar("select count(*) from sso_attempt", &[]).await;
    assert_eq!(rows, i64::from(allowed), "a refused start writes nothing");
    assert!(
        start("198.51.100.9:5000").await.starts_with(&idp.issuer),
        "others are not held"
    );
}
