"""Reports and plots of the reproductions (matplotlib; ``ax=None``, return the axes)."""

from ._writer import ReportWriter as ReportWriter
from ._writer import atomic_write_text as atomic_write_text
from ._writer import format_number as format_number
from ._writer import to_jsonable as to_jsonable
