#!/usr/bin/env python3
"""Generates examples/data/transactions.csv: a deterministic synthetic card-transactions table.

    python3 examples/data/generate_transactions.py [--rows 3000] [--seed 42] [--out PATH]

Standard library only. About 2% of the rows are deliberately broken (a non-numeric amount, a
missing customer, an unparseable timestamp or boolean, a truncated line) so that schema
validation has something to reject; a few merchant names carry commas and quotes so that the
CSV quoting rules are exercised. The same seed always produces the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

CATEGORIES = ["groceries", "travel", "restaurants", "electronics", "fuel", "health", "entertainment"]
MERCHANTS = {
    "groceries": ["FreshMart", "Corner Grocer", "Bio Basket", "Smith, Jones & Co"],
    "travel": ["SkyHigh Air", "RailOne", "Hotel \"Le Petit\"", "CityCab"],
    "restaurants": ["Joe's \"Best\" Diner", "Pasta Place", "Sushi Go", "Le Bistro, Paris"],
    "electronics": ["Gadget Hub", "Volt Store", "PixelWorks"],
    "fuel": ["FuelUp", "PetroMax"],
    "health": ["CarePharma", "Dental Smiles"],
    "entertainment": ["CineMax", "StreamBox", "Arena Tickets"],
}
MEAN_AMOUNT = {"groceries": 45, "travel": 320, "restaurants": 38, "electronics": 260, "fuel": 60,
               "health": 75, "entertainment": 25}
CURRENCIES = ["EUR", "EUR", "EUR", "USD", "USD", "GBP"]
HEADER = ["transaction_id", "timestamp", "customer_id", "merchant", "category", "amount", "currency",
          "discount", "is_online"]


def generate(rows: int, seed: int) -> str:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    for i in range(rows):
        cat = rng.choice(CATEGORIES)
        ts = start + timedelta(seconds=int(i * 870 + rng.randint(0, 600)))
        amount = round(max(0.5, rng.lognormvariate(0, 0.6) * MEAN_AMOUNT[cat]), 2)
        discount = round(amount * rng.choice([0.05, 0.1, 0.15]), 2) if rng.random() < 0.2 else ""
        row = [
            100000 + i,
            ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            f"C{rng.randint(1, 400):05d}",
            rng.choice(MERCHANTS[cat]) if rng.random() > 0.03 else "",
            cat,
            f"{amount:.2f}",
            rng.choice(CURRENCIES),
            discount if discount == "" else f"{discount:.2f}",
            rng.choice(["true", "false"]),
        ]
        if rng.random() < 0.02:  # a broken row, one of five kinds
            kind = rng.randrange(5)
            if kind == 0:
                row[5] = rng.choice(["n/a", "12,50", "USD 40"])
            elif kind == 1:
                row[2] = ""
            elif kind == 2:
                row[1] = rng.choice(["yesterday", "2026-13-01T00:00:00Z", "01/02/2026"])
            elif kind == 3:
                row[8] = "maybe"
            else:
                row = row[:5]
        w.writerow(row)
    return buf.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default=str(Path(__file__).with_name("transactions.csv")))
    args = ap.parse_args()
    Path(args.out).write_text(generate(args.rows, args.seed))


if __name__ == "__main__":
    main()
