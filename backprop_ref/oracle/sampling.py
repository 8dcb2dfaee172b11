r"""Checking a sample of a report's entries: which entries, chosen how, and what the report says
about it.

Half the entries are chosen uniformly at random, so that a bug touching a fraction :math:`f` of
the entries is found with probability about :math:`1 - (1 - f)^N` (at least
:math:`1 - (1 - f)^{N/2}` from the uniform half alone); the other half at the edges, where
blocked kernels go wrong: the first and last rows and columns, and both sides of every multiple
of a tile size in :data:`TILES`.
"""

from __future__ import annotations

import random

from .report import Block, Layout

__all__ = ["TILES", "sample_positions", "sampled_layout", "sampled_note"]

TILES = (16, 32, 64, 128, 256)
"""Tile sizes whose multiples a sample covers: the entries on both sides of each multiple."""


def sample_positions(blocks: list[Block], count: int, seed: int = 0) -> list[int]:
    """``count`` distinct positions of the entries of ``blocks`` (all of them if there are no
    more), sorted: half chosen uniformly at random, half at the edges: one index of a random
    entry (and each other one with probability one half) moved to the first or last two rows or
    columns, or (as often) next to a multiple of a tile size in :data:`TILES`. Seeded by
    ``seed``: the same call, the same entries."""
    layout = Layout.of(blocks)
    total = len(layout)
    if count >= total:
        return list(range(total))
    rng = random.Random(seed)
    chosen = set(rng.sample(range(total), count - count // 2))
    edges = [[_edges(extent) for extent in block.shape] for block in blocks]
    tries = 0
    while len(chosen) < count and tries < 50 * count:
        tries += 1
        pos = rng.randrange(total)
        block, offset = layout.locate(pos)
        b = layout.blocks.index(block)
        index = list(block.index(offset)[len(block.lead):])  # the block's own indices
        d = rng.randrange(len(index)) if index else 0
        for e in range(len(index)):
            if e == d or rng.random() < 0.5:
                ends, tiles = edges[b][e]
                index[e] = rng.choice(ends if not tiles or rng.random() < 0.5 else tiles)
        offset = 0
        for e in range(len(index)):
            offset = offset * block.shape[e] + index[e]
        chosen.add(layout.offsets[b] + offset)
    while len(chosen) < count:  # the edges are all taken
        chosen.add(rng.randrange(total))
    return sorted(chosen)


def sampled_layout(layout: Layout, chosen: list[int]) -> Layout:
    """The layout of the entries ``chosen`` of ``layout``: one block per entry, named as there
    and counted in the same group of the summary."""
    picked = []
    for pos in chosen:
        block, offset = layout.locate(pos)
        picked.append(Block(block.kind, block.label, block.index(offset), (), block.group))
    return Layout.of(picked)


def _edges(extent: int) -> tuple[list[int], list[int]]:
    """The indices at the edges of ``extent``: the first two and the last two; and both sides
    of every multiple of a tile size."""
    ends = sorted(i for i in {0, 1, extent - 2, extent - 1} if 0 <= i < extent)
    tiles = set()
    for tile in TILES:
        for m in range(tile, extent + 1, tile):
            tiles.add(m - 1)
            tiles.add(m)
    return ends, sorted(i for i in tiles if 0 <= i < extent and i not in ends)


def sampled_note(count: int, total: int, seed: int) -> str:
    if count >= total:
        return f"sample={count} covers all {total} entries: every entry is checked"
    return (f"sampled {count} of {total} entries (seed {seed}): {count - count // 2} uniformly at "
            f"random, {count // 2} at the edges (first and last rows and columns, and next to "
            f"multiples of {', '.join(map(str, TILES))}); a bug touching a fraction f of the "
            f"entries is found with probability about 1 - (1 - f)^{count}")
