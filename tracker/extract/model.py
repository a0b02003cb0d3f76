"""The shape every extractor returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Block:
    kind: str  # heading | paragraph | list_item
    text: str
    level: int = 0  # heading level (1 = title)
    page: int | None = None
    start: int = 0  # set by Extracted.render()
    end: int = 0


@dataclass
class Extracted:
    blocks: list[Block]
    format: str
    title: str | None = None
    meta: dict = field(default_factory=dict)
    pages: int | None = None

    def render(self) -> str:
        """Join blocks with blank lines and record each block's span in the result."""
        parts: list[str] = []
        offset = 0
        for block in self.blocks:
            if parts:
                parts.append("\n\n")
                offset += 2
            block.start = offset
            parts.append(block.text)
            offset += len(block.text)
            block.end = offset
        return "".join(parts)
