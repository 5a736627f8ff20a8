-- The local users of keycard serve (storage.Users), in a table of their
-- own: nothing that reads, lists, ends or expires sessions reaches it. Its
-- name starts with sessions_ like every table of Keycard's, so that a file
-- an application shares with Keycard under the default (empty) prefix
-- keeps its own users table. Names and password hashes are BLOBs, byte for
-- byte as given, so that the primary key compares and ORDER BY sorts them
-- byte for byte; times are Unix microseconds in UTC, NULL for the zero
-- time. Open replaces {{prefix}} by Options.TablePrefix.
CREATE TABLE {{prefix}}sessions_users (
	name          BLOB    NOT NULL PRIMARY KEY,
	password_hash BLOB    NOT NULL, -- a PHC string; never a password
	disabled      INTEGER NOT NULL, -- 1: the user cannot sign in
	created_at    INTEGER,
	updated_at    INTEGER,
	version       INTEGER NOT NULL  -- compare-and-swap version, 1 after CreateUser
) WITHOUT ROWID;
