-- Keycard session records. {{schema}} is replaced by the quoted schema name.
-- Strings are bytea so that every byte (NUL included) comes back as it went in.
CREATE TABLE {{schema}}.keycard_sessions (
	hash             bytea       NOT NULL PRIMARY KEY, -- SHA-256 of the token
	id               bytea       NOT NULL,
	subject          bytea       NOT NULL,
	kind             smallint    NOT NULL,
	state            smallint    NOT NULL,             -- 0 live, 1 destroyed, 2 rotated
	created_at       timestamptz,
	authenticated_at timestamptz,
	renewed_at       timestamptz,
	last_seen_at     timestamptz,
	idle_expires_at  timestamptz,
	expires_at       timestamptz,
	idle_timeout     bigint      NOT NULL,             -- nanoseconds
	persistent       boolean     NOT NULL,
	ip               bytea       NOT NULL,
	user_agent       bytea       NOT NULL,
	fingerprint      bytea       NOT NULL,
	data             bytea,
	meta             bytea,
	version          bigint      NOT NULL,
	successor        bytea,
	grace_until      timestamptz,
	deadline         timestamptz                       -- KeepUntil: when the row may be dropped
);

-- One live record per public ID; tombstones keep theirs.
CREATE UNIQUE INDEX keycard_sessions_live_id ON {{schema}}.keycard_sessions (id) WHERE state = 0;
CREATE INDEX keycard_sessions_subject ON {{schema}}.keycard_sessions (subject) WHERE state = 0;
CREATE INDEX keycard_sessions_deadline ON {{schema}}.keycard_sessions (deadline);
