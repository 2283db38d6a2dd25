-- Relais on PostgreSQL: who may do what.
--
--   relais_owner  owns the schema and runs the migrations (`python -m dashboard init-db` with its URL), `retention`
--                 (both kinds, and `--set-period`), `rekey` and `audit checkpoint`: the operations that destroy or
--                 rewrite evidence, or vouch for it.
--   relais_app    is what the app and the other commands connect as (`serve`, `import`, `demo-data`, `geo import`,
--                 `metrics`, `report`, `alerts`, `audit verify`). It reads everything and writes
--                 only what those write: it appends audit rows through audit_append() alone (which sets the id, the
--                 time and the chain), and it adds to the evidence tables without changing or removing what is
--                 there. Not owning any table, it cannot drop or disable their triggers either.
--
-- Run as a superuser (or a role with CREATEROLE) in Relais's database, after each `init-db` (it is idempotent):
--   psql -v ON_ERROR_STOP=1 -d relais -f queries/sql/postgresql_roles.sql
-- then give both roles a password (ALTER ROLE relais_app PASSWORD '...') unless the server authenticates otherwise.
-- The database itself: CREATE DATABASE relais OWNER relais_owner;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_owner') THEN
        CREATE ROLE relais_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'relais_app') THEN
        CREATE ROLE relais_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO relais_app', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO relais_app;
REVOKE CREATE ON SCHEMA public FROM relais_app;
-- Before PostgreSQL 15 every role could create objects in public: not here.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM relais_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM relais_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM relais_app;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO relais_app;

-- What the app and its commands write. Reference data: `serve` reloads it at start, `geo import` adds boundaries.
GRANT INSERT, UPDATE, DELETE ON police_service, municipality, membership, municipality_boundary, organisation,
    organisation_service TO relais_app;
-- One row per stale spell announced to the administrators (the drop folder's watcher and `freshness --send` send
-- them); a spell whose e-mail reached nobody is removed, to be announced again.
GRANT INSERT, DELETE ON stale_notice TO relais_app;
-- Imports (and the removal of demo data), the worker's form, and what each write recomputes.
GRANT INSERT, UPDATE, DELETE ON intervention, outreach_attempt, weekly_count TO relais_app;
GRANT UPDATE ON data_version TO relais_app;
-- Evidence the app adds to and never changes: a worker's corrections and withdrawals, closed cases.
GRANT INSERT ON attempt_revision, case_closure TO relais_app;
-- An import's batch row: written, then its end time set in the same transaction. Only demo batches can be removed
-- (with the demo data), by the row security below.
GRANT INSERT, DELETE ON import_batch TO relais_app;
GRANT UPDATE (finished_at) ON import_batch TO relais_app;
-- The fingerprint of the first pseudonyms; once pseudonyms are stored, only the owner's `rekey` may change it (the
-- pseudonym_check_guard trigger), and nobody but the owner may remove it.
GRANT INSERT, UPDATE (fingerprint, set_at) ON pseudonym_check TO relais_app;
-- No write on audit_checkpoint: `audit checkpoint` runs as the owner. A checkpoint the app could insert would fail
-- its signature, but stays for good (append-only), so any web replica could make `verify` fail for ever.
-- The sequences of the rows it inserts; audit rows are numbered by audit_append, as the owner.
GRANT USAGE, SELECT ON SEQUENCE import_batch_id_seq, intervention_id_seq, membership_id_seq,
    outreach_attempt_id_seq, attempt_revision_id_seq, case_closure_id_seq, organisation_service_id_seq,
    stale_notice_id_seq TO relais_app;

-- The one way the app writes audit rows: audit_append (migration 0013, SECURITY DEFINER, owned by the owner) sets
-- the id, the time and the chain itself. The migration revoked it from PUBLIC.
GRANT EXECUTE ON FUNCTION audit_append(text, text, text, text, text, text, text) TO relais_app;

-- import_batch: the app sees and adds every batch, sets the end time, and removes demo batches only.
ALTER TABLE import_batch ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS relais_app_reads ON import_batch;
DROP POLICY IF EXISTS relais_app_adds ON import_batch;
DROP POLICY IF EXISTS relais_app_finishes ON import_batch;
DROP POLICY IF EXISTS relais_app_removes_demo ON import_batch;
CREATE POLICY relais_app_reads ON import_batch FOR SELECT TO relais_app USING (true);
CREATE POLICY relais_app_adds ON import_batch FOR INSERT TO relais_app WITH CHECK (true);
-- The end time of a batch still being written only: a finished batch's time is evidence of when its rows came. The
-- importer writes a batch with a time and sets the end one as its transaction ends (finished_at is never NULL), so
-- "not finished" is "written by this very transaction": age(xmin) is 0 for a row this transaction inserted.
CREATE POLICY relais_app_finishes ON import_batch FOR UPDATE TO relais_app USING (age(xmin) = 0)
    WITH CHECK (true);
CREATE POLICY relais_app_removes_demo ON import_batch FOR DELETE TO relais_app USING (demo);

-- intervention: the app reads, adds and updates (imports upsert) every row, and removes demo rows only (the demo's
-- removal); real rows go by `retention`, as the owner, whom row security does not bind (no FORCE). Deleting a real
-- row would take its case closures and attempt revisions with it (ON DELETE CASCADE). Whether a row is demo data
-- only the owner changes (the intervention_demo_guard trigger of migration 0013).
ALTER TABLE intervention ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS relais_app_reads ON intervention;
DROP POLICY IF EXISTS relais_app_adds ON intervention;
DROP POLICY IF EXISTS relais_app_updates ON intervention;
DROP POLICY IF EXISTS relais_app_removes_demo ON intervention;
CREATE POLICY relais_app_reads ON intervention FOR SELECT TO relais_app USING (true);
CREATE POLICY relais_app_adds ON intervention FOR INSERT TO relais_app WITH CHECK (true);
CREATE POLICY relais_app_updates ON intervention FOR UPDATE TO relais_app USING (true) WITH CHECK (true);
CREATE POLICY relais_app_removes_demo ON intervention FOR DELETE TO relais_app USING (demo);
