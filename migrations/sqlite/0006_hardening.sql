-- Enforcement hardening: usage charged on an estimate is marked so.
-- Twin of migrations/postgres/0006.

-- The request's tokens are Portcullis's estimate (the client left, the stream was cut short,
-- or the upstream reported no usage), not the upstream's own count.
alter table usage_event add column estimated boolean not null default false;

-- An administrator changed what this key may do (enabled, expiry, address ranges, models,
-- limits) or made it for its owner: from then on only an administrator may lift those, or
-- delete the key.
alter table api_key add column managed_by_admin boolean not null default false;

-- Unlinking an external identity ends the provider tokens cached for it, on every instance.
create trigger user_identity_delete after delete on user_identity begin
    update change_counter set value = value + 1 where name = 'access';
end;

-- The client address an external sign-in started from (an IPv6 /64 as its prefix): attempts
-- in flight are capped per client network, so one network cannot use up everyone's.
alter table sso_attempt add column client_prefix text;
create index sso_attempt_prefix on sso_attempt (client_prefix);

-- Prices of models that exist only because an upstream lists them (a declared model carries its
-- own): without one, spending limits could not hold on them.
create table discovered_price (
    name                text primary key,
    input_price_micros  bigint,
    output_price_micros bigint,
    updated_at          text not null
);
create trigger discovered_price_insert after insert on discovered_price begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger discovered_price_update after update on discovered_price begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger discovered_price_delete after delete on discovered_price begin
    update change_counter set value = value + 1 where name = 'routing';
end;
