-- Enforcement hardening: usage charged on an estimate is marked so.
-- Twin of migrations/postgres/0006.

-- The request's tokens are Portcullis's estimate (the client left, the stream was cut short,
-- or the upstream reported no usage), not the upstream's own count.
alter table usage_event add column estimated boolean not null default false;
