-- Sign-in through identity providers (OpenID Connect, GitHub), invites, approval, and
-- administrators acting as another user.
-- Twin of migrations/sqlite/0005.

-- A user who registered through a provider while registration needs approval waits here,
-- disabled, until an administrator approves (enables) them.
alter table app_user add column awaiting_approval boolean not null default false;

-- External identities linked to users. A sign-in is matched by the provider's stable subject,
-- never by a username or an email it may change.
create table user_identity (
    -- the configured provider's name.
    provider      text not null,
    -- OIDC `sub`, or GitHub's numeric account id.
    subject       text not null,
    user_id       text not null references app_user (user_id) on delete cascade,
    -- what the provider last said, shown to administrators.
    email         text,
    external_name text,
    linked_at     timestamptz not null,
    last_login_at timestamptz,
    primary key (provider, subject)
);
create index user_identity_user on user_identity (user_id);

-- Sign-ins in flight between leaving for the provider and coming back; each is used once.
-- The PKCE verifier lives only in the browser's cookie: this row holds its S256 challenge,
-- which also proves that the browser coming back is the one that left.
create table sso_attempt (
    state_digest   text primary key,
    provider       text not null,
    code_challenge text not null,
    nonce          text not null,
    -- the invite the browser brought, if any (digest).
    invite_digest  text,
    -- where the web app goes afterwards: a path on this site.
    next_path      text,
    created_at     timestamptz not null,
    expires_at     timestamptz not null
);
create index sso_attempt_expiry on sso_attempt (expires_at);

-- A completed external sign-in waiting for the web app to trade its one-time code for tokens.
create table sso_handoff (
    code_digest text primary key,
    user_id     text not null references app_user (user_id) on delete cascade,
    provider    text not null,
    -- where the web app goes afterwards.
    next_path   text,
    created_at  timestamptz not null,
    expires_at  timestamptz not null
);

-- Single-use, expiring invitations. One with `user_id` links the sign-in that uses it to that
-- existing account (an administrator's explicit link) instead of creating an account.
create table invite (
    invite_id    text primary key,
    token_digest text not null unique,
    created_by   text references app_user (user_id) on delete set null,
    role         text not null check (role in ('admin', 'user')),
    -- when set, only a sign-in with this verified email may use the invite.
    email        text,
    user_id      text references app_user (user_id) on delete cascade,
    note         text,
    created_at   timestamptz not null,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    used_by      text references app_user (user_id) on delete set null,
    revoked_at   timestamptz
);
create index invite_created on invite (created_at);

-- An administrator acting as another user: the session is the user's, opened by the
-- administrator, and ends with the administrator's account.
alter table refresh_family add column impersonator_id text references app_user (user_id) on delete cascade;
-- Who was really acting, when an administrator acted as the entry's actor.
alter table audit_log add column impersonator_user_id text;
alter table audit_log add column impersonator_username text;
