#!/bin/sh
# Restore a dump written by backup.sh into RESTORE_DATABASE_URL (password in
# RESTORE_DATABASE_PASSWORD_FILE, optional). BACKUP_NAME selects a dump;
# default: the newest.
set -eu
: "${BACKUP_S3_URI:?BACKUP_S3_URI is required}"
# Never restore into the backup source by accident: the target is explicit.
: "${RESTORE_DATABASE_URL:?RESTORE_DATABASE_URL is required}"
if [ -n "${RESTORE_DATABASE_PASSWORD_FILE:-}" ]; then
  PGPASSWORD="$(cat "$RESTORE_DATABASE_PASSWORD_FILE")"
  export PGPASSWORD
fi
aws_s3() {
  if [ -n "${S3_ENDPOINT_URL:-}" ]; then aws --endpoint-url "$S3_ENDPOINT_URL" s3 "$@"; else aws s3 "$@"; fi
}
prefix="${BACKUP_S3_URI%/}"
name="${BACKUP_NAME:-}"
if [ -z "$name" ]; then
  name="$(aws_s3 ls "${prefix}/" | awk '{print $NF}' | grep -E '^mlp-[0-9]{8}T[0-9]{6}Z\.dump$' | sort | tail -n 1)"
fi
[ -n "$name" ] || { echo "restore: no dump found under ${prefix}/" >&2; exit 1; }
work="${BACKUP_WORKDIR:-/tmp}/${name}"
trap 'rm -f "$work"' EXIT
aws_s3 cp --only-show-errors "${prefix}/${name}" "$work"
pg_restore --clean --if-exists --no-owner --no-privileges --exit-on-error --single-transaction \
  --dbname="$RESTORE_DATABASE_URL" "$work"
echo "restore: restored ${prefix}/${name}"
