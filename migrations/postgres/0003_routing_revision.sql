-- Routing changes reach every instance the way access changes do (0002): triggers bump the
-- 'routing' counter whenever an upstream, a model, a target or a discovered model changes, and
-- every instance reloads its routing table when it moves. Discovery bookkeeping
-- (discovered_at, discovery_error) is left out so a periodic refresh that finds nothing new
-- costs no reload. Twin of migrations/sqlite/0003.
insert into change_counter (name, value) values ('routing', 0);

-- What an upstream with discover_models listed at its own /v1/models, as of its last
-- successful discovery.
create table discovered_model (
    upstream_id text not null references upstream (upstream_id) on delete cascade,
    name        text not null,
    created_at  timestamptz not null,
    primary key (upstream_id, name)
);

alter table upstream add column discovered_at timestamptz;
alter table upstream add column discovery_error text;

create function bump_routing_revision() returns trigger language plpgsql as $$
begin
    update change_counter set value = value + 1 where name = 'routing';
    return null;
end;
$$;

create trigger upstream_insert_delete after insert or delete on upstream
    for each statement execute function bump_routing_revision();
create trigger upstream_update after update of name, api, base_url, credential_sealed,
    extra_headers, connect_timeout_ms, idle_timeout_ms, discover_models, enabled on upstream
    for each statement execute function bump_routing_revision();
create trigger model_insert_delete after insert or delete on model
    for each statement execute function bump_routing_revision();
create trigger model_update after update of name, enabled on model
    for each statement execute function bump_routing_revision();
create trigger model_target_change after insert or update or delete on model_target
    for each statement execute function bump_routing_revision();
create trigger discovered_model_change after insert or delete on discovered_model
    for each statement execute function bump_routing_revision();
