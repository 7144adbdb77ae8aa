-- The access change log: every change that decides whether an API key may be used now also
-- says what it touched (one key, or one user and so all their keys), so an instance applies
-- a change by loading that key or user instead of reloading every key. Each change takes the
-- next value of the access revision (migration 0002) in the same transaction, so revisions are
-- dense and an instance at revision R catches up by reading the rows after R; when they are no
-- longer all there (pruned) it reloads everything. Twin of migrations/postgres/0007.
create table access_change (
    revision   integer primary key,
    -- exactly one of the two is set
    api_key_id text,
    user_id    text
);

drop trigger api_key_insert;
drop trigger api_key_update;
drop trigger api_key_delete;
drop trigger api_key_model_insert;
drop trigger api_key_model_delete;
drop trigger app_user_update;
drop trigger app_user_delete;
drop trigger user_model_insert;
drop trigger user_model_delete;
drop trigger user_identity_delete;

create trigger api_key_insert after insert on api_key begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, api_key_id)
        select value, new.api_key_id from change_counter where name = 'access';
end;
create trigger api_key_update after update of user_id, secret_digest, previous_digest,
    previous_valid_until, enabled, expires_at, revoked_at, allowed_cidrs, requests_per_minute,
    tokens_per_minute, tokens_per_day, tokens_per_month, cost_per_month_micros on api_key begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, api_key_id)
        select value, new.api_key_id from change_counter where name = 'access';
end;
create trigger api_key_delete after delete on api_key begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, api_key_id)
        select value, old.api_key_id from change_counter where name = 'access';
end;
create trigger api_key_model_insert after insert on api_key_model begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, api_key_id)
        select value, new.api_key_id from change_counter where name = 'access';
end;
create trigger api_key_model_delete after delete on api_key_model begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, api_key_id)
        select value, old.api_key_id from change_counter where name = 'access';
end;
create trigger app_user_update after update of role, enabled, all_models, may_create_keys,
    requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month,
    cost_per_month_micros on app_user begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, user_id)
        select value, new.user_id from change_counter where name = 'access';
end;
create trigger app_user_delete after delete on app_user begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, user_id)
        select value, old.user_id from change_counter where name = 'access';
end;
create trigger user_model_insert after insert on user_model begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, user_id)
        select value, new.user_id from change_counter where name = 'access';
end;
create trigger user_model_delete after delete on user_model begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, user_id)
        select value, old.user_id from change_counter where name = 'access';
end;
-- Unlinking an external identity ends the provider tokens cached for it, on every instance.
create trigger user_identity_delete after delete on user_identity begin
    update change_counter set value = value + 1 where name = 'access';
    insert into access_change (revision, user_id)
        select value, old.user_id from change_counter where name = 'access';
end;
