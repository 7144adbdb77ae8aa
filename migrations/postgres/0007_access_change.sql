-- The access change log: every change that decides whether an API key may be used now also
-- says what it touched (one key, or one user and so all their keys), so an instance applies
-- a change by loading that key or user instead of reloading every key. Each change takes the
-- next value of the access revision (migration 0002) in the same transaction; the counter's
-- row lock makes those transactions commit in revision order, so revisions are dense and
-- visible in order, and an instance at revision R catches up by reading the rows after R; when
-- they are no longer all there (pruned) it reloads everything. Row-level triggers, where 0002
-- had statement-level ones: a statement touching many rows logs each. Twin of
-- migrations/sqlite/0007.
create table access_change (
    revision   bigint primary key,
    -- exactly one of the two is set
    api_key_id text,
    user_id    text
);

-- TG_ARGV[0] names the column that identifies what changed: api_key_id or user_id.
create function log_access_change() returns trigger language plpgsql as $$
declare
    rev bigint;
    changed jsonb;
begin
    if tg_op = 'DELETE' then
        changed := to_jsonb(old);
    else
        changed := to_jsonb(new);
    end if;
    update change_counter set value = value + 1 where name = 'access' returning value into rev;
    insert into access_change (revision, api_key_id, user_id) values (
        rev,
        case when tg_argv[0] = 'api_key_id' then changed ->> 'api_key_id' end,
        case when tg_argv[0] = 'user_id' then changed ->> 'user_id' end
    );
    return null;
end;
$$;

drop trigger api_key_insert_delete on api_key;
drop trigger api_key_update on api_key;
drop trigger api_key_model_change on api_key_model;
drop trigger app_user_update on app_user;
drop trigger app_user_delete on app_user;
drop trigger user_model_change on user_model;
drop trigger user_identity_delete on user_identity;
drop function bump_access_revision();

create trigger api_key_insert_delete after insert or delete on api_key
    for each row execute function log_access_change('api_key_id');
create trigger api_key_update after update of user_id, secret_digest, previous_digest,
    previous_valid_until, enabled, expires_at, revoked_at, allowed_cidrs, requests_per_minute,
    tokens_per_minute, tokens_per_day, tokens_per_month, cost_per_month_micros on api_key
    for each row execute function log_access_change('api_key_id');
create trigger api_key_model_change after insert or delete on api_key_model
    for each row execute function log_access_change('api_key_id');
create trigger app_user_update after update of role, enabled, all_models, may_create_keys,
    requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month,
    cost_per_month_micros on app_user
    for each row execute function log_access_change('user_id');
create trigger app_user_delete after delete on app_user
    for each row execute function log_access_change('user_id');
create trigger user_model_change after insert or delete on user_model
    for each row execute function log_access_change('user_id');
-- Unlinking an external identity ends the provider tokens cached for it, on every instance.
create trigger user_identity_delete after delete on user_identity
    for each row execute function log_access_change('user_id');
