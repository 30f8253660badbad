-- A stream lane's retry state (bisection splits, retries and invocations of its head batch) is kept with its
-- checkpoint and written in the settle that moves it, so that a poison record is not retried from zero after every
-- restart.
ALTER TABLE stream_checkpoint ADD COLUMN retry_state TEXT;
