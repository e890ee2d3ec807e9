-- Every transition of a coupon from its assignment on, written in the same statement as the change.
-- action: 0 assign, 1 lock, 2 unlock, 3 expire, 4 redeem. States as in coupons.state.
create table coupon_history
(
    id         bigint generated always as identity primary key,
    code       text collate "C" not null,
    at         timestamptz not null,
    action     smallint    not null check (action between 0 and 4),
    from_state smallint    not null check (from_state between 0 and 3),
    to_state   smallint    not null check (to_state between 0 and 3),
    user_id    uuid        null,
    actor_id   uuid        null
);
create index coupon_history_code on coupon_history (code, id);

-- The first answer to a command sent with an Idempotency-Key, stored with the change it made (or with
-- nothing, for a refusal), so a repeat within 24 hours answers the same. A key belongs to its caller.
create table idempotency_keys
(
    caller_id    uuid        not null,
    key          text        not null,
    path         text        not null,
    request_hash bytea       not null,
    outcome      jsonb       not null,
    trace_id     text        null,
    created_at   timestamptz not null default now(),
    primary key (caller_id, key)
);
create index idempotency_keys_created on idempotency_keys (created_at);

-- Changes to book_stats by coupon transitions, appended per written batch (no row lock is taken, so
-- batches of many books never wait on or deadlock over a book's stats row) and folded into
-- book_stats every few seconds. A book's stats are its row plus its pending deltas.
create table book_stats_deltas
(
    id         bigint generated always as identity primary key,
    book_id    uuid   not null,
    unassigned bigint not null,
    assigned   bigint not null,
    locked     bigint not null,
    redeemed   bigint not null
);
create index book_stats_deltas_book on book_stats_deltas (book_id);

-- Per-user counts of a book's given-out coupons, which BookGrain rebuilds when it activates.
create index coupons_book_user on coupons (book_id, user_id) where user_id is not null;
