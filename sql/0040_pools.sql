-- Pools: named sets of users that receive codes in bulk. PoolGrain owns the settings; members are rows,
-- so adding or removing one is a small write however large the pool.
create table pools
(
    id          uuid        primary key,
    name        text        not null check (length(name) between 1 and 200),
    description text        null check (description is null or length(description) <= 2000),
    created_at  timestamptz not null default now()
);

create table pool_members
(
    pool_id  uuid        not null references pools (id) on delete cascade,
    user_id  uuid        not null references users (id),
    added_at timestamptz not null default now(),
    primary key (pool_id, user_id)
);

-- The distribution job that gave a coupon, so a job resumed after a silo died knows what it gave already.
alter table coupon_history add column job_id uuid null;
create index coupon_history_job on coupon_history (job_id) where job_id is not null;

-- A book's free codes in code order: the supply BookGrain takes codes from. Assigned codes leave it,
-- so taking the next chunk never wades through codes given out before.
create index coupons_free on coupons (book_id, code) where state = 0;
