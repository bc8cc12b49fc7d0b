"""Bar charts of a benchmark run's figures, drawn into docs/ (matplotlib, no display)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"


def bars(
    rows: Sequence[tuple[str, float]],
    *,
    title: str,
    xlabel: str,
    path: Path,
    target: float | None = None,
    target_label: str = "target",
    log: bool = False,
) -> None:
    """One horizontal bar per (label, value), top to bottom in the given order; ferromem's
    bars are drawn in a strong colour, the peers' in grey, and the value is written on each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [label for label, _ in rows][::-1]
    values = [value for _, value in rows][::-1]
    colours = ["tab:orange" if "ferromem" in label else "tab:grey" for label in labels]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(rows) + 1.4), dpi=110)
    ax.barh(labels, values, color=colours)
    top = max(values)
    for y, value in enumerate(values):
        text = f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
        ax.text(value * (1.03 if log else 1) + (0 if log else top * 0.01), y, text, va="center")
    if target is not None:
        ax.axvline(target, color="tab:red", linestyle=":", linewidth=1.2, label=target_label)
        ax.legend(loc="center right")
    if log:
        ax.set_xscale("log")
        ax.set_xlim(right=top * 4)
    else:
        ax.set_xlim(0, max(top, target or 0) * 1.18)
    ax.set_xlabel(xlabel)
    # Over the whole figure: the bars' long labels leave the axes too narrow for it.
    fig.suptitle(title, fontsize=10)
    ax.grid(True, axis="x", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    print(f"plot: {path}")
