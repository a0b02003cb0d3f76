"""Turn a source (file or URL) into ordered text blocks that keep headings, list items and pages.

`extract(data, name, content_type)` picks the extractor by content; every extractor returns an
`Extracted`, and `Extracted.render()` lays the blocks out as the stored text with the character
span of each block, so later stages can cite exact offsets.
"""

from .model import Block, Extracted
from .sniff import extract
from .sources import Source, read_source

__all__ = ["Block", "Extracted", "Source", "extract", "read_source"]
