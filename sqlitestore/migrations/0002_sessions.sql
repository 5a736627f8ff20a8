-- Version 2 of the sessions table. What indexes, the tombstoning UPDATEs
-- and people read stays a column; the fields that only a live record
-- carries (its other times, idle timeout, persistence, client, Meta) are
-- one BLOB, live, whose layout internal/binrec/live.go describes, so that a read fetches
-- 11 columns instead of 21. Strings are BLOBs so that every byte comes back
-- as it went in; times are Unix microseconds in UTC, NULL for the zero time.
-- Open runs this file inside the Go step of migration 2 (migrate.go), once
-- the version 1 table has been renamed and its indexes dropped, with
-- {{prefix}} replaced by Options.TablePrefix.
CREATE TABLE {{prefix}}sessions (
	hash        BLOB    NOT NULL PRIMARY KEY, -- SHA-256 of the token
	id          BLOB    NOT NULL,
	subject     BLOB    NOT NULL,
	kind        INTEGER NOT NULL,             -- 1 browser, 2 api
	state       INTEGER NOT NULL,             -- 0 live, 1 destroyed, 2 rotated
	expires_at  INTEGER,                      -- absolute deadline
	version     INTEGER NOT NULL,
	successor   BLOB,                         -- state 2: hash of the token that replaced this one
	grace_until INTEGER,                      -- state 2: until when this token resolves to successor
	deadline    INTEGER,                      -- KeepUntil: when the row may be dropped
	data        BLOB,                         -- the application's values (a JSON object); NULL in a tombstone
	live        BLOB                          -- binrec/live.go; NULL in a tombstone
) WITHOUT ROWID;

-- One live record per public ID; tombstones keep theirs.
CREATE UNIQUE INDEX {{prefix}}sessions_live_id ON {{prefix}}sessions (id) WHERE state = 0;
CREATE INDEX {{prefix}}sessions_subject ON {{prefix}}sessions (subject) WHERE state = 0;
CREATE INDEX {{prefix}}sessions_deadline ON {{prefix}}sessions (deadline);
