-- 0001: the Orleans ADO.NET query catalogue.
--
-- The Microsoft.Orleans.*.AdoNet providers (clustering, persistence, reminders;
-- written against 10.4.2) never contain SQL of their own: at start-up each one
-- runs "SELECT QueryKey, QueryText FROM OrleansQuery" and afterwards executes only
-- the statements it found there, binding named parameters (@DeploymentId,
-- @GrainIdHash, ...) and reading result columns by name. The scripts 0002-0004
-- create the tables those statements touch and insert the statements themselves.
--
-- Conventions used by all Orleans scripts in this folder:
--   * Identifiers are written unquoted in mixed case for readability; PostgreSQL
--     folds them to lower case (orleansquery, querykey, ...). The providers'
--     lookups (e.g. "FROM OrleansQuery") are unquoted too, and Npgsql matches
--     result column names case-insensitively, so this is consistent.
--   * Plain SQL only (no psql meta-commands); every statement is transactional, so
--     each file can be applied by DbUp inside one transaction, exactly once, on a
--     fresh database.
--   * Function bodies use the empty dollar quote $$ so no tag can be mistaken for
--     a DbUp $variable$.
--   * A query text is a single-quoted literal, so quotes inside it are doubled.

create table OrleansQuery
(
    -- Key the provider asks for, e.g. 'WriteToStorageKey'.
    QueryKey  varchar(64)   not null,
    -- Statement executed for that key; the providers use named @parameters.
    QueryText varchar(8000) not null,

    constraint OrleansQuery_Key primary key (QueryKey)
);
