-- A counter bumped, by triggers, whenever anything that decides whether an API key may be used
-- changes: keys, their model lists, their owners' state and model permissions. Every gateway
-- instance polls it and reloads its in-memory key cache when it moves, so a revocation made on
-- one instance reaches the others within the poll interval. Triggers, not application code,
-- bump it, so no write path can forget to. Columns that change on every request (last_used_at)
-- or sign-in (last_login_at) are left out on purpose. Twin of migrations/sqlite/0002.
create table change_counter (
    name  text primary key,
    value bigint not null
);
insert into change_counter (name, value) values ('access', 0);

-- Keys imported from other gateways keep their own format: looked up by the digest of the
-- whole key instead of by public id.
alter table api_key add column format text not null default 'native' check (format in ('native', 'imported'));

create function bump_access_revision() returns trigger language plpgsql as $$
begin
    update change_counter set value = value + 1 where name = 'access';
    return null;
end;
$$;

create trigger api_key_insert_delete after insert or delete on api_key
    for each statement execute function bump_access_revision();
create trigger api_key_update after update of user_id, secret_digest, previous_digest,
    previous_valid_until, enabled, expires_at, revoked_at, allowed_cidrs, requests_per_minute,
    tokens_per_minute, tokens_per_day, tokens_per_month on api_key
    for each statement execute function bump_access_revision();
create trigger api_key_model_change after insert or delete on api_key_model
    for each statement execute function bump_access_revision();
create trigger app_user_update after update of role, enabled, all_models, may_create_keys,
    requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month on app_user
    for each statement execute function bump_access_revision();
create trigger app_user_delete after delete on app_user
    for each statement execute function bump_access_revision();
create trigger user_model_change after insert or delete on user_model
    for each statement execute function bump_access_revision();
