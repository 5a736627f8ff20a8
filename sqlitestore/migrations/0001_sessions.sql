-- Keycard session records. Strings are BLOBs so that every byte (NUL,
-- invalid UTF-8) comes back as it went in; times are Unix microseconds in
-- UTC, NULL for the zero time. Open replaces {{prefix}} by
-- Options.TablePrefix.
CREATE TABLE {{prefix}}sessions (
	hash             BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token
	id               BLOB    NOT NULL,
	subject          BLOB    NOT NULL,
	kind             INTEGER NOT NULL,
	state            INTEGER NOT NULL,             -- 0 live, 1 destroyed, 2 rotated
	created_at       INTEGER,
	authenticated_at INTEGER,
	renewed_at       INTEGER,
	last_seen_at     INTEGER,
	idle_expires_at  INTEGER,
	expires_at       INTEGER,
	idle_timeout     INTEGER NOT NULL,             -- nanoseconds
	persistent       INTEGER NOT NULL,
	ip               BLOB    NOT NULL,
	user_agent       BLOB    NOT NULL,
	fingerprint      BLOB    NOT NULL,
	data             BLOB,
	meta             BLOB,
	version          INTEGER NOT NULL,
	successor        BLOB,
	grace_until      INTEGER,
	deadline         INTEGER                       -- KeepUntil: when the row may be dropped
) WITHOUT ROWID;

-- One live record per public ID; tombstones keep theirs.
CREATE UNIQUE INDEX {{prefix}}sessions_live_id ON {{prefix}}sessions (id) WHERE state = 0;
CREATE INDEX {{prefix}}sessions_subject ON {{prefix}}sessions (subject) WHERE state = 0;
CREATE INDEX {{prefix}}sessions_deadline ON {{prefix}}sessions (deadline);
