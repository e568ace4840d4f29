"""The order examples are trained in: the longest first, then shuffled.

The first optimizer step gets the longest examples of the whole dataset (one
effective batch: per-device batch × gradient accumulation × processes), so a
run that cannot fit its longest batch fails with out-of-memory at step 1, not
an hour in. The rest (and every later epoch) follows in a seeded random order that changes every
epoch (``set_epoch``) and is the same in every process, as data-parallel
training and resuming from a checkpoint both need.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence


def longest_first_order(
    lengths: Sequence[int], first_block: int, seed: int, epoch: int = 0
) -> list[int]:
    """Indices: in epoch 0 the ``first_block`` longest (longest first), then the rest shuffled."""
    count = len(lengths)
    first_block = first_block if epoch == 0 else 0
    by_length = sorted(range(count), key=lambda i: (-lengths[i], i))
    head = by_length[: max(0, min(first_block, count))]
    taken = set(head)
    rest = [i for i in range(count) if i not in taken]
    random.Random(seed * 1_000_003 + epoch).shuffle(rest)
    return head + rest


class LongestFirstSampler:
    """A ``torch.utils.data.Sampler`` over dataset indices (duck-typed: no torch import here)."""

    def __init__(self, lengths: Sequence[int], first_block: int, seed: int) -> None:
        self.lengths = list(lengths)
        self.first_block = first_block
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        return iter(longest_first_order(self.lengths, self.first_block, self.seed, self.epoch))
