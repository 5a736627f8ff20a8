-- The revocation state of sealed-cookie sessions (storage.Revocations), in
-- tables of their own: nothing that reads or ends sessions reaches them.
-- IDs and subjects are BLOBs, byte for byte as given; times are Unix
-- microseconds in UTC. Open replaces {{prefix}} by Options.TablePrefix.
CREATE TABLE {{prefix}}sessions_denied (
	id    BLOB    NOT NULL PRIMARY KEY, -- the public ID of an ended sealed session
	until INTEGER NOT NULL              -- kept until then: the latest of the denials
) WITHOUT ROWID;
CREATE INDEX {{prefix}}sessions_denied_until ON {{prefix}}sessions_denied (until);

CREATE TABLE {{prefix}}sessions_generations (
	subject   BLOB    NOT NULL PRIMARY KEY,
	n         INTEGER NOT NULL, -- the current generation: sessions sealed under an earlier one are ended
	except_id BLOB    NOT NULL, -- except this one, spared by the latest RevokeSubject (empty: none)
	until     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX {{prefix}}sessions_generations_until ON {{prefix}}sessions_generations (until);

-- One row per DenyID and RevokeSubject, written in the change's
-- transaction, so that the processes sharing the file learn of each
-- other's changes (a watcher polls it). seq only grows: the sweep keeps
-- the newest row, and a subject without a generation row starts from the
-- seq of its change, above every generation handed out before.
CREATE TABLE {{prefix}}sessions_revocation_log (
	seq    INTEGER NOT NULL PRIMARY KEY,
	at     INTEGER NOT NULL, -- when it was written: the sweep drops rows a minute old
	kind   INTEGER NOT NULL, -- 1 deny entry (key: the ID), 2 generation (key: the subject)
	key    BLOB    NOT NULL,
	origin BLOB    NOT NULL  -- the Store that wrote it, whose own watchers were told in process
);
