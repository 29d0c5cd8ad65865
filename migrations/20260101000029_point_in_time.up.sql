-- Issue 18: point-in-time recovery's daily base backup is a scheduled job,
-- and what a job needs of the server that runs it is said by the job's row,
-- in one rule both scheduler queries call (it was a CASE on the backup job,
-- written twice).
ALTER TABLE scheduled_jobs
    -- A setting the server must have to run the job ('backup_dir',
    -- 'pitr_dir'); NULL: any server runs it.
    ADD COLUMN needs text,
    -- A server without that setting takes the job when none has run it for
    -- this long, only to raise the alarm that nobody does; NULL: never.
    ADD COLUMN alarm_unattended_after interval,
    -- The last run was such an alarm: a server with the setting takes the
    -- job at once, not at its next turn.
    ADD COLUMN last_run_unattended boolean NOT NULL DEFAULT false;

UPDATE scheduled_jobs SET needs = 'backup_dir', alarm_unattended_after = interval '2 days',
       last_run_unattended = (last_outcome = 'alarm' AND last_message LIKE 'no backups are being made%')
 WHERE job = 'backup';

INSERT INTO scheduled_jobs (job, title, position, every_seconds, needs, last_message) VALUES
  ('base_backup', 'Point-in-time recovery: a base backup, expired ones and their WAL deleted', 45, 86400, 'pitr_dir',
   'Runs on a server with STEWARD_PITR_DIR (Steward''s own cluster); none has run it yet.');

-- Whether a server that has the settings p_has may take the job now.
CREATE FUNCTION steward_job_due(j scheduled_jobs, p_has text[])
RETURNS boolean
LANGUAGE sql STABLE SET search_path = public, pg_temp AS $$
  SELECT CASE
    WHEN j.needs IS NOT NULL AND NOT j.needs = ANY (p_has) THEN
      j.alarm_unattended_after IS NOT NULL
      AND (j.last_started_at IS NULL OR j.last_started_at < now() - j.alarm_unattended_after)
    ELSE
      j.last_started_at IS NULL
      OR j.last_started_at + make_interval(secs => j.every_seconds) <= now()
      OR j.running_since IS NOT NULL
      OR j.last_run_unattended
  END
$$;
