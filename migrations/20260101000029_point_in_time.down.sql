DROP FUNCTION steward_job_due(scheduled_jobs, text[]);
DELETE FROM scheduled_jobs WHERE job = 'base_backup';
ALTER TABLE scheduled_jobs DROP COLUMN needs, DROP COLUMN alarm_unattended_after, DROP COLUMN last_run_unattended;
