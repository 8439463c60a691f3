-- MLflow allows param values of 6,000 and run tag values of 8,000 characters, but a btree entry
-- holds at most ~2,700 bytes: the (key, value) indexes made such a write fail with "index row
-- size exceeds btree version 4 maximum". Searches filter by key first, so the key alone is
-- indexed, and long values are stored like any other.
DROP INDEX IF EXISTS params_key_value;
DROP INDEX IF EXISTS tags_key_value;
CREATE INDEX params_key ON params (key);
CREATE INDEX tags_key ON tags (key);
