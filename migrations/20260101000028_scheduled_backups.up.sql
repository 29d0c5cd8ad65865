-- Issue 18: the daily backup is one of the scheduled jobs (its last run
-- and outcome on the System screen, like the others).
INSERT INTO scheduled_jobs (job, title, position, every_seconds) VALUES
  ('backup', 'Backup: the database, document contents and the sealed master key', 40, 86400);
