-- Version 2 of keycard_sessions. What indexes, the tombstoning UPDATEs and
-- people read stays a column; the fields that only a live record carries
-- (its other times, idle timeout, persistence, client, Meta) move into one
-- bytea, live, whose layout internal/binrec/live.go describes, so that a
-- read fetches and converts 11 columns instead of 21 (sqlitestore's
-- version 2 did the same). Tombstones have live NULL.
--
-- The table is changed in place, so that grants, publications and triggers
-- an operator added to it stay. The UPDATE builds each live row's live
-- column byte for byte as binrec.EncodeLive does: format 1; five times as
-- big-endian int64 Unix microseconds, -2^63 for NULL (the zero time),
-- computed from whole seconds plus the microseconds field so that it is
-- exact on every PostgreSQL version; the idle timeout in nanoseconds;
-- persistent as one byte; IP, user agent and fingerprint each as a uint32
-- length and the bytes; Meta as a presence byte, then length and bytes.
-- Dropping a column only hides it: existing rows shrink as they are next
-- written.
ALTER TABLE {{schema}}.keycard_sessions ADD COLUMN live bytea;

UPDATE {{schema}}.keycard_sessions SET live = '\x01'::bytea
	|| int8send(coalesce(extract(epoch FROM date_trunc('second', created_at))::bigint * 1000000
		+ extract(microseconds FROM created_at)::bigint % 1000000, '-9223372036854775808'::bigint))
	|| int8send(coalesce(extract(epoch FROM date_trunc('second', authenticated_at))::bigint * 1000000
		+ extract(microseconds FROM authenticated_at)::bigint % 1000000, '-9223372036854775808'::bigint))
	|| int8send(coalesce(extract(epoch FROM date_trunc('second', renewed_at))::bigint * 1000000
		+ extract(microseconds FROM renewed_at)::bigint % 1000000, '-9223372036854775808'::bigint))
	|| int8send(coalesce(extract(epoch FROM date_trunc('second', last_seen_at))::bigint * 1000000
		+ extract(microseconds FROM last_seen_at)::bigint % 1000000, '-9223372036854775808'::bigint))
	|| int8send(coalesce(extract(epoch FROM date_trunc('second', idle_expires_at))::bigint * 1000000
		+ extract(microseconds FROM idle_expires_at)::bigint % 1000000, '-9223372036854775808'::bigint))
	|| int8send(idle_timeout)
	|| CASE WHEN persistent THEN '\x01'::bytea ELSE '\x00'::bytea END
	|| int4send(length(ip)) || ip
	|| int4send(length(user_agent)) || user_agent
	|| int4send(length(fingerprint)) || fingerprint
	|| CASE WHEN meta IS NULL THEN '\x00'::bytea ELSE '\x01'::bytea || int4send(length(meta)) || meta END
WHERE state = 0;

ALTER TABLE {{schema}}.keycard_sessions
	DROP COLUMN created_at, DROP COLUMN authenticated_at, DROP COLUMN renewed_at,
	DROP COLUMN last_seen_at, DROP COLUMN idle_expires_at, DROP COLUMN idle_timeout,
	DROP COLUMN persistent, DROP COLUMN ip, DROP COLUMN user_agent, DROP COLUMN fingerprint,
	DROP COLUMN meta;
