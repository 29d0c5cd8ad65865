DELETE FROM scheduled_jobs WHERE job = 'backup';
