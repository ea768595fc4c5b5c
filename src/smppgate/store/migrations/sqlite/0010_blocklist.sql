-- smppgate store, version 10: a blocklist per account (issue 16, opt-out). A message whose
-- (account, destination) is listed ends `blocked` without being sent: at intake, and at
-- dispatch for numbers listed after it was queued. `source` says how the entry came:
-- `api`, `cli`, `import` (an operator's block) or `keyword` (the number's owner sent an
-- opt-out keyword; an opt-in keyword removes only these). Retention never deletes entries.
CREATE TABLE blocklist (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    number      TEXT NOT NULL,
    source      TEXT NOT NULL,
    reason      TEXT,
    added_by    TEXT,
    created_at  REAL NOT NULL,
    UNIQUE (account, number)
)
