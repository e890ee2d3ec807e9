-- Books: the settings BookGrain owns. Listings read this table; the grain writes it.
create table books
(
    id                         uuid        primary key,
    name                       text        not null check (length(name) between 1 and 200),
    description                text        null check (description is null or length(description) <= 2000),
    max_assignments_per_user   integer     null check (max_assignments_per_user >= 1),
    max_total_assignments      integer     null check (max_total_assignments >= 1),
    max_redemptions_per_coupon integer     not null default 1 check (max_redemptions_per_coupon between 1 and 1000),
    lock_ttl_seconds           integer     not null default 300 check (lock_ttl_seconds between 5 and 86400),
    valid_from                 timestamptz null,
    valid_until                timestamptz null,
    created_at                 timestamptz not null default now(),
    version                    integer     not null default 1,
    check (valid_from is null or valid_until is null or valid_from <= valid_until)
);

-- A book's live counts by stored state, changed in the same transaction as the coupon rows they count,
-- so reading a book's stats is one row, however many codes it holds. `locked` still includes locks
-- that have run out but are not yet released; readers move those to `assigned` (see coupons_expiring_locks).
create table book_stats
(
    book_id    uuid   primary key references books (id),
    total      bigint not null default 0,
    unassigned bigint not null default 0,
    assigned   bigint not null default 0,
    locked     bigint not null default 0,
    redeemed   bigint not null default 0
);

-- Coupons: unique across all books. The C collation makes the primary key serve prefix range scans
-- (a pattern's literal prefix) whatever the database's locale.
-- state: 0 UNASSIGNED, 1 ASSIGNED, 2 LOCKED, 3 REDEEMED.
-- No foreign key to books: bulk inserts of a million rows would pay a trigger per row, and only
-- BookGrain, which knows its book exists, writes a book's coupons.
create table coupons
(
    code             text collate "C" primary key,
    book_id          uuid        not null,
    state            smallint    not null default 0 check (state between 0 and 3),
    user_id          uuid        null,
    assigned_at      timestamptz null,
    locked_until     timestamptz null,
    redemption_count integer     not null default 0,
    redeemed_at      timestamptz null,
    version          integer     not null default 0
);

-- A book's coupons in code order: listing with cursor paging and the CSV export.
create index coupons_book_code on coupons (book_id, code);
-- A user's coupons, and the per-user counts BookGrain rebuilds.
create index coupons_user_book on coupons (user_id, book_id) where user_id is not null;
-- Locked coupons by expiry: stats subtract the run-out ones cheaply, the release sweep finds them.
create index coupons_expiring_locks on coupons (book_id, locked_until) where state = 2;

-- One keyed counter per pattern: generating codes maps fresh counter values through a keyed
-- permutation of the pattern's space, so runs never repeat a code of the same pattern.
create table pattern_counters
(
    pattern text collate "C" primary key,
    key     bytea  not null,
    next    bigint not null default 0
);

-- Every bulk write of codes (a generation or an import), keyed by its job, written in the same
-- transaction as the codes: a job resumed after a silo died finds here that it already committed.
create table code_batches
(
    job_id     uuid        primary key,
    book_id    uuid        not null,
    kind       text        not null check (kind in ('generate', 'import')),
    codes      bigint      not null,
    result     jsonb       not null,
    created_at timestamptz not null default now()
);

-- Uploaded CSV lines on their way to the coupons table; the import that reads them deletes them.
-- Unlogged: an upload lost in a crash is simply uploaded again.
create unlogged table upload_lines
(
    upload_id uuid    not null,
    line      integer not null,
    value     text    not null,
    code      text collate "C" null,
    reason    text    null
);
create index upload_lines_upload on upload_lines (upload_id);
