-- Portcullis initial schema (PostgreSQL dialect). migrations/sqlite/0001_init.sql is its twin:
-- same tables, same columns, same meaning; only the types differ.
--
-- Conventions: ids are UUIDv7 strings; timestamps are timestamptz (RFC 3339 text on SQLite);
-- secrets are never stored in plain text: `*_digest` columns hold hex SHA-256 digests and
-- `*_sealed` columns hold AES-256-GCM ciphertexts in the form `v1.<key id>.<base64url>`.

-- People who sign in to the web UI and own API keys.
create table app_user (
    user_id              text primary key,
    -- shown as typed; uniqueness is case-insensitive (usernames are restricted to ASCII).
    username             text not null,
    email                text,
    -- argon2id PHC string; null for accounts that only sign in through an identity provider.
    password_hash        text,
    role                 text not null check (role in ('admin', 'user')),
    enabled              boolean not null default true,
    must_change_password boolean not null default false,
    -- true: the user may use every model; false: only those listed in user_model.
    all_models           boolean not null default true,
    may_create_keys      boolean not null default true,
    -- limits; null means unlimited.
    requests_per_minute  bigint,
    tokens_per_minute    bigint,
    tokens_per_day       bigint,
    tokens_per_month     bigint,
    -- bumped to invalidate every access token issued before (disable, delete, password change).
    token_version        bigint not null default 0,
    created_at           timestamptz not null,
    updated_at           timestamptz not null,
    last_login_at        timestamptz
);
create unique index app_user_username_key on app_user (lower(username));
create unique index app_user_email_key on app_user (lower(email)) where email is not null;

-- Models a user may use when app_user.all_models is false.
create table user_model (
    user_id text not null references app_user (user_id) on delete cascade,
    model   text not null,
    primary key (user_id, model)
);

-- One family per sign-in: every refresh rotates inside it; presenting a used token revokes it.
create table refresh_family (
    family_id      text primary key,
    user_id        text not null references app_user (user_id) on delete cascade,
    created_at     timestamptz not null,
    last_used_at   timestamptz not null,
    -- hard end of the session, whatever the rotations.
    expires_at     timestamptz not null,
    revoked_at     timestamptz,
    revoked_reason text,
    client_addr    text,
    user_agent     text
);
create index refresh_family_user on refresh_family (user_id);

create table refresh_token (
    token_id   text primary key,
    family_id  text not null references refresh_family (family_id) on delete cascade,
    digest     text not null unique,
    issued_at  timestamptz not null,
    expires_at timestamptz not null,
    used_at    timestamptz
);
create index refresh_token_family on refresh_token (family_id);

-- Inference credentials: `<prefix><public_id>-<secret>`; looked up by public_id, then the
-- digest of the secret is compared in constant time.
create table api_key (
    api_key_id          text primary key,
    public_id           text not null unique,
    user_id             text not null references app_user (user_id) on delete cascade,
    name                text not null,
    secret_digest       text not null,
    -- sealed so that its owner can reveal the key again; null where reveal is turned off.
    secret_sealed       text,
    -- the previous secret keeps working until previous_valid_until after a rotation.
    previous_digest     text,
    previous_valid_until timestamptz,
    enabled             boolean not null default true,
    expires_at          timestamptz,
    revoked_at          timestamptz,
    -- JSON array of CIDR strings; null means any address.
    allowed_cidrs       text,
    requests_per_minute bigint,
    tokens_per_minute   bigint,
    tokens_per_day      bigint,
    tokens_per_month    bigint,
    created_at          timestamptz not null,
    updated_at          timestamptz not null,
    last_used_at        timestamptz
);
create index api_key_user on api_key (user_id);

-- A key's model allowlist; no rows means every model its owner may use.
create table api_key_model (
    api_key_id text not null references api_key (api_key_id) on delete cascade,
    model      text not null,
    primary key (api_key_id, model)
);

-- Inference servers Portcullis forwards to.
create table upstream (
    upstream_id       text primary key,
    name              text not null unique,
    -- wire protocol: 'openai' (chat completions) or 'anthropic' (messages).
    api               text not null default 'openai' check (api in ('openai', 'anthropic')),
    base_url          text not null,
    credential_sealed text,
    -- JSON object of extra request headers.
    extra_headers     text,
    connect_timeout_ms bigint not null default 5000,
    idle_timeout_ms   bigint not null default 60000,
    -- offer every model the upstream lists at its own /v1/models.
    discover_models   boolean not null default false,
    enabled           boolean not null default true,
    -- 'config' rows are owned by the TOML file and rewritten at start; 'admin' rows by the UI.
    source            text not null default 'admin' check (source in ('config', 'admin')),
    created_at        timestamptz not null,
    updated_at        timestamptz not null
);

-- Public model names, as clients send them.
create table model (
    model_id   text primary key,
    name       text not null unique,
    enabled    boolean not null default true,
    -- prices in micro-units of the deployment's currency per million tokens; null = not priced.
    input_price_micros  bigint,
    output_price_micros bigint,
    source     text not null default 'admin' check (source in ('config', 'admin')),
    created_at timestamptz not null,
    updated_at timestamptz not null
);

-- Where a public model is served: an upstream and the name that upstream knows it by.
create table model_target (
    target_id      text primary key,
    model_id       text not null references model (model_id) on delete cascade,
    upstream_id    text not null references upstream (upstream_id) on delete cascade,
    upstream_model text not null,
    weight         bigint not null default 1 check (weight > 0),
    enabled        boolean not null default true,
    unique (model_id, upstream_id, upstream_model)
);

-- One row per /v1 request. Compact on purpose: ids and small codes only, epoch milliseconds.
-- No foreign keys: history outlives deleted users, keys and models.
create table usage_event (
    usage_event_id    bigint generated always as identity primary key,
    created_ms        bigint not null,
    user_id           text not null,
    api_key_id        text,
    model             text not null,
    target_id         text,
    endpoint          integer not null,
    status            integer not null,
    outcome           integer not null,
    streamed          boolean not null,
    prompt_tokens     bigint not null default 0,
    completion_tokens bigint not null default 0,
    total_ms          bigint not null,
    ttfb_ms           bigint,
    cost_micros       bigint not null default 0
);
create index usage_event_created on usage_event (created_ms);
create index usage_event_user_created on usage_event (user_id, created_ms);

-- Rollups kept current as usage batches are written, so summaries never scan raw events.
-- api_key_id is '' for requests made without a key.
create table usage_hourly (
    bucket_start_ms   bigint not null,
    user_id           text not null,
    api_key_id        text not null,
    model             text not null,
    requests          bigint not null default 0,
    errors            bigint not null default 0,
    prompt_tokens     bigint not null default 0,
    completion_tokens bigint not null default 0,
    cost_micros       bigint not null default 0,
    primary key (bucket_start_ms, user_id, api_key_id, model)
);
create index usage_hourly_user on usage_hourly (user_id, bucket_start_ms);

create table usage_daily (
    bucket_start_ms   bigint not null,
    user_id           text not null,
    api_key_id        text not null,
    model             text not null,
    requests          bigint not null default 0,
    errors            bigint not null default 0,
    prompt_tokens     bigint not null default 0,
    completion_tokens bigint not null default 0,
    cost_micros       bigint not null default 0,
    primary key (bucket_start_ms, user_id, api_key_id, model)
);
create index usage_daily_user on usage_daily (user_id, bucket_start_ms);

-- Who did what to which target, when and from where. Never holds a secret.
create table audit_log (
    audit_id       bigint generated always as identity primary key,
    created_at     timestamptz not null,
    actor_user_id  text,
    -- kept as written so the entry stays readable after the actor is deleted.
    actor_username text,
    action         text not null,
    target_type    text,
    target_id      text,
    client_addr    text,
    success        boolean not null default true,
    -- JSON object with action-specific, non-secret details.
    details        text
);
create index audit_log_created on audit_log (created_at);
create index audit_log_actor on audit_log (actor_user_id, created_at);
create index audit_log_action on audit_log (action, created_at);
