"""What gcnn-report and gcnn-sweep share to write a figure (matplotlib is
imported by the tools, after the input is validated; nothing here imports it
at module level)."""


def save(fig, path, dpi):
    """fig as a PNG at `dpi`, cropped as bbox_inches="tight" crops it, with the
    box measured once: given "tight", savefig lays the figure out twice (once
    to measure, once to draw); given the box, once, and the pixels are the same
    when the figure's own dpi is `dpi` (the tools set rcParams["figure.dpi"])."""
    import matplotlib
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    fig.savefig(path, dpi=dpi, bbox_inches=box)
