"""Reports and plots (matplotlib; ``ax=None``, return the axes) and LaTeX export.

Public plots of what users compute themselves: :func:`plot_lambda`, :func:`plot_correlators`,
:func:`plot_criticality`; tables and numbers for a paper: :func:`latex_table`,
:func:`latex_number`, :func:`latex_uncertain`, :func:`tex_text`.
"""

from .._latex import latex_number as latex_number
from .._latex import latex_table as latex_table
from .._latex import latex_uncertain as latex_uncertain
from .._latex import tex_text as tex_text
from ._writer import ReportWriter as ReportWriter
from ._writer import atomic_write_text as atomic_write_text
from ._writer import format_number as format_number
from ._writer import to_jsonable as to_jsonable
from .plots import activation_label as activation_label
from .plots import plot_correlators as plot_correlators
from .plots import plot_criticality as plot_criticality
from .plots import plot_lambda as plot_lambda

__all__ = [
    "ReportWriter",
    "activation_label",
    "atomic_write_text",
    "format_number",
    "latex_number",
    "latex_table",
    "latex_uncertain",
    "plot_correlators",
    "plot_criticality",
    "plot_lambda",
    "tex_text",
    "to_jsonable",
]
