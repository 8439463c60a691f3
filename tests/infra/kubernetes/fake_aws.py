#!/usr/bin/env python3
"""Stand-in for the AWS CLI's `aws [--endpoint-url URL] s3 cp|ls|rm` used by
the backup scripts: s3://bucket/key maps to $FAKE_S3_ROOT/bucket/key."""
import os
import shutil
import sys
from pathlib import Path

root = Path(os.environ["FAKE_S3_ROOT"])
args = [a for a in sys.argv[1:] if a != "--only-show-errors"]
if args[:1] == ["--endpoint-url"]:
    args = args[2:]
assert args[0] == "s3", args
cmd, rest = args[1], args[2:]


def local(uri: str) -> Path:
    assert uri.startswith("s3://"), uri
    return root / uri[len("s3://"):]


if cmd == "cp":
    src, dst = rest
    if src.startswith("s3://"):
        if not local(src).is_file():
            sys.exit(f"fatal error: {src} does not exist")
        shutil.copyfile(local(src), dst)
    else:
        local(dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, local(dst))
elif cmd == "ls":
    d = local(rest[0])
    if d.is_dir():
        for f in sorted(d.iterdir()):
            print(f"2026-01-01 00:00:00 {f.stat().st_size:>10} {f.name}")
elif cmd == "rm":
    local(rest[0]).unlink()
else:
    sys.exit(f"fake aws: unsupported command {cmd}")
