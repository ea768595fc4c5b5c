"""Split + encode throughput of smppgate.text.plan_split on the gateway's hot path.

Prints one JSON line per case: {"bench", "case", "chars", "encoding", "parts", "messages_per_s",
"us_per_message", "python"}. Usage: python benchmarks/bench_text.py [--seconds S]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from smppgate.text import SplitMethod, plan_split

CASES = {
    "latin_70": ("Your code is 482913, valid for 10 minutes. " * 2)[:70],
    "cyrillic_300": (
        "Здравствуйте! Ваш заказ номер 123456 принят и будет доставлен завтра между 10:00 и 18:00. "
        * 4
    )[:300],
    "emoji_100": ("Party tonight 🎉🎉 bring snacks 🍕 and good mood 😀👍 see you! " * 2)[:100],
}


def measure(text: str, method: SplitMethod, seconds: float) -> tuple[int, float]:
    """Messages planned and elapsed time, in rounds of 1000 until ``seconds`` have passed."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(1000):
            plan_split(text, method=method, reference=42)
        count += 1000
        now = time.perf_counter()
        if now >= deadline:
            return count, now - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per case")
    args = parser.parse_args()
    for name, text in CASES.items():
        for method in (SplitMethod.UDH, SplitMethod.SAR):
            plan = plan_split(text, method=method, reference=42)
            count, elapsed = measure(text, method, args.seconds)
            print(
                json.dumps(
                    {
                        "bench": "text.plan_split",
                        "case": name,
                        "method": method.value,
                        "chars": len(text),
                        "encoding": plan.encoding.value,
                        "parts": len(plan.parts),
                        "messages_per_s": round(count / elapsed),
                        "us_per_message": round(elapsed / count * 1e6, 3),
                        "python": platform.python_version(),
                    }
                )
            )


if __name__ == "__main__":
    main()
