"""The network picture: who cooperates with whom.

Nodes are countries on a circle (sized by how many outcomes they take part in, isolated
participants in grey); an arrow goes from provider to recipient for each stage reached, coloured
by stage and as wide as the number of pairings. Drawn with networkx on a matplotlib `Figure`
(Agg canvas, no pyplot state), so it is safe in a server thread and needs no display.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

import networkx as nx

if TYPE_CHECKING:
    from matplotlib.axes import Axes

ImageFormat = Literal["svg", "png"]
STAGE_STYLE: dict[str, tuple[str, str, float]] = {
    # stage: (colour, legend label, curvature of its arcs)
    "expression_of_interest": ("#4C78A8", "expression of interest", 0.08),
    "commitment": ("#F58518", "commitment", 0.18),
    "agreement": ("#2CA02C", "agreement", 0.28),
}
MEDIA_TYPES: dict[str, str] = {"svg": "image/svg+xml", "png": "image/png"}
_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe


def render(edges: Sequence[tuple[str, str, str, int]], *, fmt: ImageFormat, title: str,
           subtitle: str = "", nodes: Iterable[str] = ()) -> bytes:
    """Draw the network of (provider, recipient, stage, pairings) and return SVG or PNG bytes.

    `nodes` adds countries without any outcome (for example a table's other participants).
    """
    shown = [e for e in edges if e[2] in STAGE_STYLE and e[3] > 0]
    countries = sorted({c for e in shown for c in e[:2]} | set(nodes))
    degree: Counter[str] = Counter()
    for provider, recipient, _stage, n in shown:
        degree[provider] += n
        degree[recipient] += n
    size = {c: 550.0 + min(degree[c], 20) * 60.0 for c in countries}
    # Imported here: matplotlib takes a second to load, and only pictures need it.
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    matplotlib.use("Agg")  # networkx's drawing imports pyplot: never an interactive backend
    with _LOCK, matplotlib.rc_context({"svg.hashsalt": "sscmatch", "font.size": 11}):
        fig = Figure(figsize=(11, 11.6), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_axes((0.03, 0.07, 0.94, 0.83))
        ax.set_axis_off()
        # Every text is plain (parse_math=False): names may hold "$", which matplotlib would
        # otherwise read as mathtext, garbling the text or failing on an unknown command.
        fig.suptitle(title, fontsize=16, fontweight="bold", y=0.975, parse_math=False)
        if subtitle:
            fig.text(0.5, 0.925, subtitle, ha="center", fontsize=12, color="#333333",
                     parse_math=False)
        if not countries:
            ax.text(0.5, 0.5, "No outcomes yet", ha="center", va="center", fontsize=18,
                    color="#777777", transform=ax.transAxes, parse_math=False)
        else:
            _draw(ax, countries, shown, size, degree)
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else None,
                    facecolor="white")
    return buf.getvalue()


def _draw(ax: Axes, countries: list[str], shown: Sequence[tuple[str, str, str, int]],
          size: dict[str, float], degree: Counter[str]) -> None:
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(countries)
    pos = nx.circular_layout(countries) if len(countries) > 2 else {
        c: (float(i) * 2 - 1, 0.0) for i, c in enumerate(countries)}
    node_sizes = [size[c] for c in countries]
    colours = ["#1F3B57" if degree[c] else "#B0B0B0" for c in countries]
    nx.draw_networkx_nodes(graph, pos, nodelist=countries, node_size=node_sizes,
                           node_color=colours, edgecolors="white", linewidths=1.5, ax=ax)
    for active, font_colour in ((True, "white"), (False, "#333333")):
        labels = {c: c for c in countries if bool(degree[c]) == active}
        texts = nx.draw_networkx_labels(graph, pos, labels=labels, font_size=9,
                                        font_color=font_colour, font_weight="bold", ax=ax)
        for text in texts.values():  # networkx takes no Text properties
            text.set_parse_math(False)
    for stage, (colour, _label, rad) in STAGE_STYLE.items():
        stage_edges = [(p, r, n) for p, r, s, n in shown if s == stage]
        if not stage_edges:
            continue
        nx.draw_networkx_edges(
            graph, pos, edgelist=[(p, r) for p, r, _ in stage_edges], nodelist=countries,
            node_size=node_sizes, width=[min(1.2 + 1.3 * (n - 1), 9.0) for *_, n in stage_edges],
            edge_color=colour, alpha=0.85, arrows=True, arrowstyle="-|>", arrowsize=14,
            connectionstyle=f"arc3,rad={rad}", ax=ax)
    from matplotlib.lines import Line2D

    handles = [Line2D([0], [0], color=colour, lw=3, label=label)
               for colour, label, _rad in STAGE_STYLE.values()]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.005), ncol=3,
              frameon=False, fontsize=11)
    ax.text(0.5, -0.06, "Arrows go from provider to recipient; width = number of pairings; "
            "grey = participant without outcomes", ha="center", fontsize=9, color="#555555",
            transform=ax.transAxes, parse_math=False)
    ax.set_xlim(-1.18, 1.18)
    ax.set_ylim(-1.18, 1.18)
