-- Limits that hold across replicas. Twin of migrations/postgres/0004.
--
-- A cost budget joins the request and token limits of 0001 (micro-units of the deployment's
-- currency per calendar month, from the models' prices; null = unlimited), and the triggers of
-- 0002 learn about it so a changed budget reaches every instance's key cache.
alter table app_user add column cost_per_month_micros bigint;
alter table api_key add column cost_per_month_micros bigint;

drop trigger api_key_update;
create trigger api_key_update after update of user_id, secret_digest, previous_digest,
    previous_valid_until, enabled, expires_at, revoked_at, allowed_cidrs, requests_per_minute,
    tokens_per_minute, tokens_per_day, tokens_per_month, cost_per_month_micros on api_key begin
    update change_counter set value = value + 1 where name = 'access';
end;
drop trigger app_user_update;
create trigger app_user_update after update of role, enabled, all_models, may_create_keys,
    requests_per_minute, tokens_per_minute, tokens_per_day, tokens_per_month,
    cost_per_month_micros on app_user begin
    update change_counter set value = value + 1 where name = 'access';
end;

-- A model's prices decide what its requests cost against budgets: routing tables carry them.
drop trigger model_update;
create trigger model_update after update of name, enabled, input_price_micros,
    output_price_micros on model begin
    update change_counter set value = value + 1 where name = 'routing';
end;

-- What the instances sharing this database have taken from each limit in each window. An
-- instance leases allowance here in chunks (a conditional update that never lets `used` pass
-- the limit), spends it from memory, and gives back what it did not spend, so the sum over all
-- instances holds the limit without a database round trip per request.
-- subject: 'u:<user_id>' or 'k:<api_key_id>'; metric: see limits::Metric; window_start_ms: the
-- window's start (minute, UTC day or UTC month) in epoch milliseconds.
create table limit_ledger (
    subject         text not null,
    metric          integer not null,
    window_start_ms bigint not null,
    used            bigint not null,
    primary key (subject, metric, window_start_ms)
);
create index limit_ledger_window on limit_ledger (window_start_ms);
