-- 0004: Orleans reminders (Microsoft.Orleans.Reminders.AdoNet 10.4.2).
--
-- One row per (service, grain, reminder name). Each silo periodically reads the
-- reminders whose GrainHash falls in its slice of the consistent-hash ring.
--
-- What the provider binds / reads (from the 10.4.2 assembly):
--   parameters: @ServiceId, @GrainId (text: GrainId.ToString(), "type/key"),
--     @ReminderName, @StartTime (UTC, sent as timestamptz), @Period (milliseconds,
--     sent as int or bigint depending on its size), @GrainHash, @BeginHash,
--     @EndHash (uint hashes reinterpreted as signed int), @Version (int).
--   row columns, by name: GrainId, ReminderName, StartTime, Period, Version.
--   upsert result: column Version; delete-one result: one value read as a boolean.
--
-- The 10.4.2 provider has no cron/priority fields (newer upstream scripts add
-- CronExpression, NextDueUtc, ... for a later provider); nothing here needs them.
create table OrleansRemindersTable
(
    ServiceId    varchar(150)   not null,
    -- Longer than upstream's 150: string-keyed grains put the whole key in here.
    GrainId      varchar(512)   not null,
    ReminderName varchar(150)   not null,
    StartTime    timestamptz(3) not null,
    Period       bigint         not null,  -- milliseconds
    GrainHash    integer        not null,
    Version      integer        not null,  -- ETag of the reminder

    constraint PK_RemindersTable_ServiceId_GrainId_ReminderName
        primary key (ServiceId, GrainId, ReminderName)
);

-- Range reads by ring slice (ReadRangeRows1Key/2Key) filter on GrainHash.
create index IX_RemindersTable_ServiceId_GrainHash
    on OrleansRemindersTable (ServiceId, GrainHash);

insert into OrleansQuery (QueryKey, QueryText) values

-- Registers or re-registers a reminder; the ETag (Version) starts at 0 and goes up
-- by one on every change. Returns the new Version.
('UpsertReminderRowKey', '
insert into OrleansRemindersTable as r
    (ServiceId, GrainId, ReminderName, StartTime, Period, GrainHash, Version)
values
    (@ServiceId, @GrainId, @ReminderName, @StartTime, @Period, @GrainHash, 0)
on conflict (ServiceId, GrainId, ReminderName) do update
   set StartTime = excluded.StartTime,
       Period = excluded.Period,
       GrainHash = excluded.GrainHash,
       Version = r.Version + 1
returning r.Version as Version;
'),

-- All reminders of one grain.
('ReadReminderRowsKey', '
select GrainId, ReminderName, StartTime, Period, Version
  from OrleansRemindersTable
 where ServiceId = @ServiceId
   and GrainId = @GrainId;
'),

-- One reminder of one grain.
('ReadReminderRowKey', '
select GrainId, ReminderName, StartTime, Period, Version
  from OrleansRemindersTable
 where ServiceId = @ServiceId
   and GrainId = @GrainId
   and ReminderName = @ReminderName;
'),

-- Ring slice (BeginHash, EndHash] that does not wrap (the provider uses it when
-- (int)BeginHash < (int)EndHash).
('ReadRangeRows1Key', '
select GrainId, ReminderName, StartTime, Period, Version
  from OrleansRemindersTable
 where ServiceId = @ServiceId
   and GrainHash > @BeginHash
   and GrainHash <= @EndHash;
'),

-- Ring slice that wraps around: above BeginHash or up to EndHash.
('ReadRangeRows2Key', '
select GrainId, ReminderName, StartTime, Period, Version
  from OrleansRemindersTable
 where ServiceId = @ServiceId
   and (GrainHash > @BeginHash or GrainHash <= @EndHash);
'),

-- Removes one reminder if its ETag still matches. 1 = removed, 0 = missing or stale.
('DeleteReminderRowKey', '
with removed as (
    delete from OrleansRemindersTable
     where ServiceId = @ServiceId
       and GrainId = @GrainId
       and ReminderName = @ReminderName
       and Version = @Version
    returning 1
)
select count(*)::integer from removed;
'),

-- Removes every reminder of the service (tests / tooling).
('DeleteReminderRowsKey', '
delete from OrleansRemindersTable
 where ServiceId = @ServiceId;
');
