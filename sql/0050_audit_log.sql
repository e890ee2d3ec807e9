-- The audit log: who did which admin action, when, on what. Rows are only ever added. The Api writes a row right
-- after the action succeeds and lists them newest first, filtered by action or actor.
create table audit_log
(
    id          uuid        primary key,
    at          timestamptz not null default now(),
    actor_id    uuid        not null,
    -- The actor's email when the action was done (null when the token named no stored user).
    actor_email text        null,
    action      text        not null check (action in ('book.created', 'book.updated', 'book.codes-generated', 'book.codes-uploaded',
                                                       'pool.created', 'pool.deleted', 'pool.members-added', 'pool.members-removed',
                                                       'pool.distribution-started', 'user.updated')),
    target_type text        not null check (target_type in ('book', 'pool', 'user')),
    target_id   uuid        not null,
    details     jsonb       not null default '{}'::jsonb check (jsonb_typeof(details) = 'object')
);

-- Newest first, on its own or within one action or one actor.
create index audit_log_at on audit_log (at desc, id desc);
create index audit_log_action_at on audit_log (action, at desc, id desc);
create index audit_log_actor_at on audit_log (actor_id, at desc, id desc);
