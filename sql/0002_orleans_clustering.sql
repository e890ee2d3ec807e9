-- 0002: Orleans cluster membership (Microsoft.Orleans.Clustering.AdoNet 10.4.2).
--
-- Silos and clients share these tables to find each other. The protocol is
-- optimistic: every reader gets the table version together with the rows, and a
-- write (insert/update of a silo row) only succeeds if the version it read is
-- still current; the write bumps the version. Heartbeats are the exception: they
-- only touch IAmAliveTime of the silo's own row and never the version.
--
-- What the provider binds / reads (from the 10.4.2 assembly):
--   parameters: @DeploymentId (= ClusterId), @Address (text), @Port, @Generation,
--     @SiloName, @HostName, @Status, @ProxyPort, @SuspectTimes (text or NULL),
--     @StartTime, @IAmAliveTime (UTC DateTime, sent as timestamptz), @Version (int).
--   row columns, by name: Address, Port, Generation, SiloName, HostName, Status,
--     ProxyPort, SuspectTimes, StartTime, IAmAliveTime, Version.
--   Insert/update/insert-version: a single value, read as a boolean (non-zero = success).
--   Reads must return the version row even when no silo row matches (LEFT JOIN);
--   the provider takes the table version from the first row.
--
-- SiloStatus values used below: 3 = Active, 6 = Dead.

-- One row per cluster (DeploymentId): the table version for optimistic concurrency.
create table OrleansMembershipVersionTable
(
    DeploymentId varchar(150)   not null,
    Timestamp    timestamptz(3) not null default now(),
    Version      integer        not null default 0,

    constraint PK_OrleansMembershipVersionTable_DeploymentId primary key (DeploymentId)
);

-- One row per silo incarnation (address, port and generation identify it).
create table OrleansMembershipTable
(
    DeploymentId varchar(150)   not null,
    Address      varchar(45)    not null,  -- IPv4 or IPv6 text form
    Port         integer        not null,
    Generation   integer        not null,
    SiloName     varchar(150)   not null,
    HostName     varchar(150)   not null,
    Status       integer        not null,
    ProxyPort    integer        null,      -- gateway port, 0/NULL when not a gateway
    SuspectTimes varchar(8000)  null,      -- "silo,time|silo,time" votes, written by Orleans
    StartTime    timestamptz(3) not null,
    IAmAliveTime timestamptz(3) not null,

    constraint PK_MembershipTable_DeploymentId primary key (DeploymentId, Address, Port, Generation),
    constraint FK_MembershipTable_MembershipVersionTable_DeploymentId
        foreign key (DeploymentId) references OrleansMembershipVersionTable (DeploymentId)
);

-- Adds a silo row, conditional on the table version the caller read.
-- Returns 1 on success, 0 when the version was stale or the row already existed;
-- in the latter case the version bump is undone, so a failed call changes nothing.
-- The version row is updated first: it serialises concurrent writers of the
-- cluster (same lock order as orleans_membership_update).
create function orleans_membership_insert(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_silo_name      text,
    p_host_name      text,
    p_status         integer,
    p_proxy_port     integer,
    p_start_time     timestamptz,
    p_i_am_alive_time timestamptz,
    p_version        integer)
returns integer
language plpgsql
as $$
begin
    update OrleansMembershipVersionTable
       set Version = Version + 1,
           Timestamp = now()
     where DeploymentId = p_deployment_id
       and Version = p_version
       and Version < 2147483647;          -- never overflow; treat as a conflict instead
    if not found then
        return 0;                          -- stale version (or unknown cluster)
    end if;

    insert into OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName,
         Status, ProxyPort, StartTime, IAmAliveTime)
    values
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name,
         p_status, p_proxy_port, p_start_time, p_i_am_alive_time)
    on conflict (DeploymentId, Address, Port, Generation) do nothing;
    if not found then
        -- Leaving this block through an exception rolls back the version bump above.
        raise exception 'membership row already exists' using errcode = 'OR001';
    end if;
    return 1;
exception
    when sqlstate 'OR001' then
        return 0;
end
$$;

-- Changes a silo row (status, suspicion votes, liveness), conditional on the
-- table version the caller read. Same result and rollback rules as the insert.
-- IAmAliveTime never moves backwards: the caller's copy of the row may predate a
-- heartbeat that was written after it was read.
create function orleans_membership_update(
    p_deployment_id  text,
    p_address        text,
    p_port           integer,
    p_generation     integer,
    p_status         integer,
    p_suspect_times  text,
    p_i_am_alive_time timestamptz,
    p_version        integer)
returns integer
language plpgsql
as $$
begin
    update OrleansMembershipVersionTable
       set Version = Version + 1,
           Timestamp = now()
     where DeploymentId = p_deployment_id
       and Version = p_version
       and Version < 2147483647;
    if not found then
        return 0;
    end if;

    update OrleansMembershipTable
       set Status = p_status,
           SuspectTimes = p_suspect_times,
           IAmAliveTime = greatest(IAmAliveTime, p_i_am_alive_time)
     where DeploymentId = p_deployment_id
       and Address = p_address
       and Port = p_port
       and Generation = p_generation;
    if not found then
        raise exception 'membership row does not exist' using errcode = 'OR001';
    end if;
    return 1;
exception
    when sqlstate 'OR001' then
        return 0;
end
$$;

insert into OrleansQuery (QueryKey, QueryText) values

-- Creates the version row of a cluster if it is missing. 1 = created, 0 = already there.
('InsertMembershipVersionKey', '
with created as (
    insert into OrleansMembershipVersionTable (DeploymentId)
    values (@DeploymentId)
    on conflict (DeploymentId) do nothing
    returning 1
)
select count(*)::integer from created;
'),

('InsertMembershipKey', '
select orleans_membership_insert(
    @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName,
    @Status, @ProxyPort, @StartTime, @IAmAliveTime, @Version);
'),

('UpdateMembershipKey', '
select orleans_membership_update(
    @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes,
    @IAmAliveTime, @Version);
'),

-- Heartbeat of one silo. Not versioned and its result is not checked by Orleans;
-- greatest() keeps a late, out-of-order heartbeat from moving the time backwards.
('UpdateIAmAlivetimeKey', '
update OrleansMembershipTable
   set IAmAliveTime = greatest(IAmAliveTime, @IAmAliveTime)
 where DeploymentId = @DeploymentId
   and Address = @Address
   and Port = @Port
   and Generation = @Generation;
'),

-- One silo row plus the table version, read in one statement (one snapshot).
('MembershipReadRowKey', '
select v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
  from OrleansMembershipVersionTable v
  left join OrleansMembershipTable m
         on m.DeploymentId = v.DeploymentId
        and m.Address = @Address
        and m.Port = @Port
        and m.Generation = @Generation
 where v.DeploymentId = @DeploymentId;
'),

-- All silo rows of the cluster plus the table version.
('MembershipReadAllKey', '
select v.DeploymentId,
       m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status,
       m.ProxyPort, m.SuspectTimes, m.StartTime, m.IAmAliveTime,
       v.Version
  from OrleansMembershipVersionTable v
  left join OrleansMembershipTable m
         on m.DeploymentId = v.DeploymentId
 where v.DeploymentId = @DeploymentId;
'),

-- Drops a whole cluster (used by tests and tooling). Rows first: they reference the version row.
('DeleteMembershipTableEntriesKey', '
delete from OrleansMembershipTable where DeploymentId = @DeploymentId;
delete from OrleansMembershipVersionTable where DeploymentId = @DeploymentId;
'),

-- Gateways for clients: active silos that expose a gateway port (@Status = 3, Active).
('GatewaysQueryKey', '
select Address, ProxyPort, Generation
  from OrleansMembershipTable
 where DeploymentId = @DeploymentId
   and Status = @Status
   and ProxyPort > 0;
'),

-- Bulk clean-up of long-dead silos: only Dead rows whose start time and last
-- heartbeat are both older than the cut-off and that carry no suspicion votes
-- (votes are not parsed in SQL; such rows are left to the per-row query below).
-- 10.4.2 requires this key to exist but uses it only when
-- CleanupDefunctSiloEntryKey is absent.
('CleanupDefunctSiloEntriesKey', '
delete from OrleansMembershipTable
 where DeploymentId = @DeploymentId
   and Status = 6
   and IAmAliveTime < @IAmAliveTime
   and StartTime < @IAmAliveTime
   and coalesce(SuspectTimes, '''') = '''';
'),

-- Optional in 10.4.2 (used when present): the provider reads all rows, picks Dead
-- silos whose start, heartbeat and every vote are older than the cut-off, and deletes
-- each one only if it is still exactly as read (nothing changed it meanwhile).
('CleanupDefunctSiloEntryKey', '
delete from OrleansMembershipTable
 where DeploymentId = @DeploymentId
   and Address = @Address
   and Port = @Port
   and Generation = @Generation
   and Status = 6
   and StartTime = @StartTime
   and IAmAliveTime = @IAmAliveTime
   and coalesce(SuspectTimes, '''') = coalesce(@SuspectTimes, '''');
');
