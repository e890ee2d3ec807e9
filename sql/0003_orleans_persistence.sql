-- 0003: Orleans grain state storage (Microsoft.Orleans.Persistence.AdoNet 10.4.2).
--
-- One row per (service, grain type, grain id). The grain id is split the way the
-- provider sends it: GrainIdN0/N1 carry a Guid or integer key, GrainIdExtensionString
-- a string key or key extension (NULL when there is none); the two hashes are
-- computed by the provider and only serve to narrow look-ups.
--
-- What the provider binds / reads (from the 10.4.2 assembly):
--   parameters: @GrainIdHash, @GrainTypeHash (int), @GrainIdN0, @GrainIdN1 (bigint),
--     @GrainTypeString, @GrainIdExtensionString (text, may be NULL), @ServiceId,
--     @GrainStateVersion (int, NULL when the grain holds no ETag yet),
--     @PayloadBinary (bytea; write only).
--   read result columns, by name: PayloadBinary, Version.
--   write/clear/delete result: one value, the new version (NewGrainStateVersion).
--
-- Payload: 10.4.2 always hands the configured IGrainStorageSerializer's output to
-- the database as @PayloadBinary and reads PayloadBinary back, whatever the format;
-- with our System.Text.Json serializer that is the UTF-8 JSON text. PayloadJson is
-- kept, as in the upstream layout, for serializers/tools that want a text column;
-- the 10.4.2 statements below never bind it and reset it on every write so it can
-- never hold a stale copy. (Upstream's XML column is left out: nothing can fill it.)
--
-- Optimistic concurrency: Version is the grain's ETag. A write or clear only
-- applies when the caller's @GrainStateVersion equals the stored Version; otherwise
-- nothing changes and the statement reports the caller's own (stale) version or
-- nothing at all, which the provider turns into an InconsistentStateException.
create table OrleansStorage
(
    GrainIdHash            integer        not null,
    GrainIdN0              bigint         not null,
    GrainIdN1              bigint         not null,
    GrainTypeHash          integer        not null,
    GrainTypeString        varchar(512)   not null,
    GrainIdExtensionString varchar(512)   null,
    ServiceId              varchar(150)   not null,
    PayloadBinary          bytea          null,     -- NULL after a clear: "no record"
    PayloadJson            text           null,     -- unused by 10.4.2, see above
    ModifiedOn             timestamptz    not null default now(),
    Version                integer        not null
);

-- At most one row per grain state, which makes the first insert race-free
-- (ON CONFLICT below) even when two activations of a grain exist briefly.
-- NULLS NOT DISTINCT (PostgreSQL 15+): a NULL extension is one value, not many.
-- The two hashes lead, so the index also serves every look-up by the providers.
create unique index UX_OrleansStorage_Grain
    on OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1,
                       ServiceId, GrainTypeString, GrainIdExtensionString)
    nulls not distinct;

-- Writes a grain state. Returns the new version on success. On a conflict it
-- returns the caller's version unchanged (stale update) or NULL (an insert found
-- an existing row); both make the provider raise InconsistentStateException.
create function orleans_storage_write(
    p_grain_id_hash             integer,
    p_grain_id_n0               bigint,
    p_grain_id_n1               bigint,
    p_grain_type_hash           integer,
    p_grain_type_string         text,
    p_grain_id_extension_string text,
    p_service_id                text,
    p_grain_state_version       integer,
    p_payload_binary            bytea)
returns integer
language plpgsql
as $$
declare
    v_new_version integer;
begin
    if p_grain_state_version is null then
        -- The grain has no ETag: it never saw a stored state, so only the very first
        -- insert may succeed.
        insert into OrleansStorage
            (GrainIdHash, GrainIdN0, GrainIdN1, GrainTypeHash, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, PayloadJson, ModifiedOn, Version)
        values
            (p_grain_id_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type_hash, p_grain_type_string,
             p_grain_id_extension_string, p_service_id, p_payload_binary, null, now(), 1)
        on conflict do nothing;
        if found then
            return 1;
        end if;
        return null;
    end if;

    update OrleansStorage
       set PayloadBinary = p_payload_binary,
           PayloadJson = null,
           ModifiedOn = now(),
           Version = Version + 1
     where GrainIdHash = p_grain_id_hash
       and GrainTypeHash = p_grain_type_hash
       and GrainIdN0 = p_grain_id_n0
       and GrainIdN1 = p_grain_id_n1
       and ServiceId = p_service_id
       and GrainTypeString = p_grain_type_string
       and GrainIdExtensionString is not distinct from p_grain_id_extension_string
       and Version = p_grain_state_version
    returning Version into v_new_version;
    if found then
        return v_new_version;
    end if;
    return p_grain_state_version;
end
$$;

insert into OrleansQuery (QueryKey, QueryText) values

('WriteToStorageKey', '
select orleans_storage_write(
    @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
    @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary) as NewGrainStateVersion;
'),

-- No row: the grain starts from its default state with no ETag. A row with a NULL
-- payload (cleared) still hands back its Version, so the next write is checked.
('ReadFromStorageKey', '
select PayloadBinary, Version
  from OrleansStorage
 where GrainIdHash = @GrainIdHash
   and GrainTypeHash = @GrainTypeHash
   and GrainIdN0 = @GrainIdN0
   and GrainIdN1 = @GrainIdN1
   and ServiceId = @ServiceId
   and GrainTypeString = @GrainTypeString
   and GrainIdExtensionString is not distinct from @GrainIdExtensionString;
'),

-- ClearStateAsync (default, DeleteStateOnClear = false): keep the row as a
-- tombstone with a NULL payload and a bumped version. No row returned = conflict.
('ClearStorageKey', '
update OrleansStorage
   set PayloadBinary = null,
       PayloadJson = null,
       ModifiedOn = now(),
       Version = Version + 1
 where GrainIdHash = @GrainIdHash
   and GrainTypeHash = @GrainTypeHash
   and GrainIdN0 = @GrainIdN0
   and GrainIdN1 = @GrainIdN1
   and ServiceId = @ServiceId
   and GrainTypeString = @GrainTypeString
   and GrainIdExtensionString is not distinct from @GrainIdExtensionString
   and Version = @GrainStateVersion
returning Version as NewGrainStateVersion;
'),

-- Optional key, used only with AdoNetGrainStorageOptions.DeleteStateOnClear = true
-- (without it the provider refuses that option at start-up). Removes the row when
-- the version matches. The provider only needs a value different from the caller's
-- version to accept the delete (it then drops the ETag), hence Version + 1.
('DeleteStorageKey', '
delete from OrleansStorage
 where GrainIdHash = @GrainIdHash
   and GrainTypeHash = @GrainTypeHash
   and GrainIdN0 = @GrainIdN0
   and GrainIdN1 = @GrainIdN1
   and ServiceId = @ServiceId
   and GrainTypeString = @GrainTypeString
   and GrainIdExtensionString is not distinct from @GrainIdExtensionString
   and Version = @GrainStateVersion
returning Version + 1 as NewGrainStateVersion;
');
