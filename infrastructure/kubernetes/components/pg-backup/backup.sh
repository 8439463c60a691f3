#!/bin/sh
# Dump the platform database to object storage and prune dumps older than
# RETENTION_DAYS. POSIX sh (runs under busybox in the image and dash in tests).
#   DATABASE_URL                       libpq URI of the source (no password)
#   DATABASE_PASSWORD_FILE             file holding the password (optional)
#   BACKUP_S3_URI                      s3://bucket/prefix
#   RETENTION_DAYS                     default 7
#   S3_ENDPOINT_URL                    set for MinIO, empty for AWS S3
#   BACKUP_WORKDIR                     scratch directory (default /tmp)
set -eu
: "${BACKUP_S3_URI:?BACKUP_S3_URI is required}"
RETENTION_DAYS="${RETENTION_DAYS:-7}"
: "${DATABASE_URL:?DATABASE_URL is required}"
if [ -n "${DATABASE_PASSWORD_FILE:-}" ]; then
  PGPASSWORD="$(cat "$DATABASE_PASSWORD_FILE")"
  export PGPASSWORD
fi
aws_s3() {
  if [ -n "${S3_ENDPOINT_URL:-}" ]; then aws --endpoint-url "$S3_ENDPOINT_URL" s3 "$@"; else aws s3 "$@"; fi
}
prefix="${BACKUP_S3_URI%/}"
ts="$(date -u +%Y%m%dT%H%M%SZ)"
name="mlp-${ts}.dump"
work="${BACKUP_WORKDIR:-/tmp}/${name}"
trap 'rm -f "$work"' EXIT

pg_dump --format=custom --compress=6 --no-owner --no-privileges --dbname="$DATABASE_URL" --file="$work"
# Refuse to upload an archive that pg_restore cannot read.
pg_restore --list "$work" > /dev/null
aws_s3 cp --only-show-errors "$work" "${prefix}/${name}"
echo "backup: uploaded ${prefix}/${name} ($(wc -c < "$work") bytes)"

# Retention: dump names sort by time, so compare names against the cutoff.
now="$(date -u +%s)"
cutoff="mlp-$(date -u -d "@$((now - RETENTION_DAYS * 86400))" +%Y%m%dT%H%M%SZ).dump"
aws_s3 ls "${prefix}/" | awk '{print $NF}' | grep -E '^mlp-[0-9]{8}T[0-9]{6}Z\.dump$' \
  | awk -v cutoff="$cutoff" -v current="$name" '$0 < cutoff && $0 != current' \
  | while read -r old; do
      aws_s3 rm --only-show-errors "${prefix}/${old}"
      echo "backup: pruned ${prefix}/${old}"
    done
