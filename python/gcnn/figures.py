"""What gcnn-report and gcnn-sweep share to make and write a figure
(matplotlib is imported by pyplot(), which the tools call after the input is
validated; nothing here imports it at module level)."""
import sys


def pyplot(prog, dpi):
    """matplotlib.pyplot on the Agg backend, with figures made at `dpi`: the
    dpi they are written at, so that matplotlib (which caches text extents and
    parsed mathtext per dpi) measures each label once for the layout and the
    drawing. Importing it takes half a second to a second, so the tools call
    this only once their input is validated. Missing: exits with prog's message."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover
        sys.exit(f"{prog}: error: {e}; install python3-matplotlib and run with /usr/bin/python3")
    plt.rcParams["figure.dpi"] = dpi
    return plt


def save(fig, path, dpi):
    """fig as a PNG at `dpi`, cropped as bbox_inches="tight" crops it, with the
    box measured once: given "tight", savefig lays the figure out twice (once
    to measure, once to draw); given the box, once, and the pixels are the same
    when the figure's own dpi is `dpi` (the tools set rcParams["figure.dpi"])."""
    import matplotlib
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    fig.savefig(path, dpi=dpi, bbox_inches=box)
