"""The SQL both history stores run (:mod:`assistant.store`), written with ``?`` placeholders
(the Postgres store rewrites them to ``%s``).

Tables carry an ``encore_`` prefix so that a Postgres database can be shared with other
programs. ``encore_schema_version`` holds the version of these tables
(:data:`assistant.store.SCHEMA_VERSION`).
"""

SESSIONS_TABLE = ("CREATE TABLE IF NOT EXISTS {table} ("
                  " user_id TEXT NOT NULL,"
                  " session_id TEXT NOT NULL,"
                  " state TEXT NOT NULL,"
                  " updated_at BIGINT NOT NULL,"
                  " PRIMARY KEY (user_id, session_id))")
SCHEMA = (
    "CREATE TABLE IF NOT EXISTS encore_schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS encore_events ("
    " id {id_column},"
    " user_id TEXT NOT NULL,"
    " item_id TEXT NOT NULL,"
    " kind TEXT NOT NULL,"
    " ts BIGINT NOT NULL,"
    " session_id TEXT)",
    "CREATE INDEX IF NOT EXISTS encore_events_user ON encore_events (user_id, ts, id)",
    SESSIONS_TABLE.format(table="encore_sessions"),
    "CREATE INDEX IF NOT EXISTS encore_sessions_updated ON encore_sessions (updated_at)",
)
# Version 1 keyed sessions by id alone. A primary key cannot be changed in place (SQLite), and
# a renamed Postgres table keeps its key's index name, so the rows move to a new table that
# then takes the old name.
MIGRATE_1_TO_2 = (
    SESSIONS_TABLE.format(table="encore_sessions_v2"),
    "INSERT INTO encore_sessions_v2 (user_id, session_id, state, updated_at) "
    "SELECT user_id, session_id, state, updated_at FROM encore_sessions",
    "DROP TABLE encore_sessions",
    "ALTER TABLE encore_sessions_v2 RENAME TO encore_sessions",
)
TABLES = ("encore_schema_version", "encore_events", "encore_sessions")
GET_VERSION = "SELECT version FROM encore_schema_version"
SET_VERSION = "INSERT INTO encore_schema_version (version) VALUES (?)"
UPDATE_VERSION = "UPDATE encore_schema_version SET version = ?"
ADD_EVENT = ("INSERT INTO encore_events (user_id, item_id, kind, ts, session_id) "
             "VALUES (?, ?, ?, ?, ?)")
EVENTS = ("SELECT user_id, item_id, kind, ts, session_id FROM encore_events "
          "WHERE user_id = ? ORDER BY ts, id")
LAST_EVENTS = ("SELECT user_id, item_id, kind, ts, session_id FROM ("
               "SELECT user_id, item_id, kind, ts, session_id, id FROM encore_events "
               "WHERE user_id = ? ORDER BY ts DESC, id DESC LIMIT ?) AS recent "
               "ORDER BY ts, id")
FORGET_ITEM = "DELETE FROM encore_events WHERE user_id = ? AND item_id = ?"
USERS = "SELECT DISTINCT user_id FROM encore_events ORDER BY user_id"
SAVE_SESSION = ("INSERT INTO encore_sessions (session_id, user_id, state, updated_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, session_id) DO UPDATE SET "
                "state = excluded.state, updated_at = excluded.updated_at")
LOAD_SESSION = ("SELECT state, updated_at FROM encore_sessions "
                "WHERE session_id = ? AND user_id = ?")
DELETE_SESSION = "DELETE FROM encore_sessions WHERE session_id = ? AND user_id = ?"
PURGE_SESSIONS = "DELETE FROM encore_sessions WHERE updated_at < ?"
