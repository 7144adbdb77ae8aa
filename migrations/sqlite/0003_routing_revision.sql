-- Routing changes reach every instance the way access changes do (0002): triggers bump the
-- 'routing' counter whenever an upstream, a model, a target or a discovered model changes, and
-- every instance reloads its routing table when it moves. Discovery bookkeeping
-- (discovered_at, discovery_error) is left out so a periodic refresh that finds nothing new
-- costs no reload.
insert into change_counter (name, value) values ('routing', 0);

-- What an upstream with discover_models listed at its own /v1/models, as of its last
-- successful discovery.
create table discovered_model (
    upstream_id text not null references upstream (upstream_id) on delete cascade,
    name        text not null,
    created_at  text not null,
    primary key (upstream_id, name)
);

alter table upstream add column discovered_at text;
alter table upstream add column discovery_error text;

create trigger upstream_insert after insert on upstream begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger upstream_update after update of name, api, base_url, credential_sealed,
    extra_headers, connect_timeout_ms, idle_timeout_ms, discover_models, enabled on upstream begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger upstream_delete after delete on upstream begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_insert after insert on model begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_update after update of name, enabled on model begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_delete after delete on model begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_target_insert after insert on model_target begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_target_update after update on model_target begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger model_target_delete after delete on model_target begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger discovered_model_insert after insert on discovered_model begin
    update change_counter set value = value + 1 where name = 'routing';
end;
create trigger discovered_model_delete after delete on discovered_model begin
    update change_counter set value = value + 1 where name = 'routing';
end;
