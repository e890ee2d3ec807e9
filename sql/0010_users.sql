-- Users: the identity the UserGrain owns. The grain writes its row; listings and lookups by email read it.
create table users
(
    id            uuid        primary key,
    email         text        not null check (length(email) between 3 and 254),
    display_name  text        null check (display_name is null or length(display_name) <= 100),
    role          text        not null check (role in ('USER', 'ADMIN')),
    password_hash text        not null,
    disabled      boolean     not null default false,
    created_at    timestamptz not null default now(),
    -- Every update is conditional on the version its writer read.
    version       integer     not null default 1
);

-- Emails are unique and compared case-insensitively everywhere.
create unique index users_email_key on users (lower(email));

-- The Api keeps the set of disabled users in memory; this serves its reload.
create index users_disabled_idx on users (id) where disabled;
