#!/bin/sh
# Keeps the application's own database role in step with its secret: creates
# the role on the first run, sets its password when the application's login
# is refused (after a rotation), and gives it the database. Connects as the
# RDS master only for that; the application never sees the master login.
set -eu
# The role is the user of DATABASE_URL (the URL carries no password).
app_user="$(printf '%s' "$DATABASE_URL" | sed -E 's#^[a-z]+://([^@:/]*)@.*#\1#')"
app_pw="$(cat /var/run/secrets/mlp/database/password)"
admin_user="$(cat /var/run/secrets/mlp/database-admin/username)"
admin_pw="$(cat /var/run/secrets/mlp/database-admin/password)"
# DATABASE_URL names the application role; the master logs in to the same database.
admin_url="$(printf '%s' "$DATABASE_URL" | sed "s#://[^@]*@#://${admin_user}@#")"

if PGPASSWORD="$app_pw" psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c 'SELECT 1' >/dev/null 2>&1; then
  echo "db-user-sync: $app_user logs in; nothing to do"
  exit 0
fi
echo "db-user-sync: $app_user cannot log in; creating it or setting its password"
# Values travel as psql variables (quoted by format %I/%L), never spliced into SQL text.
PGPASSWORD="$admin_pw" psql -X -q -v ON_ERROR_STOP=1 -v app="$app_user" -v pw="$app_pw" "$admin_url" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'app') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'app', :'pw') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', current_database(), :'app') \gexec
SELECT format('GRANT ALL ON SCHEMA public TO %I', :'app') \gexec
SQL
PGPASSWORD="$app_pw" psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" -c 'SELECT 1' >/dev/null
echo "db-user-sync: $app_user logs in"
