-- Responses API answers kept for `previous_response_id` and `GET /v1/responses/{id}`, when the
-- gateway is set to keep them. Each belongs to the user whose key made it; the conversation
-- is the chain of previous_response_id links, each row holding its own turn only.
create table stored_response (
    response_id          text primary key,
    user_id              text not null references app_user (user_id) on delete cascade,
    api_key_id           text,
    model                text not null,
    previous_response_id text,
    -- this request's input items, as a JSON list.
    input                text not null,
    -- the response object, as JSON.
    response             text not null,
    created_at           text not null,
    expires_at           text not null
);
create index stored_response_expires on stored_response (expires_at);
create index stored_response_user on stored_response (user_id);

-- Upstreams that serve the Responses API themselves get Responses requests passed through;
-- the API names the management API shows map to (api, responses_api) here, so the
-- check on `api` stays as it is.
alter table upstream add column responses_api boolean not null default false;

-- What a request of a non-token endpoint used in its own unit (search units, audio seconds,
-- characters, images); 0 for token endpoints and where unknown.
alter table usage_event add column units bigint not null default 0;

-- What one unit of a non-token endpoint costs, in micro-units: an audio second, 1,000
-- characters spoken, an image, a search unit (the model's endpoint says which). Null: unpriced.
alter table model add column unit_price_micros bigint;
alter table discovered_price add column unit_price_micros bigint;

-- Further paths clients may call on this upstream through the gateway, under a key (vLLM's
-- /tokenize, /v1/score…), as a JSON list; null: none.
alter table upstream add column extra_paths text;

-- Prices per image by quality and size, overriding the unit price where an image's answer (or
-- request) names them: a JSON object of "quality/size", "size" or "quality" to micro-units.
alter table model add column image_prices text;
alter table discovered_price add column image_prices text;
