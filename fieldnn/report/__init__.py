"""Reports and plots of the reproductions (matplotlib; ``ax=None``, return the axes)."""

from .._latex import latex_number as latex_number
from .._latex import latex_table as latex_table
from .._latex import latex_uncertain as latex_uncertain
from .._latex import tex_text as tex_text
from ._writer import ReportWriter as ReportWriter
from ._writer import atomic_write_text as atomic_write_text
from ._writer import format_number as format_number
from ._writer import to_jsonable as to_jsonable
